"""`citebot bot`: the Telegram front end on python-telegram-bot's async Application.

Handlers are plain async functions wired up in `build_application()`. Retrieval runs in worker
threads so one slow question never blocks other chats; a per-chat lock keeps each chat's answers
in the order its questions came.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes,
                          Defaults, MessageHandler, filters)

from index.store import IndexError_

from . import redact
from .answering import check_question
from .followup import contextualize
from .render import human_date
from .settings import Settings
from .telegram_html import answer_messages

log = logging.getLogger("citebot.bot")
TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
MAX_RETRY_AFTER_S = 60
MAX_QUESTIONS_REMEMBERED = 50

HELP = ("Ask me a question about the indexed articles and I reply with the passages that answer it, "
        "quoted word for word, with the best sentence in bold and where it comes from.\n\n"
        "In a private chat just write the question. In a group, use /ask <i>question</i>, mention me, "
        "or reply to one of my messages. Tap <b>More</b> for further passages; short follow-ups like "
        "“and Belgorod?” continue your last question. /sources tells what is indexed.")
NOT_ALLOWED = "Sorry, this bot only answers the people and chats it was set up for."
NON_TEXT = "I can only read text: please type your question."
RATE_LIMITED = "You are asking faster than I can keep up with: please wait a minute and ask again."
APOLOGY = "Sorry, something went wrong while answering that. Please try again."
INDEX_UNAVAILABLE = "The article index is not available right now; please try again in a little while."


class TokenError(ValueError):
    pass


def read_token(settings: Settings) -> str:
    """The token from CITEBOT_TELEGRAM_TOKEN or CITEBOT_TELEGRAM_TOKEN_FILE; errors never quote it."""
    if settings.telegram_token is not None:
        token = settings.telegram_token.get_secret_value().strip()
        origin = "CITEBOT_TELEGRAM_TOKEN"
    elif settings.telegram_token_file is not None:
        try:
            token = Path(settings.telegram_token_file).read_text().strip()
        except OSError as e:
            raise TokenError(f"CITEBOT_TELEGRAM_TOKEN_FILE: cannot read {settings.telegram_token_file} ({e.strerror})") from None
        origin = "CITEBOT_TELEGRAM_TOKEN_FILE"
    else:
        raise TokenError("no bot token: set CITEBOT_TELEGRAM_TOKEN (from @BotFather) or CITEBOT_TELEGRAM_TOKEN_FILE")
    if not TOKEN_RE.match(token):
        raise TokenError(f"{origin} does not look like a bot token (expected digits, a colon and 30+ letters)")
    redact.register(token)
    return token


class BotStartError(RuntimeError):
    """The bot cannot start: one line saying what to fix (never the token)."""


class RateLimiter:
    """At most `per_minute` questions per user in any 60 seconds (0 = unlimited)."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.seen: dict[int, collections.deque] = collections.defaultdict(collections.deque)

    def allow(self, user_id: int) -> bool:
        if self.per_minute <= 0:
            return True
        now = time.monotonic()
        q = self.seen[user_id]
        while q and now - q[0] > 60:
            q.popleft()
        if len(q) >= self.per_minute:
            return False
        q.append(now)
        return True


# --- helpers -----------------------------------------------------------------------------------

def _state(context: ContextTypes.DEFAULT_TYPE) -> dict:
    return context.application.bot_data


def _allowed(update: Update, settings: Settings) -> bool:
    if not settings.allowed_users and not settings.allowed_chats:
        return True
    user = update.effective_user
    chat = update.effective_chat
    return bool((user and user.id in settings.allowed_users) or (chat and chat.id in settings.allowed_chats))


async def _with_retry(call, *args, **kwargs):
    """Honour Telegram's flood control (429 RetryAfter) instead of failing the reply."""
    for attempt in range(4):
        try:
            return await call(*args, **kwargs)
        except RetryAfter as e:
            wait = e.retry_after.total_seconds() if hasattr(e.retry_after, "total_seconds") else float(e.retry_after)
            if attempt == 3 or wait > MAX_RETRY_AFTER_S:
                raise
            log.warning("flood control: waiting %.0f s before retrying", wait)
            await asyncio.sleep(wait)


async def _reply(context, chat_id: int, text: str, **kwargs):
    return await _with_retry(context.bot.send_message, chat_id=chat_id, text=text, **kwargs)


def _chat_lock(context, chat_id: int) -> asyncio.Lock:
    locks = _state(context).setdefault("locks", {})
    if chat_id not in locks:
        locks[chat_id] = asyncio.Lock()
    return locks[chat_id]


async def _gatekeep(update: Update, context) -> bool:
    """Allowlist and rate limit; answers the refusal itself. True when the update may proceed."""
    settings: Settings = _state(context)["settings"]
    chat_id = update.effective_chat.id
    if not _allowed(update, settings):
        log.info("refused user %s in chat %s (not on the allowlist)",
                 update.effective_user.id if update.effective_user else "?", chat_id)
        if update.effective_chat.type != ChatType.CHANNEL:  # never post into a channel it was not set up for
            await _reply(context, chat_id, NOT_ALLOWED)
        return False
    user_id = update.effective_user.id if update.effective_user else chat_id
    if not _state(context)["limiter"].allow(user_id):
        await _reply(context, chat_id, RATE_LIMITED)
        return False
    return True


async def _answer(update: Update, context, question: str, offset: int = 0, followup: bool = True,
                  focus: str | None = None) -> None:
    """Search off the event loop and send the reply; the chat's lock keeps answers in order."""
    state = _state(context)
    settings: Settings = state["settings"]
    chat_id = update.effective_chat.id
    hint = check_question(question, settings.max_question_chars)
    if hint:
        await _reply(context, chat_id, hint)
        return
    question = question.strip()
    if followup and offset == 0:
        question, focus = contextualize(question, context.chat_data.get("last_question"))
    k = settings.top_k
    async with _chat_lock(context, chat_id):
        await _with_retry(context.bot.send_chat_action, chat_id=chat_id, action=ChatAction.TYPING)
        loop = asyncio.get_running_loop()
        try:
            answer = await loop.run_in_executor(state["executor"], state["retriever"].answer, question, k + 1, offset,
                                                focus)
        except IndexError_ as e:  # e.g. a rebuild with another model: say so, keep serving others
            log.error("index unavailable: %s", e)
            await _reply(context, chat_id, INDEX_UNAVAILABLE)
            return
        more = answer.answer_found and len(answer.hits) > k
        answer.hits = answer.hits[:k]
        if offset == 0 and focus is None:  # a follow-up keeps the question it follows up
            context.chat_data["last_question"] = question
        if offset and not answer.hits:
            await _reply(context, chat_id, "No more passages for that question.")
            return
        markup = None
        if more:
            asked = context.chat_data.setdefault("questions", collections.OrderedDict())
            qid = context.chat_data.get("next_qid", 0)
            context.chat_data["next_qid"] = qid + 1
            asked[qid] = (question, focus)
            while len(asked) > MAX_QUESTIONS_REMEMBERED:
                asked.popitem(last=False)
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data=f"more:{qid}:{offset + k}")]])
        messages = answer_messages(answer, offset)
        for i, text in enumerate(messages):
            await _reply(context, chat_id, text, reply_markup=markup if i == len(messages) - 1 else None)


# --- handlers ------------------------------------------------------------------------------------

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _reply(context, update.effective_chat.id, HELP)


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _gatekeep(update, context):
        return
    retriever = _state(context)["retriever"]
    loop = asyncio.get_running_loop()

    settings: Settings = _state(context)["settings"]
    admin = bool(update.effective_user and update.effective_user.id in settings.admin_users)

    def describe() -> str:
        from .refresh import sources_overview

        reader = retriever.reader()
        latest = human_date(reader.latest_published())
        n = reader.manifest.get("articles", 0)
        text = f"I have {n} article{'s' if n != 1 else ''} indexed ({reader.manifest.get('chunks', 0)} passages)"
        return text + (f", the latest published {latest}." if latest else ".") + sources_overview(settings, admin)

    text = await loop.run_in_executor(_state(context)["executor"], describe)
    await _reply(context, update.effective_chat.id, text)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _gatekeep(update, context):
        return
    question = " ".join(context.args or [])
    await _answer(update, context, question)


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    chat = update.effective_chat
    text = message.text or ""
    if chat.type != ChatType.PRIVATE:
        me = context.bot.username or ""
        mention = f"@{me}".lower()
        replied_to_me = bool(message.reply_to_message and message.reply_to_message.from_user
                             and message.reply_to_message.from_user.id == context.bot.id)
        if mention in text.lower():
            text = re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE)
        elif not replied_to_me:
            return  # group chatter not meant for the bot
    if not await _gatekeep(update, context):
        return
    await _answer(update, context, text)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _reply(context, update.effective_chat.id, NON_TEXT)


async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query.message is None or update.effective_chat is None:  # too old, or from an inline message
        await _with_retry(query.answer, text="That button has expired: please ask again.")
        return
    await _with_retry(query.answer)
    if not await _gatekeep(update, context):
        return
    try:
        _, qid, offset = (query.data or "").split(":")
        question, focus = context.chat_data.get("questions", {})[int(qid)]
    except (ValueError, KeyError):
        await _reply(context, update.effective_chat.id, "That question has expired: please ask it again.")
        return
    await _answer(update, context, question, offset=int(offset), followup=False, focus=focus)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log (the formatter strips the token) and apologise; the bot keeps running."""
    log.error("error while handling an update: %s: %s", type(context.error).__name__, context.error,
              exc_info=context.error if not isinstance(context.error, TelegramError) else None)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await _reply(context, update.effective_chat.id, APOLOGY)
        except TelegramError:
            pass


def build_application(settings: Settings, retriever, token: str) -> Application:
    defaults = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
    app = (ApplicationBuilder().token(token).base_url(settings.telegram_api_url)
           .base_file_url(settings.telegram_api_url.replace("/bot", "/file/bot"))
           .defaults(defaults).concurrent_updates(64).build())
    app.bot_data.update(settings=settings, retriever=retriever, limiter=RateLimiter(settings.rate_limit_per_minute),
                        executor=ThreadPoolExecutor(max_workers=4, thread_name_prefix="citebot-search"))
    app.add_handler(CommandHandler(["start", "help"], start))
    app.add_handler(CommandHandler("sources", sources))
    app.add_handler(CommandHandler("ask", ask_command))
    app.add_handler(CallbackQueryHandler(more_button, pattern=r"^more:"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, text_message))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL,
                                   non_text))
    app.add_error_handler(on_error)
    from .refresh import install

    install(app, settings)  # /add, admins' URLs and the background refresh of the recorded sources
    return app


def run(settings: Settings, retriever, token: str) -> None:
    """Long polling by default; a webhook when CITEBOT_TELEGRAM_WEBHOOK_URL is set. SIGINT/SIGTERM
    stop it. What stops it from starting becomes a BotStartError of one line."""
    app = build_application(settings, retriever, token)
    log.info("citebot bot starting (%s)", "webhook" if settings.telegram_webhook_url else "long polling")
    api = urlsplit(settings.telegram_api_url)
    try:
        if settings.telegram_webhook_url:
            secret = (settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret
                      else secrets.token_urlsafe(32))
            redact.register(secret)
            app.run_webhook(listen=settings.telegram_webhook_listen, port=settings.telegram_webhook_port,
                            url_path="telegram", webhook_url=settings.telegram_webhook_url, secret_token=secret,
                            allowed_updates=Update.ALL_TYPES)
        else:
            app.run_polling(allowed_updates=Update.ALL_TYPES, timeout=10)
    except InvalidToken:  # 401, or 404 from a Bot API URL that is not one
        raise BotStartError("Telegram rejected the bot token: check CITEBOT_TELEGRAM_TOKEN "
                            f"(and CITEBOT_TELEGRAM_API_URL, now {api.scheme}://{api.netloc}{api.path})") from None
    except NetworkError as e:
        raise BotStartError(f"cannot reach the Telegram Bot API at {api.scheme}://{api.netloc}: "
                            f"{redact.scrub(str(e))[:200]}; check CITEBOT_TELEGRAM_API_URL and the network") from None
    except OSError as e:  # the webhook's port is taken, or its listen address is not this machine's
        raise BotStartError(f"cannot listen for the webhook on {settings.telegram_webhook_listen}:"
                            f"{settings.telegram_webhook_port}: {e.strerror or e}; check "
                            "CITEBOT_TELEGRAM_WEBHOOK_LISTEN and CITEBOT_TELEGRAM_WEBHOOK_PORT") from None
    finally:
        app.bot_data["executor"].shutdown(wait=False, cancel_futures=True)
    log.info("citebot bot stopped")
