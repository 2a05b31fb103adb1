"""Questions and answers in a chat: /start, /help, /ask, plain messages, More, /sources, errors.

The gate (gate.py) has already checked who may ask; here each answer is searched on a worker
thread and sent while the chat's lock is held, so each chat's answers come in the order it asked
and a follow-up is read against the question answered just before it.
"""
from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError

from citebot.index.stores.base import IndexProblem

from ..answering import ask, check_question
from ..followup import contextualize
from ..render import human_date
from .rendering import answer_messages
from .context import Context, MoreRequest
from .texts import esc, lang_of, not_found_text, say

log = logging.getLogger("citebot.bot")


async def answer(update: Update, context: Context, question: str | None, more: MoreRequest | None = None) -> None:
    """Answer a new question (`question`) or show the next page of one (`more`)."""
    rt, settings = context.runtime, context.settings
    chat_id = update.effective_chat.id
    bot, k = context.bot, settings.top_k
    lang = lang_of(update)  # the bot's own words in the asker's language; quotes stay as written
    async with rt.lock(chat_id):
        if more is None:
            hint = check_question(question or "", settings.max_question_chars)
            if hint:
                await bot.send_message(chat_id=chat_id, text=esc(hint))
                return
            question, focus = contextualize(question.strip(), context.chat_data.last_question)
            offset = 0
        else:
            question, focus, offset = more.question, more.focus, more.offset
        await bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)
        try:
            found = await rt.search(ask, rt.retriever, settings, question, k + 1, offset, focus)
        except IndexProblem as e:  # e.g. a rebuild with another model: say so, keep serving others
            log.error("index unavailable: %s", e)
            await bot.send_message(chat_id=chat_id, text=say("INDEX_UNAVAILABLE", lang))
            return
        has_more = found.answer_found and len(found.hits) > k
        found.hits = found.hits[:k]
        if offset == 0 and focus is None:  # a follow-up keeps the question it follows up
            context.chat_data.last_question = question
        if offset and not found.hits:
            await bot.send_message(chat_id=chat_id, text=say("NO_MORE", lang))
            return
        markup = None
        if has_more:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(
                say("MORE", lang), callback_data=MoreRequest(question, focus, offset + k))]])
        messages = (answer_messages(found, offset, caution=say("TENTATIVE", lang)) if found.answer_found
                    else [esc(not_found_text(found, lang))])
        for i, text in enumerate(messages):
            await bot.send_message(chat_id=chat_id, text=text, reply_markup=markup if i == len(messages) - 1 else None)


async def start(update: Update, context: Context) -> None:
    await context.bot.send_message(chat_id=update.effective_chat.id,
                                   text=say("HELP", lang_of(update)).format(me=esc(context.bot.username)))


async def sources(update: Update, context: Context) -> None:
    rt, settings = context.runtime, context.settings
    admin = bool(update.effective_user and update.effective_user.id in settings.admin_users)

    def describe() -> str:
        from .refresh import sources_overview

        reader = rt.retriever.reader()
        latest = human_date(reader.latest_published())
        n = reader.manifest.get("articles", 0)
        text = f"I have {n} article{'s' if n != 1 else ''} indexed ({reader.manifest.get('chunks', 0)} passages)"
        return text + (f", the latest published {latest}." if latest else ".") + sources_overview(settings, admin)

    text = await rt.search(describe)
    await context.bot.send_message(chat_id=update.effective_chat.id, text=text)


async def ask_command(update: Update, context: Context) -> None:
    await answer(update, context, " ".join(context.args or []))


async def text_message(update: Update, context: Context) -> None:
    """A private message is a question; in a group the gate let through only what is meant for
    the bot, and a mention of it is not part of the question."""
    text = update.effective_message.text or ""
    if update.effective_chat.type != ChatType.PRIVATE and context.bot.username:
        text = re.sub(re.escape(f"@{context.bot.username}"), " ", text, flags=re.IGNORECASE)
    await answer(update, context, text)


async def non_text(update: Update, context: Context) -> None:
    await context.bot.send_message(chat_id=update.effective_chat.id, text=say("NON_TEXT", lang_of(update)))


async def more_button(update: Update, context: Context) -> None:
    query = update.callback_query
    if query.message is None or update.effective_chat is None:  # a button on an inline message
        await query.answer(say("BUTTON_EXPIRED", lang_of(update)))
        return
    await query.answer()
    await answer(update, context, None, query.data)


async def stale_button(update: Update, context: Context) -> None:
    """A button whose data is gone (from before the bot kept state, or pushed out of the cache)."""
    await update.callback_query.answer(say("BUTTON_EXPIRED", lang_of(update)))


async def on_error(update: object, context: Context) -> None:
    """Log (the formatter strips the token) and apologise; the bot keeps running."""
    log.error("error while handling an update: %s: %s", type(context.error).__name__, context.error,
              exc_info=context.error if not isinstance(context.error, TelegramError) else None)
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type != ChatType.CHANNEL:
        try:
            await context.bot.send_message(chat_id=update.effective_chat.id, text=say("APOLOGY", lang_of(update)))
        except TelegramError:
            pass
