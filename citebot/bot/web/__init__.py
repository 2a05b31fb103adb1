"""`citebot serve`: the HTTP API and the page over the same answer path as the bot and the command
(the [web] extra: Starlette, uvicorn, Jinja2, limits). It only renders what the answer path returns."""
