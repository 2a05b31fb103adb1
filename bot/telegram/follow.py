"""/follow TOPIC, /unfollow [TOPIC], /following: which topics a chat wants new articles on.

The follows live in the chat's data (persisted); watch.py pushes the news. In a group only its
administrators (or the bot's allowed users and admins) may change what the group follows, since
the pushes go to everyone in it.
"""
from __future__ import annotations

import datetime as dt
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from ..answering import check_question
from ..render import flatten
from .context import MAX_FOLLOWS_PER_CHAT, Context, Follow, UnfollowRequest
from .texts import cut, esc

MAX_TOPIC_CHARS = 200
GROUP_ONLY_ADMINS = "In a group, only its administrators can choose what the group follows."
USAGE = ("Send /follow and a topic, e.g. <code>/follow Wend floods</code>: I then send this chat each new "
         "article that answers it, as soon as it is indexed.")


def _quoted(topic: str) -> str:
    return f"“{esc(cut(flatten(topic), MAX_TOPIC_CHARS))}”"


async def may_manage(update: Update, context: Context) -> bool:
    """Anyone in a private chat; in a group or channel, its administrators and the allowed users."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat.type == ChatType.PRIVATE:
        return True
    settings = context.settings
    if user and (user.id in settings.allowed_users or user.id in settings.admin_users):
        return True
    if message and message.sender_chat and message.sender_chat.id == chat.id:
        return True  # an anonymous administrator, or the channel itself
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def follow_command(update: Update, context: Context) -> None:
    chat_id = update.effective_chat.id
    topic = " ".join(context.args or []).strip()
    send = context.bot.send_message
    async with context.runtime.lock(chat_id):
        if not topic:
            await send(chat_id=chat_id, text=USAGE)
            return
        hint = check_question(topic, MAX_TOPIC_CHARS)
        if hint:
            await send(chat_id=chat_id, text=esc(hint.replace("question", "topic")))
            return
        if not await may_manage(update, context):
            await send(chat_id=chat_id, text=GROUP_ONLY_ADMINS)
            return
        data = context.chat_data
        if data.follow(topic):
            await send(chat_id=chat_id, text=f"This chat already follows {_quoted(topic)}.")
            return
        if len(data.follows) >= MAX_FOLLOWS_PER_CHAT:
            await send(chat_id=chat_id, text=f"This chat follows {MAX_FOLLOWS_PER_CHAT} topics already: "
                                             "/unfollow one first.")
            return
        user = update.effective_user
        data.follows.append(Follow(topic, time.time(), by=user.id if user else None))
        cap = context.settings.follow_max_per_hour
        limit = f", at most {cap} an hour" if cap else ""
        await send(chat_id=chat_id, text=f"Following {_quoted(topic)}: each new article on it will be sent here "
                                         f"as soon as it is indexed{limit}. /unfollow {esc(topic)} stops it.")


async def unfollow_command(update: Update, context: Context) -> None:
    chat_id = update.effective_chat.id
    topic = " ".join(context.args or []).strip()
    async with context.runtime.lock(chat_id):
        follows = context.chat_data.follows
        if not follows:
            await context.bot.send_message(chat_id=chat_id, text="This chat follows no topic.")
            return
        if not await may_manage(update, context):
            await context.bot.send_message(chat_id=chat_id, text=GROUP_ONLY_ADMINS)
            return
        if not topic and len(follows) > 1:  # which one? a button each
            rows = [[InlineKeyboardButton(cut(f.topic, 60), callback_data=UnfollowRequest(f.topic))] for f in follows]
            rows.append([InlineKeyboardButton("All of them", callback_data=UnfollowRequest(None))])
            await context.bot.send_message(chat_id=chat_id, text="Stop following which topic?",
                                           reply_markup=InlineKeyboardMarkup(rows))
            return
        await context.bot.send_message(chat_id=chat_id, text=_unfollow(context, topic or follows[0].topic))


async def unfollow_button(update: Update, context: Context) -> None:
    query = update.callback_query
    if update.effective_chat is None:
        await query.answer("That button has expired.")
        return
    chat_id = update.effective_chat.id
    async with context.runtime.lock(chat_id):
        if not await may_manage(update, context):
            await query.answer(GROUP_ONLY_ADMINS, show_alert=True)
            return
        await query.answer()
        request: UnfollowRequest = query.data
        await context.bot.send_message(chat_id=chat_id, text=_unfollow(context, request.topic))


def _unfollow(context: Context, topic: str | None) -> str:
    data = context.chat_data
    if topic is None:
        gone, data.follows = data.follows, []
        if not gone:
            return "This chat follows no topic."
        return "Stopped following " + ", ".join(_quoted(f.topic) for f in gone) + "."
    found = data.follow(topic)
    if found is None:
        return f"This chat does not follow {_quoted(topic)}. /following lists what it follows."
    data.follows.remove(found)
    return f"Stopped following {_quoted(found.topic)}."


async def following_command(update: Update, context: Context) -> None:
    chat_id = update.effective_chat.id
    async with context.runtime.lock(chat_id):
        follows = context.chat_data.follows
        if not follows:
            text = "This chat follows no topic. " + USAGE
        else:
            lines = ["This chat follows:"]
            for f in follows:
                since = dt.datetime.fromtimestamp(f.since).strftime("%-d %b %Y")
                line = f"• {_quoted(f.topic)} since {since}: {f.pushed} article{'s' if f.pushed != 1 else ''} sent"
                if f.capped:
                    line += f", {f.capped} held back by the hourly limit"
                lines.append(line)
            text = "\n".join(lines)
        await context.bot.send_message(chat_id=chat_id, text=text)


async def membership(update: Update, context: Context) -> None:
    """The bot was blocked, removed or kicked: the chat's follows go with it."""
    change = update.my_chat_member
    if change.new_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED) and context.chat_data:
        context.chat_data.follows.clear()
