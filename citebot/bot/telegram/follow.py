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
from .texts import cut, esc, lang_of, local

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
    lang = lang_of(update)
    async with context.runtime.lock(chat_id):
        if not topic:
            await send(chat_id=chat_id, text=local(lang, "FOLLOW_USAGE", USAGE))
            return
        hint = check_question(topic, MAX_TOPIC_CHARS)
        if hint:
            await send(chat_id=chat_id, text=esc(hint.replace("question", "topic")))
            return
        if not await may_manage(update, context):
            await send(chat_id=chat_id, text=local(lang, "FOLLOW_GROUP_ONLY_ADMINS", GROUP_ONLY_ADMINS))
            return
        data = context.chat_data
        if data.follow(topic):
            await send(chat_id=chat_id, text=local(lang, "FOLLOW_ALREADY", f"This chat already follows {_quoted(topic)}.",
                                                   topic=_quoted(topic)))
            return
        if len(data.follows) >= MAX_FOLLOWS_PER_CHAT:
            await send(chat_id=chat_id, text=local(lang, "FOLLOW_TOO_MANY", f"This chat follows {MAX_FOLLOWS_PER_CHAT} "
                                                   "topics already: /unfollow one first.", n=MAX_FOLLOWS_PER_CHAT))
            return
        user = update.effective_user
        data.follows.append(Follow(topic, time.time(), by=user.id if user else None))
        cap = context.settings.follow_max_per_hour
        limit = local(lang, "FOLLOW_LIMIT", f", at most {cap} an hour", cap=cap) if cap else ""
        await send(chat_id=chat_id, text=local(lang, "FOLLOW_OK", f"Following {_quoted(topic)}: each new article on "
                                               f"it will be sent here as soon as it is indexed{limit}. "
                                               f"/unfollow {esc(topic)} stops it.",
                                               topic=_quoted(topic), limit=limit, plain=esc(topic)))


async def unfollow_command(update: Update, context: Context) -> None:
    chat_id = update.effective_chat.id
    topic = " ".join(context.args or []).strip()
    lang = lang_of(update)
    async with context.runtime.lock(chat_id):
        follows = context.chat_data.follows
        if not follows:
            await context.bot.send_message(chat_id=chat_id, text=local(lang, "FOLLOWS_NONE", "This chat follows no topic."))
            return
        if not await may_manage(update, context):
            await context.bot.send_message(chat_id=chat_id, text=local(lang, "FOLLOW_GROUP_ONLY_ADMINS", GROUP_ONLY_ADMINS))
            return
        if not topic and len(follows) > 1:  # which one? a button each
            rows = [[InlineKeyboardButton(cut(f.topic, 60), callback_data=UnfollowRequest(f.topic))] for f in follows]
            rows.append([InlineKeyboardButton(local(lang, "UNFOLLOW_ALL", "All of them"), callback_data=UnfollowRequest(None))])
            await context.bot.send_message(chat_id=chat_id, text=local(lang, "UNFOLLOW_WHICH", "Stop following which topic?"),
                                           reply_markup=InlineKeyboardMarkup(rows))
            return
        await context.bot.send_message(chat_id=chat_id, text=_unfollow(context, topic or follows[0].topic, lang))


async def unfollow_button(update: Update, context: Context) -> None:
    query = update.callback_query
    lang = lang_of(update)
    if update.effective_chat is None:
        await query.answer(local(lang, "UNFOLLOW_EXPIRED", "That button has expired."))
        return
    chat_id = update.effective_chat.id
    async with context.runtime.lock(chat_id):
        if not await may_manage(update, context):
            await query.answer(local(lang, "FOLLOW_GROUP_ONLY_ADMINS", GROUP_ONLY_ADMINS), show_alert=True)
            return
        await query.answer()
        request: UnfollowRequest = query.data
        await context.bot.send_message(chat_id=chat_id, text=_unfollow(context, request.topic, lang))


def _unfollow(context: Context, topic: str | None, lang: str = "en") -> str:
    data = context.chat_data
    if topic is None:
        gone, data.follows = data.follows, []
        if not gone:
            return local(lang, "FOLLOWS_NONE", "This chat follows no topic.")
        topics = ", ".join(_quoted(f.topic) for f in gone)
        return local(lang, "UNFOLLOWED", f"Stopped following {topics}.", topics=topics)
    found = data.follow(topic)
    if found is None:
        return local(lang, "UNFOLLOW_UNKNOWN", f"This chat does not follow {_quoted(topic)}. /following lists what it "
                     "follows.", topic=_quoted(topic))
    data.follows.remove(found)
    return local(lang, "UNFOLLOWED", f"Stopped following {_quoted(found.topic)}.", topics=_quoted(found.topic))


async def following_command(update: Update, context: Context) -> None:
    chat_id = update.effective_chat.id
    lang = lang_of(update)
    async with context.runtime.lock(chat_id):
        follows = context.chat_data.follows
        if not follows:
            text = local(lang, "FOLLOWS_NONE", "This chat follows no topic.") + " " + local(lang, "FOLLOW_USAGE", USAGE)
        else:
            lines = [local(lang, "FOLLOWING_HEAD", "This chat follows:")]
            for f in follows:
                since = dt.datetime.fromtimestamp(f.since).strftime("%-d.%m.%Y" if lang != "en" else "%-d %b %Y")
                line = local(lang, "FOLLOWING_LINE", f"• {_quoted(f.topic)} since {since}: {f.pushed} "
                             f"article{'s' if f.pushed != 1 else ''} sent", topic=_quoted(f.topic), since=since,
                             pushed=f.pushed)
                if f.capped:
                    line += local(lang, "FOLLOWING_CAPPED", f", {f.capped} held back by the hourly limit", capped=f.capped)
                lines.append(line)
            text = "\n".join(lines)
        await context.bot.send_message(chat_id=chat_id, text=text)


async def membership(update: Update, context: Context) -> None:
    """The bot was blocked, removed or kicked: the chat's follows go with it."""
    change = update.my_chat_member
    if change.new_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED) and context.chat_data:
        context.chat_data.follows.clear()
