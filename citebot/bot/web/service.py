"""What every route of `citebot serve` shares: the settings, one Retriever, and a thread pool
sized to the cores that runs the answer path off the event loop.

One Retriever answers every request, as in the Telegram bot: it is safe to share between threads
and notices by itself when a rebuilt index is served (it re-reads the index's pointer on every
question), so a `citebot index update` beside a running server needs no restart."""
from __future__ import annotations

import asyncio
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from .. import answering
from ..settings import Settings
from .requests import AROUND, Ask


class ArticleNotFound(LookupError):
    pass


class Service:
    def __init__(self, settings: Settings, retriever, threads: int | None = None):
        self.settings = settings
        self.retriever = retriever
        self.threads = threads or settings.web_threads or os.cpu_count() or 1
        self.pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="citebot-web")
        self._rowids: tuple[str | None, dict[str, int]] = (None, {})
        self._lock = threading.Lock()

    async def run(self, fn, *args, **kwargs):
        """`fn(*args, **kwargs)` on the pool: questions are CPU work, the event loop stays free."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    # -- what the routes ask -----------------------------------------------------------------
    def answer(self, ask: Ask, explain: bool | None = None):
        """The answer path's answer, through the same call as every front end (the unanswered log included)."""
        return answering.ask(self.retriever, self.settings, ask.question, ask.k, ask.offset, as_of=ask.as_of,
                             explain=ask.explain if explain is None else explain)

    def healthy(self) -> str:
        """The served version's pointer; an IndexProblem when none can be served."""
        self.retriever.reader()
        return str(self.retriever.store.pointer() or "")

    def article(self, article_id: str, start: int | None = None, end: int | None = None, around: int = AROUND) -> dict:
        """An indexed article's citation and the text around a span of it (`start`, `end`: offsets in
        its clean text, as an answer's `extract_start` and extract give them); without a span, its opening."""
        reader = self.retriever.reader()
        rowid = self._rowid(reader, article_id)
        chunks = reader.article_chunks(rowid)
        if not chunks:
            raise ArticleNotFound(article_id)
        row = reader.chunk_rows([chunks[0][0]])[chunks[0][0]]
        text = reader.article_text(rowid)
        start = 0 if start is None else max(0, min(start, len(text)))
        end = min(len(text), start + around) if end is None else max(start, min(end, len(text)))
        lo, hi = max(0, start - around), min(len(text), end + around)
        return {"article_id": row.article_id, "title": row.title, "source": row.source, "author": row.author,
                "published": row.published, "url": row.url, "path": row.path, "length": len(text),
                "start": start, "end": end, "before": text[lo:start], "text": text[start:end], "after": text[end:hi],
                "cut_start": lo > 0, "cut_end": hi < len(text)}

    def _rowid(self, reader, article_id: str) -> int:
        """The served article's row, from a map kept per served version (read once, a fraction of a
        second for ten thousand articles; a new version reads it again)."""
        pointer = self.retriever.store.pointer()
        with self._lock:
            if self._rowids[0] != pointer or not self._rowids[1]:
                self._rowids = (pointer, {aid: state.rowid for aid, state in reader.articles().items()})
            rowid = self._rowids[1].get(article_id)
        if rowid is None:
            raise ArticleNotFound(article_id)
        return rowid
