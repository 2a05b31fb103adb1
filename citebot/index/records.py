"""Plain records passed along the pipeline: load → clean → chunk → embed → store → retrieve."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Article:
    """One cleaned article. `id` is stable across rebuilds (from the source's id, URL or path)."""

    id: str
    title: str
    text: str
    url: str | None = None
    published: str | None = None  # ISO date (YYYY-MM-DD) or None
    author: str | None = None
    source: str | None = None
    path: str | None = None
    content_hash: str = ""
    origin: str | None = None  # where it was read from: a file (absolute path) or a page URL, and that
    stamp: str | None = None   # origin's stamp when read (size+mtime; ETag/Last-Modified/hash): an
    #                            update does not read again an origin whose stamp is unchanged
    source_key: str | None = None  # the recorded source it belongs to (a folder, file, feed or page)
    added: str | None = None  # when it was first indexed (UTC, ISO): the age of an undated article
    dup_group: str | None = None  # near-duplicate copies of one story share it (duplicates.py)
    signature: bytes | None = None  # its MinHash signature, kept so later copies can be matched to it
    gaps: list[int] = field(default_factory=list)  # offsets in `text` where cleaning dropped something before
    dated: str | None = None  # ISO date questions about a period go by: published, else one its lead states
    years: list[int] = field(default_factory=list)  # years the text names (for undated articles and periods)


@dataclass
class Chunk:
    """A verbatim slice `article.text[start:end]` that follows sentence boundaries."""

    article_id: str
    position: int
    start: int
    end: int
    text: str
    id: int | None = None  # assigned by the store
    sentences: list[tuple[int, int]] = field(default_factory=list)  # spans in the article text


@dataclass
class Hit:
    """One answer: an extract of an article with the sentence that best answers the question."""

    article_id: str
    chunk_id: int
    title: str
    source: str | None
    url: str | None
    published: str | None
    path: str | None
    score: float
    extract: str
    highlight_start: int
    highlight_end: int
    extract_start: int = 0  # offset of the extract in the clean article text
    extra: dict = field(default_factory=dict)

    @property
    def highlight(self) -> str:
        return self.extract[self.highlight_start:self.highlight_end]
