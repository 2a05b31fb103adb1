"""The HTTP API: `/api/ask` answers with the same JSON as `citebot ask --json`, `/api/articles/{id}`
gives an article's citation and the text around a cited span, `/api/status` is `citebot index
status --json`, `/healthz` says whether an index is served. Every route only reads: none changes
the index. Errors are one line: {"error": "..."} with the status that fits."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from citebot.index.stores.base import IndexProblem

from ..render import answer_to_json
from .requests import AROUND, MAX_AROUND, BadRequest, bounded, parse_ask
from .service import ArticleNotFound, Service


def error(status: int, message: str, **fields) -> JSONResponse:
    return JSONResponse({**fields, "error": message}, status_code=status, headers={"cache-control": "no-store"})


def service_of(request: Request) -> Service:
    return request.app.state.service


async def ask(request: Request) -> JSONResponse:
    service = service_of(request)
    settings = service.settings
    try:
        asked = parse_ask(request.query_params, settings.top_k, settings.max_question_chars)
    except BadRequest as e:
        return error(400, str(e), question=request.query_params.get("q", "")[:200], answer_found=False, results=[])
    try:
        answer = await service.run(service.answer, asked)
    except IndexProblem as e:
        return error(503, str(e))
    obj = answer_to_json(answer, asked.offset)
    if asked.note:
        obj["note"] = asked.note
    return JSONResponse(obj)


async def article(request: Request) -> JSONResponse:
    service = service_of(request)
    params = request.query_params
    try:
        start = bounded(params, "start", -1, 0, 2**31) if params.get("start") else None
        end = bounded(params, "end", -1, 0, 2**31) if params.get("end") else None
        around = bounded(params, "around", AROUND, 0, MAX_AROUND)
    except BadRequest as e:
        return error(400, str(e))
    article_id = request.path_params["article_id"]
    try:
        return JSONResponse(await service.run(service.article, article_id, start, end, around))
    except ArticleNotFound:
        return error(404, f"no indexed article has the id {article_id[:200]!r}")
    except IndexProblem as e:
        return error(503, str(e))


async def status(request: Request) -> JSONResponse:
    from citebot.index.inspecting import status as index_status

    service = service_of(request)
    try:
        return JSONResponse(await service.run(index_status, service.settings.index_config()))
    except IndexProblem as e:
        return error(503, str(e))


async def healthz(request: Request) -> JSONResponse:
    """200 while an index is served (for a load balancer or a monitor: cheap, not rate-limited)."""
    service = service_of(request)
    try:
        served = await service.run(service.healthy)
    except IndexProblem as e:
        return error(503, str(e), ok=False)
    return JSONResponse({"ok": True, "served": served}, headers={"cache-control": "no-store"})
