"""The ASGI application of `citebot serve`: the page, the API, the page's static files, all
behind the Guard (API key, rate limit, security headers). Every route is GET (HEAD too): nothing
here changes the index."""
from __future__ import annotations

import contextlib
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import redact
from ..settings import Settings
from . import api, page
from .guard import Guard
from .service import Service

log = logging.getLogger("citebot.web")


async def _crash(request: Request, exc: Exception) -> JSONResponse:
    """A bug in one request is logged (secrets scrubbed) and answered with one line; the server goes on."""
    log.error("a request failed: %s", redact.scrub(repr(exc)), exc_info=False)
    return JSONResponse({"error": "citebot failed on this request; it is logged for the people who run it"},
                        status_code=500)


def create_app(settings: Settings, retriever, api_key: str | None = None, threads: int | None = None):
    """The whole web front end over `retriever` (one, shared by every request)."""
    service = Service(settings, retriever, threads)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        service.close()

    app = Starlette(routes=[
        Route("/", page.page, methods=["GET"]),
        Route("/api/ask", api.ask, methods=["GET"]),
        Route("/api/articles/{article_id:path}", api.article, methods=["GET"]),
        Route("/api/status", api.status, methods=["GET"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Mount("/static", StaticFiles(directory=str(page.HERE / "static")), name="static"),
    ], exception_handlers={Exception: _crash}, lifespan=lifespan)
    app.state.service = service
    return Guard(app, api_key=api_key, per_minute=settings.web_rate_per_minute)
