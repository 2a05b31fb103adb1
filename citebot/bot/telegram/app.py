"""`citebot bot`: python-telegram-bot's Application put together, and run.

PTB does the plumbing: AIORateLimiter spaces every call within Telegram's flood limits and
waits out a 429; arbitrary callback data lets a "More" button carry its question (a stale one
arrives as InvalidCallbackData); PicklePersistence (state.py) keeps chats' data across restarts;
typed ContextTypes (context.py) replace dictionaries. The access gate runs in handler group -1,
everything else in group 0, first match wins.
"""
from __future__ import annotations

import logging
import secrets

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (AIORateLimiter, ApplicationBuilder, CallbackQueryHandler, ChatMemberHandler,
                          CommandHandler, Defaults, InlineQueryHandler, InvalidCallbackData, MessageHandler,
                          TypeHandler, filters)

from .. import redact
from ..settings import Settings
from . import follow, handlers, heartbeat, inline, watch
from .context import CONTEXT_TYPES, CitebotApplication, MoreRequest, Runtime, UnfollowRequest
from .gate import gate
from .state import StateError, StatePersistence

log = logging.getLogger("citebot.bot")
CALLBACK_CACHE = 2048  # buttons whose data is remembered (the oldest are forgotten first)
MAX_RETRIES_ON_429 = 3
# Telegram allows about 30 messages a second in all. AIORateLimiter's default bucket (30 a second)
# lets a burst of 30 through on top of the steady 30: 62 calls in one second were measured in a
# fan-out. A bucket of one refilled every 1/29 s keeps every second under 30.
OVERALL_RATE = (1, 1 / 29)



class BotStartError(RuntimeError):
    """The bot cannot start: one line saying what to fix (never the token)."""


def build_application(settings: Settings, retriever, token: str) -> CitebotApplication:
    defaults = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
    try:
        persistence = StatePersistence(settings.state_path())
    except StateError as e:
        raise BotStartError(str(e)) from None
    app: CitebotApplication = (
        ApplicationBuilder().application_class(CitebotApplication).token(token)
        .base_url(settings.telegram_api_url).base_file_url(settings.telegram_api_url.replace("/bot", "/file/bot"))
        .defaults(defaults).concurrent_updates(64).context_types(CONTEXT_TYPES).persistence(persistence)
        .arbitrary_callback_data(CALLBACK_CACHE).rate_limiter(AIORateLimiter(
            overall_max_rate=OVERALL_RATE[0], overall_time_period=OVERALL_RATE[1], max_retries=MAX_RETRIES_ON_429))
        .post_init(_started).build())
    app.runtime = Runtime(settings, retriever)

    app.add_handler(TypeHandler(Update, gate), group=-1)
    from .refresh import install as install_refresh

    app.runtime.refresher = install_refresh(app, settings)  # /add and admins' URLs first; background refresh
    app.add_handler(CommandHandler(["start", "help"], handlers.start))
    app.add_handler(CommandHandler("sources", handlers.sources))
    app.add_handler(CommandHandler("ask", handlers.ask_command))
    app.add_handler(CommandHandler("follow", follow.follow_command))
    app.add_handler(CommandHandler("unfollow", follow.unfollow_command))
    app.add_handler(CommandHandler("following", follow.following_command))
    app.add_handler(CallbackQueryHandler(handlers.more_button, pattern=MoreRequest))
    app.add_handler(CallbackQueryHandler(follow.unfollow_button, pattern=UnfollowRequest))
    app.add_handler(CallbackQueryHandler(handlers.stale_button, pattern=InvalidCallbackData))
    app.add_handler(InlineQueryHandler(inline.inline_query))
    app.add_handler(ChatMemberHandler(follow.membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.text_message))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.COMMAND
                                   & ~filters.StatusUpdate.ALL, handlers.non_text))
    app.add_error_handler(handlers.on_error)
    watch.install(app)
    heartbeat.install(app, settings)  # CITEBOT_STATUS_FILE, for `citebot doctor`
    return app


async def _started(app: CitebotApplication) -> None:
    if not app.bot.supports_inline_queries:
        log.info("inline mode is off for this bot: turn it on with @BotFather's /setinline to answer @%s questions "
                 "in any chat", app.bot.username)
    log.info("state kept in %s", app.runtime.settings.state_path())


def _reason(e: Exception) -> str:
    """Why the Bot API could not be used, in a few words: a server that answers an HTML page (a
    proxy's 502) is "answered something that is not the Bot API", not the page quoted whole."""
    text = str(e)
    if "Parsing the server response" in text:
        status = text.split(". Parsing the server response")[0].strip()
        return f"it answered something that is not the Bot API ({redact.scrub(status)[:80]})"
    return redact.scrub(text)[:200]


def run(settings: Settings, retriever, token: str) -> None:
    """Long polling by default; a webhook when CITEBOT_TELEGRAM_WEBHOOK_URL is set. SIGINT/SIGTERM
    stop it. What stops it from starting becomes a BotStartError of one line."""
    app = build_application(settings, retriever, token)
    log.info("citebot bot starting (%s)", "webhook" if settings.telegram_webhook_url else "long polling")
    api = redact.safe_url(settings.telegram_api_url)  # never its user:password@
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
                            f"(and CITEBOT_TELEGRAM_API_URL, now {api})") from None
    except NetworkError as e:
        raise BotStartError(f"cannot reach the Telegram Bot API at {api}: "
                            f"{_reason(e)}; check CITEBOT_TELEGRAM_API_URL and the network") from None
    except TelegramError as e:  # e.g. "Invalid server response": a 200 answer that is not JSON
        raise BotStartError(f"the Telegram Bot API at {api} could not be used: {_reason(e)}; "
                            "check CITEBOT_TELEGRAM_API_URL") from None
    except OSError as e:  # the webhook's port is taken, or its listen address is not this machine's
        raise BotStartError(f"cannot listen for the webhook on {settings.telegram_webhook_listen}:"
                            f"{settings.telegram_webhook_port}: {e.strerror or e}; check "
                            "CITEBOT_TELEGRAM_WEBHOOK_LISTEN and CITEBOT_TELEGRAM_WEBHOOK_PORT") from None
    finally:
        app.runtime.executor.shutdown(wait=False, cancel_futures=True)
    log.info("citebot bot stopped")
