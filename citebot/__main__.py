"""`python -m citebot`: the same as the `citebot` command."""
from .bot.cli import main

main()
