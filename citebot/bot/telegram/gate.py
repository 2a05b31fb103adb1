"""The one access gate, in handler group -1: every update passes here before any handler sees it.

It lets through only what is meant for the bot (in a group: commands to it, mentions, replies to
it), from the people and chats on the allowlist, within each user's questions per minute; what it
stops gets one polite answer in the form the update allows (a message, a button notice, an inline
hint), except a channel the bot was not set up for, where it never posts.
"""
from __future__ import annotations

import logging
import time

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import ApplicationHandlerStop

from ..settings import Settings
from .context import Context
from .texts import esc, lang_of, say

log = logging.getLogger("citebot.bot")


def allowed(update: Update, settings: Settings) -> bool:
    """On the allowlist (everyone when it is empty); the bot's admins always are."""
    if not settings.allowed_users and not settings.allowed_chats:
        return True
    user, chat = update.effective_user, update.effective_chat
    if user and (user.id in settings.allowed_users or user.id in settings.admin_users):
        return True
    return bool(chat and chat.id in settings.allowed_chats)


def addressed(update: Update, bot) -> bool:
    """Whether the bot is spoken to: anything in a private chat, buttons and inline queries; in a
    group only its commands, mentions of it and replies to it (never the group's chatter)."""
    if update.inline_query is not None or update.callback_query is not None:
        return True
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    text = message.text or message.caption or ""
    me = (bot.username or "").lower()
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    if first.startswith("/") and len(first) > 1:
        _, at, target = first.partition("@")
        return not at or target.lower() == me
    if me and f"@{me}" in text.lower():
        return True
    reply = message.reply_to_message
    return bool(reply and reply.from_user and reply.from_user.id == bot.id)


async def refuse(update: Update, context: Context, text: str) -> None:
    if update.inline_query is not None:
        await update.inline_query.answer([hint_result("refused", "Not available", text)], cache_time=0,
                                         is_personal=True)
    elif update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_chat and update.effective_chat.type != ChatType.CHANNEL:
        await context.bot.send_message(chat_id=update.effective_chat.id, text=text)


def hint_result(result_id: str, title: str, text: str) -> InlineQueryResultArticle:
    """An inline result that only explains (empty or too long a query, not found, refused)."""
    return InlineQueryResultArticle(result_id, title, InputTextMessageContent(esc(text), parse_mode=ParseMode.HTML),
                                    description=text[:200])


async def gate(update: Update, context: Context) -> None:
    """Group -1: returns to let the update on to the handlers, raises ApplicationHandlerStop to stop it."""
    if update.my_chat_member is not None:
        return  # the bot was added, removed or blocked: follow.py tidies up, nobody is answered
    if not addressed(update, context.bot):
        raise ApplicationHandlerStop
    settings = context.settings
    if not allowed(update, settings):
        user, chat = update.effective_user, update.effective_chat
        log.info("refused user %s in chat %s (not on the allowlist)", user.id if user else "?", chat.id if chat else "-")
        await refuse(update, context, say("NOT_ALLOWED", lang_of(update)))
        raise ApplicationHandlerStop
    if context.chat_data is not None:
        context.chat_data.seen = time.time()
    window = (context.user_data.asked if context.user_data is not None
              else context.chat_data.asked if context.chat_data is not None else None)
    if window is not None and not window.allow(settings.rate_limit_per_minute, 60):
        await refuse(update, context, say("RATE_LIMITED", lang_of(update)))
        raise ApplicationHandlerStop
