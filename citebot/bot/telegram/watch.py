"""Pushing new articles to the chats that follow a topic.

Every CITEBOT_WATCH_SECONDS the watcher asks the retriever for the served index (a cheap pointer
read); when another version is served — the bot's own refresh, or `citebot index update` run by
any process — it lists the articles indexed since the last look (each article's `added` stamp,
kept by the index across updates) and asks each followed topic, once however many chats follow
it, through the answer path restricted to those articles: the same relevance scoring and
abstention as an answer. Each match goes to each following chat once, as one message, unless
the chat followed after the article was indexed or dated, was sent it already, or had its
CITEBOT_FOLLOW_MAX_PER_HOUR. PTB's rate limiter spaces the messages (30 a second in all, 20 a
minute per group) and waits out a 429.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass

import numpy as np
from telegram.error import BadRequest, Forbidden, TelegramError

from citebot.index.answer import Retriever
from citebot.index.stores.base import IndexProblem

from .context import IDLE_CHAT_DAYS, BotData, ChatData, CitebotApplication, Follow
from .tasks import run_alongside
from .texts import push_html

log = logging.getLogger("citebot.bot")
MAX_MATCHES_PER_TOPIC = 20  # articles one topic can bring from one index change
DATE_SLACK = dt.timedelta(days=1)
MAX_IDS_AT_MARK = 1000
# Chats pushed to at once. The rate limiter spaces the calls; this bounds how many wait in its
# bucket, since during a 429's retry_after PTB's limiter lets calls through its bucket to wait,
# and they would all fire together when the wait ends (a burst of 30 on top of the steady rate).
PUSH_CONCURRENCY = 8  # article dates carry no time zone: a day either way of the follow


@dataclass(frozen=True)
class News:
    article_id: str
    rowid: int
    added: float  # epoch seconds
    dated: str | None  # the article's own date (ISO), when known


@dataclass
class Push:
    chat_id: int
    follow: Follow
    hit: object


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        stamp = dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.timestamp()


def news_since(reader, mark: BotData) -> tuple[list[News], float | None, list[str] | None]:
    """The served articles indexed after the mark (`added` stamps have whole seconds: at the mark's
    own second, those not seen there before), the newest stamp, and the ids at that stamp (None
    when too many to keep: a whole build shares one stamp, and a later update in that very second
    is improbable)."""
    seen_at_mark = set(mark.at_watermark or ())
    stamps: dict[str, tuple[float, object]] = {}
    for article_id, state in reader.articles().items():
        added = _epoch(getattr(state, "added", None))
        if added is not None:
            stamps[article_id] = (added, state)
    newest = max((a for a, _ in stamps.values()), default=None)
    at_newest = [aid for aid, (a, _) in stamps.items() if a == newest]
    news = []
    if mark.watermark is not None:
        for aid, (added, state) in stamps.items():
            if added > mark.watermark or (added == mark.watermark and mark.at_watermark is not None
                                          and aid not in seen_at_mark):
                news.append(News(aid, state.rowid, added, getattr(state, "dated", None)))
    news.sort(key=lambda n: n.added)
    return news, newest, at_newest if len(at_newest) <= MAX_IDS_AT_MARK else None


def on_topic(found) -> bool:
    """A push is a message nobody asked for just now, so beyond the answer path's own abstention
    the extract must hold the topic's rarest word and every name or figure it gives (the answer
    path's evidence: `rare`, `names_missing`) — "Wendford zoo penguins" is not news of a heron
    in Wendford."""
    features = getattr(found, "features", None) or {}
    return found.answer_found and features.get("rare", 1.0) >= 1.0 and features.get("names_missing", 0.0) == 0


def match(retriever: Retriever, reader, topic: str, news: list[News]) -> list:
    """Hits answering `topic` among `news`, one per article (its best extract), best first.
    Blocking: run on a worker thread.

    The answer path runs over the new articles only: once over all of them to rank candidates,
    then once per candidate over that article alone, so each is judged on its own by the same
    scoring and abstention as an answer (never by how it compares with the other news)."""
    if not news:
        return []
    chunk_of = getattr(reader, "article_chunks", None)
    if chunk_of is None:  # a store that cannot list an article's chunks: the whole index, news picked out
        found = retriever.answer(topic, MAX_MATCHES_PER_TOPIC * 3)
        ids = {n.article_id for n in news}
        fresh = [h for h in found.hits if h.article_id in ids] if on_topic(found) else []
        return list({h.article_id: h for h in reversed(fresh)}.values())[::-1][:MAX_MATCHES_PER_TOPIC]
    chunks = {n.article_id: np.array([row[0] for row in chunk_of(n.rowid)], dtype=np.int64) for n in news}
    chunks = {aid: ids for aid, ids in chunks.items() if len(ids)}
    if len(chunks) > 1:
        pool = np.unique(np.concatenate(list(chunks.values())))
        ranked = retriever.answer(topic, MAX_MATCHES_PER_TOPIC, within=pool).ranked
        candidates = list(dict.fromkeys(h.article_id for h in ranked if h.article_id in chunks))
    else:
        candidates = list(chunks)
    out = []
    for aid in candidates[:MAX_MATCHES_PER_TOPIC]:
        found = retriever.answer(topic, 1, within=chunks[aid])
        if on_topic(found) and found.hits:
            out.append(found.hits[0])
    return out


def _recent_enough(follow: Follow, item: News) -> bool:
    """Nothing older than the follow: indexed after it, and not dated before its day."""
    if item.added < int(follow.since):
        return False
    if item.dated:
        try:
            day = dt.date.fromisoformat(item.dated[:10])
        except ValueError:
            return True
        return day >= (dt.datetime.fromtimestamp(follow.since, dt.timezone.utc) - DATE_SLACK).date()
    return True


class Watcher:
    def __init__(self, app: CitebotApplication):
        self.app = app
        self._reader = None  # the served version last looked at

    async def loop(self) -> None:
        """Look at start (what changed while the bot was down), then every CITEBOT_WATCH_SECONDS."""
        seconds = self.app.runtime.settings.watch_seconds
        last_error = None
        while True:
            try:
                await self.check()
                last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as e:  # an unreadable index now is no reason to stop watching
                if str(e) != last_error:  # said once, not every few seconds
                    log.error("watching the index: %s: %s", type(e).__name__, e,
                              exc_info=e if not isinstance(e, (OSError, TelegramError, IndexProblem)) else None)
                last_error = str(e)
            await asyncio.sleep(seconds)

    async def check(self) -> int:
        """Look once; the number of messages pushed."""
        rt, data = self.app.runtime, self.app.bot_data
        self.prune()
        reader = await rt.search(rt.retriever.reader)
        if reader is self._reader:
            return 0
        news, newest, at_newest = await rt.search(news_since, reader, data)
        self._reader = reader
        sent = await self.push(reader, news) if news else 0  # none at the first start ever: no watermark yet
        if newest is None:
            data.watermark = data.watermark or time.time()
        elif data.watermark is None or newest > data.watermark:
            data.watermark, data.at_watermark = newest, at_newest
        elif newest == data.watermark and data.at_watermark is not None:
            data.at_watermark = list(dict.fromkeys(data.at_watermark + (at_newest or [])))[-MAX_IDS_AT_MARK:]
        return sent

    async def push(self, reader, news: list[News]) -> int:
        rt = self.app.runtime
        chats = {cid: cd for cid, cd in self.app.chat_data.items() if cd.follows}
        topics: dict[str, list[tuple[int, Follow]]] = {}
        for cid, cd in chats.items():
            for f in cd.follows:
                topics.setdefault(f.topic.casefold(), []).append((cid, f))
        plans: dict[int, list[Push]] = {}
        by_id = {n.article_id: n for n in news}
        for members in topics.values():
            since = min(f.since for _, f in members)
            fresh = [n for n in news if n.added >= int(since)]
            hits = await rt.search(match, rt.retriever, reader, members[0][1].topic, fresh) if fresh else []
            for cid, f in members:
                for hit in hits:
                    if _recent_enough(f, by_id[hit.article_id]):
                        plans.setdefault(cid, []).append(Push(cid, f, hit))
        cap = rt.settings.follow_max_per_hour
        queued: dict[int, list[Push]] = {}
        for cid, wanted in plans.items():
            cd = chats[cid]
            for p in wanted:
                if p.hit.article_id in cd.pushed:
                    continue
                if not cd.pushes.allow(cap, 3600):
                    p.follow.capped += 1
                    continue
                cd.remember_pushed(p.hit.article_id)
                p.follow.pushed += 1
                queued.setdefault(cid, []).append(p)
        if plans:
            self.app.mark_data_for_update_persistence(chat_ids=list(plans))
        slots = asyncio.Semaphore(PUSH_CONCURRENCY)

        async def deliver(cid: int, ps: list[Push]) -> int:
            async with slots:
                return await self.deliver(cid, chats[cid], ps)

        results = await asyncio.gather(*(deliver(cid, ps) for cid, ps in queued.items()))
        sent = sum(results)
        log.info("index changed: %d new article(s), %d topic(s) followed, %d message(s) pushed to %d chat(s)",
                 len(news), len(topics), sent, len(queued))
        return sent

    async def deliver(self, chat_id: int, data: ChatData, pushes: list[Push]) -> int:
        """One chat's pushes, in order, inside its lock (they never split one of its answers)."""
        sent = 0
        async with self.app.runtime.lock(chat_id):
            for p in pushes:
                try:
                    await self.app.bot.send_message(chat_id=chat_id, text=push_html(p.follow.topic, p.hit))
                    sent += 1
                except (Forbidden, BadRequest) as e:  # blocked, removed, or the chat is gone
                    log.info("chat %s cannot be sent to (%s): its follows are dropped", chat_id, e)
                    data.follows.clear()
                    break
                except TelegramError as e:
                    log.warning("push to chat %s failed: %s", chat_id, e)
        return sent

    def prune(self) -> None:
        """Forget users with no recent questions and long-idle chats that follow nothing."""
        now = time.time()
        for uid, ud in list(self.app.user_data.items()):
            if ud.asked.empty(60, now):
                self.app.drop_user_data(uid)
        idle = IDLE_CHAT_DAYS * 86400
        for cid, cd in list(self.app.chat_data.items()):
            if not cd.follows and now - cd.seen > idle:
                self.app.drop_chat_data(cid)


def install(app: CitebotApplication) -> Watcher:
    """Watch the index from the bot's start to its stop."""
    watcher = Watcher(app)
    run_alongside(app, watcher.loop, "citebot-watch")
    return watcher
