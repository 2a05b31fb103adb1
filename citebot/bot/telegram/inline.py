"""Inline mode: `@bot question` typed in any chat lists up to k cited extracts; the one picked is
sent into that chat as the extract with its citation. Enabled with @BotFather's /setinline.

The gate applies the allowlist and the rate limit as to any question. Results are cached by
Telegram for CACHE_S seconds, per user when an allowlist is set (so nobody gets a result that was
computed for someone else)."""
from __future__ import annotations

import logging

from telegram import InlineQueryResultArticle, InputTextMessageContent, LinkPreviewOptions, Update
from telegram.constants import InlineQueryLimit, ParseMode

from citebot.index.stores.base import IndexProblem

from ..answering import ask, check_question
from ..render import flatten, not_found
from .context import Context
from .gate import hint_result
from .texts import INDEX_UNAVAILABLE, citation_line, cut, extract_html

log = logging.getLogger("citebot.bot")
CACHE_S = 60


def results(found) -> list[InlineQueryResultArticle]:
    """One result per extract: the answering sentence as its title, title · source · date below."""
    if not found.answer_found:
        return [hint_result("not-found", "Not found", not_found(found))]
    out = []
    for hit in found.hits[:InlineQueryLimit.RESULTS]:
        title = cut(flatten(hit.highlight).strip(), 100) or cut(flatten(hit.title), 100) or "Extract"
        out.append(InlineQueryResultArticle(
            id=str(hit.chunk_id)[:64], title=title, description=citation_line(hit),
            input_message_content=InputTextMessageContent(
                extract_html(hit), parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True))))
    return out


async def inline_query(update: Update, context: Context) -> None:
    query, rt, settings = update.inline_query, context.runtime, context.settings
    personal = bool(settings.allowed_users or settings.allowed_chats)
    question = query.query.strip()
    hint = check_question(question, min(settings.max_question_chars, InlineQueryLimit.MAX_QUERY_LENGTH))
    if hint:
        await query.answer([hint_result("hint", "Type a question", hint)], cache_time=CACHE_S, is_personal=personal)
        return
    try:
        # not noted as unanswered: Telegram sends an inline query at every pause in the typing, so
        # half-typed questions would fill the log
        found = await rt.search(ask, rt.retriever, settings, question, settings.top_k, 0, None, False)
    except IndexProblem as e:
        log.error("index unavailable: %s", e)
        await query.answer([hint_result("unavailable", "Not available", INDEX_UNAVAILABLE)], cache_time=0,
                           is_personal=True)
        return
    await query.answer(results(found), cache_time=CACHE_S, is_personal=personal)
