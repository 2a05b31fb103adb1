"""The page at `/`: a question box and the answer as cited extracts, rendered on the server (a
form that works without JavaScript; the little script there only makes "More" append in place
and moves the focus). Every piece of article text reaches the template as text and Jinja escapes
it; only http(s) links become links. Words in the question's language, else the browser's."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from citebot.index.stores.base import IndexProblem
from citebot.index.text.languages import detect, from_locale

from ..render import also_line, explanation_lines, extract_pieces, flatten, human_date, is_web_link, paragraphs
from ..verdicts import not_found_in
from .requests import MAX_OFFSET, BadRequest, parse_ask
from .words import words

HERE = Path(__file__).parent
# every value escaped, whatever the template's file name says
templates = Jinja2Templates(env=jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                                                   autoescape=True))


def hit_view(hit, rank: int) -> dict:
    lead, before, high, after, tail = extract_pieces(hit)
    url = hit.url if is_web_link(hit.url) else None
    return {"rank": rank, "lead": lead, "before": paragraphs(before), "highlight": paragraphs(high),
            "after": paragraphs(after), "tail": tail, "title": flatten(hit.title or hit.article_id), "url": url,
            "source": flatten(hit.source or hit.extra.get("author") or ""), "date": human_date(hit.published),
            "iso_date": (hit.published or "")[:10] or None, "also": flatten(also_line(hit) or "") or None}


def browser_language(request: Request) -> str:
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0].strip()
    return from_locale(first)


async def page(request: Request):
    service = request.app.state.service
    settings = service.settings
    params = request.query_params
    question = params.get("q")
    lang = detect(question) if question and question.strip() else browser_language(request)
    context = {"lang": lang, "w": words(lang), "q": question or "", "max_chars": settings.max_question_chars,
               "answer": None, "error": None}
    status = 200
    if question is not None:
        try:
            asked = parse_ask(params, settings.top_k, settings.max_question_chars)
            answer = await service.run(service.answer, asked, explain=True)
            context.update(answer_view(answer, asked, lang))
        except BadRequest as e:
            context["error"], status = str(e), 400
        except IndexProblem as e:
            context["error"], status = str(e), 503
    return templates.TemplateResponse(request, "page.html", context, status_code=status,
                                      headers={"cache-control": "no-store"})


def answer_view(answer, asked, lang: str) -> dict:
    hits = [hit_view(h, asked.offset + i + 1) for i, h in enumerate(answer.hits)]
    following = asked.offset + asked.k
    more = None
    if answer.answer_found and len(answer.hits) == asked.k and following <= MAX_OFFSET:
        more = {"q": asked.question, "k": asked.k, "offset": following,
                **({"as_of": asked.as_of.isoformat()} if asked.as_of else {})}
    return {"answer": answer, "hits": hits, "offset": asked.offset,
            "not_found": None if answer.answer_found or asked.offset else not_found_in(answer, lang),
            "no_more": asked.offset > 0 and not hits, "tentative": answer.tentative and asked.offset == 0,
            "more": more, "more_href": "/?" + urlencode(more) if more else None,
            "explain": "\n".join(explanation_lines(answer.explanation)) if answer.explanation else None}
