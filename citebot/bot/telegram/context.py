"""What handlers see besides the update: typed data that persistence keeps (per chat, per user,
for the whole bot) and the process's runtime (settings, retriever, worker threads, chat locks),
which is never persisted — so the state file never holds the token.

Every table here is bounded: a chat keeps a few follows, its latest pushed article ids and the
last hour's push times; a user keeps one minute of question times.
"""
from __future__ import annotations

import asyncio
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

if TYPE_CHECKING:
    from .refresh import Refresher
    from ..settings import Settings

MAX_FOLLOWS_PER_CHAT = 10
MAX_PUSHED_REMEMBERED = 1000  # article ids a chat was sent: enough for any refresh, bounded forever
IDLE_CHAT_DAYS = 90  # a chat with no follows that said nothing for this long is forgotten


@dataclass
class Window:
    """Times of recent events in a sliding window: a rate limit that survives a restart (wall clock)."""
    times: list[float] = field(default_factory=list)

    def allow(self, limit: int, seconds: float, now: float | None = None) -> bool:
        """Record an event when fewer than `limit` happened in the last `seconds` (0 = unlimited)."""
        if limit <= 0:
            return True
        now = time.time() if now is None else now
        self.times = [t for t in self.times if now - t < seconds]
        if len(self.times) >= limit:
            return False
        self.times.append(now)
        return True

    def empty(self, seconds: float, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return not any(now - t < seconds for t in self.times)


@dataclass
class Follow:
    topic: str
    since: float  # when it was followed (epoch seconds): nothing older is pushed
    by: int | None = None  # who asked for it
    pushed: int = 0
    capped: int = 0  # matches not sent because of the hourly cap


@dataclass(frozen=True)
class MoreRequest:
    """What a "More" button carries (arbitrary callback data): the question, its focus and where to go on."""
    question: str
    focus: str | None
    offset: int


@dataclass(frozen=True)
class UnfollowRequest:
    topic: str | None  # None: every topic of the chat


@dataclass
class ChatData:
    last_question: str | None = None
    follows: list[Follow] = field(default_factory=list)
    pushed: dict[str, None] = field(default_factory=dict)  # article ids sent, oldest first
    pushes: Window = field(default_factory=Window)  # for CITEBOT_FOLLOW_MAX_PER_HOUR
    asked: Window = field(default_factory=Window)  # rate window of a chat without a user (a channel)
    seen: float = field(default_factory=time.time)

    def remember_pushed(self, article_id: str) -> None:
        self.pushed[article_id] = None
        while len(self.pushed) > MAX_PUSHED_REMEMBERED:
            del self.pushed[next(iter(self.pushed))]

    def follow(self, topic: str) -> Follow | None:
        key = topic.casefold()
        return next((f for f in self.follows if f.topic.casefold() == key), None)


@dataclass
class UserData:
    asked: Window = field(default_factory=Window)  # for CITEBOT_RATE_LIMIT_PER_MINUTE


@dataclass
class BotData:
    """What the index watcher has handled: articles indexed up to the watermark are not news."""
    watermark: float | None = None  # the newest `added` stamp handled (epoch seconds)
    at_watermark: list[str] | None = None  # the article ids handled at that very stamp


class Runtime:
    """The process's own objects; rebuilt at each start, never persisted."""

    def __init__(self, settings: "Settings", retriever) -> None:
        self.settings = settings
        self.retriever = retriever
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="citebot-search")
        self.refresher: Refresher | None = None
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def lock(self, chat_id: int) -> asyncio.Lock:
        """The chat's lock: its answers and pushes go out in order. A lock nobody holds or waits
        for is dropped, so the table stays as small as the chats busy right now."""
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock

    async def search(self, fn, *args):
        """Run a blocking index call on a worker thread: one slow question never holds up other chats."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


class CitebotApplication(Application):
    """PTB's Application with the process's runtime beside it."""
    runtime: Runtime

    async def update_persistence(self) -> None:
        """PTB's persistence round, then one write of the state file if anything changed."""
        await super().update_persistence()
        write = getattr(self.persistence, "write_if_changed", None)
        if write is not None:
            await write()


class Context(CallbackContext[ExtBot, UserData, ChatData, BotData]):
    @property
    def runtime(self) -> Runtime:
        return self.application.runtime  # type: ignore[attr-defined]

    @property
    def settings(self) -> "Settings":
        return self.runtime.settings


CONTEXT_TYPES = ContextTypes(context=Context, bot_data=BotData, chat_data=ChatData, user_data=UserData)
