"""`citebot serve`: the web page and the HTTP API (the [web] extra)."""
from __future__ import annotations

import ipaddress
from typing import Optional

import typer

from .. import redact
from .common import app, extra_or_exit, fail, retriever_or_exit, settings_or_exit, warn


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(host: Optional[str] = typer.Option(None, "--host", help="Address to listen on (default CITEBOT_WEB_HOST, "
                                             "127.0.0.1: this machine only)."),
          port: Optional[int] = typer.Option(None, "--port", min=1, max=65535,
                                             help="Port (default CITEBOT_WEB_PORT, 8080).")) -> None:
    """Serve the page (/) and the HTTP API (/api/ask, /api/articles/ID, /api/status, /healthz) over the index.

    /api/ask?q=QUESTION&k=3&offset=0&as_of=YYYY-MM-DD&explain=1 answers with the JSON of `citebot ask --json`.
    With CITEBOT_WEB_API_KEY (or CITEBOT_WEB_API_KEY_FILE) set, every route needs the key: the header
    'Authorization: Bearer KEY' or 'X-API-Key: KEY', or a browser's password prompt (any user name)."""
    extra_or_exit("web", "starlette", "uvicorn", "limits")
    import uvicorn

    from ..web.app import create_app
    from ..web.credentials import ApiKeyError, read_api_key

    settings = settings_or_exit()
    try:
        key = read_api_key(settings, on_warning=warn)
    except ApiKeyError as e:
        fail(str(e), 2)
    host = host or settings.web_host
    port = port or settings.web_port
    if not _loopback(host) and key is None:
        warn(f"listening on {host} without an API key: anyone who can reach this port can ask; set "
             "CITEBOT_WEB_API_KEY_FILE to require a key")
    redact.setup_logging()
    retriever = retriever_or_exit(settings)
    application = create_app(settings, retriever, api_key=key)
    typer.echo(f"citebot: serving http://{host}:{port}/ (Ctrl-C stops)", err=True)
    uvicorn.run(application, host=host, port=port, log_level="info", server_header=False, proxy_headers=False)
