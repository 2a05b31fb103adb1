"""The `citebot` command. It only parses arguments, calls citebot.index and prints; imports of the
heavy parts happen inside the commands so that `citebot --help` and the first answer start fast.
One module a group: common.py (shared options, errors, settings), ask.py, index.py, eval.py, bot.py,
doctor.py, serve.py, unanswered.py."""
from __future__ import annotations

import sys

from .. import redact

from . import ask, bot, doctor, eval, index, serve, unanswered  # noqa: F401  (each registers its commands on the apps)
from .common import app

def main() -> None:
    from citebot.index.extras import MissingExtra

    try:
        app()
    except MissingExtra as e:  # an optional part asked for and not installed: the line names it
        sys.stderr.write(f"error: {e}\n")
        sys.exit(2)
    except Exception as e:  # a bug, not a user's fault: shown whole, but never with a secret in it
        import traceback

        sys.stderr.write(redact.scrub("".join(traceback.format_exception(e))))
        sys.stderr.write("error: citebot failed unexpectedly (above); please report it\n")
        sys.exit(70)
