"""The store seam: what the answer path reads from storage, and what a build or an update writes.

Two stores keep the same promises: `local` (segments of SQLite + FAISS + BM25 postings in one
folder, stores/local/) and `qdrant` (one collection on a Qdrant server or cluster, stores/qdrant.py).
Readers see one served version whole (a generation, a collection behind an alias) and notice when
another is served; a failed or killed write leaves the served version as it was.

Chunk ids and article rowids are integers, unique within what a reader serves; the answer path
only passes them back to the same reader.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Protocol, Sequence, Sized, Union

import numpy as np

from ..records import Article, Chunk


class IndexProblem(RuntimeError):
    """Base of the index problems a user can cause and fix (the message says how)."""


class NoIndex(IndexProblem):
    pass


class IncompatibleIndex(IndexProblem):
    pass


class IndexDamaged(IndexProblem):
    """A file or record of the served index is missing, truncated or corrupt."""


class StoreUnavailable(IndexProblem):
    """The store cannot be reached or refuses us (server down, wrong key): nothing was changed."""


REBUILD = "rebuild it with `citebot index build PATH...`"


def check_compatible(manifest: dict, model: str | None, format_version: int) -> None:
    """Refuse an index another citebot format or another embedding model wrote."""
    if manifest.get("format") != format_version:
        raise IncompatibleIndex(
            f"the index has format {manifest.get('format')}, this citebot reads format {format_version}: {REBUILD}")
    if model is not None and manifest.get("model") != model:
        raise IncompatibleIndex(
            f"the index was built with model '{manifest.get('model')}', the settings name '{model}': "
            f"{REBUILD} (or set CITEBOT_EMBEDDING_MODEL back)")
    from ..text.terms import ANALYZER, LEGACY_ANALYZER

    # An index from before languages were told apart has no analyzer: its English terms are this
    # one's, so it serves as it is (its Russian or Ukrainian articles find their words after a rebuild).
    analyzer = manifest.get("analyzer", LEGACY_ANALYZER)
    if analyzer not in (ANALYZER, LEGACY_ANALYZER):
        raise IncompatibleIndex(
            f"the index's words were analysed by '{analyzer}', this citebot analyses them by '{ANALYZER}': {REBUILD}")


class ArticleState(NamedTuple):
    """What an update compares an indexed article with."""
    rowid: int
    content_hash: str
    origin: str | None
    stamp: str | None
    source_key: str | None = None
    dated: str | None = None
    added: str | None = None


@dataclass
class ChunkRow:
    id: int
    article_rowid: int
    position: int
    start: int
    end: int
    text: str
    article_id: str
    title: str
    source: str | None
    author: str | None
    published: str | None
    url: str | None
    path: str | None
    dated: str | None = None  # published, or the date the article's lead states


# Chunk ids a search is limited to: an array of ids, or what a store's chunks_in_period returned
# (a store may hand back a filter its engine applies, with a len()).
Allowed = Union[np.ndarray, Sized]
SentenceSpans = list[tuple[tuple[int, int], np.ndarray]]


class StoreReader(Protocol):
    """Read access to one served version of the index. Safe to share between threads."""

    manifest: dict

    def close(self) -> None: ...

    # -- what the answer path reads --------------------------------------------------------------
    def doc_freq(self, terms: Sequence[str]) -> dict[str, int]:
        """term → the number of chunks holding it."""

    def dense_search(self, vector: np.ndarray, k: int, allowed: Allowed | None = None) -> list[tuple[int, float]]:
        """(chunk id, cosine), best first; `allowed`: only these chunks."""

    def bm25_search(self, terms: Sequence[str], k: int, allowed: Allowed | None = None) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) best first for stemmed terms (text/terms.py: content_stems)."""

    def chunks_in_period(self, start: str, end: str, years: Sequence[int] = ()) -> Allowed:
        """The chunks of articles dated within [start, end] (ISO dates), and of undated ones that
        name one of `years`; len() is how many."""

    def chunk_rows(self, ids: Iterable[int]) -> dict[int, ChunkRow]: ...

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """Chunk vectors in the order of `ids` (zeros for an unknown id)."""

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, SentenceSpans]:
        """chunk id → [((start, end) in the article, unit vector)] in text order."""

    def sentence_spans_around(self, article_rowid: int, position: int, reach: int = 1) -> list[tuple[int, int]]:
        """Sentence spans of the chunks within `reach` positions of one chunk, in text order."""

    def article_text(self, article_rowid: int) -> str: ...

    def article_gaps(self, article_rowid: int) -> list[int]:
        """Offsets in the clean text where cleaning dropped something: an extract never spans one."""

    def date_range(self) -> tuple[str | None, str | None]: ...

    def latest_published(self) -> str | None: ...

    def copies(self, article_ids: Sequence[str]) -> dict[str, list]:
        """article id → the other served copies of its story (duplicates.Copy), earliest first."""

    # -- what a build or an update reads back ----------------------------------------------------
    def articles(self) -> dict[str, ArticleState]:
        """article id → its state, for every served article."""

    def lsh_candidates(self, keys: Sequence[int], skip: set[int] = frozenset()) -> list:
        """Served articles sharing an LSH band key with a new article (duplicates.Neighbour)."""

    def article_chunks(self, article_rowid: int) -> list[tuple[int, int, int, int, str]]:
        """(chunk id, position, start, end, text) of one served article's chunks, in text order."""


@dataclass
class Edit:
    """What one build or update writes, decided by building.py before the store is touched."""
    shape: dict  # the model's side of the manifest (model, dimension, chunking, ...)
    sources: list[dict]  # the recorded sources after it
    sources_changed: bool
    fresh: list[Article] = field(default_factory=list)  # new and changed articles, embedded now
    chunks: list[list[Chunk]] = field(default_factory=list)  # per fresh article
    vectors: list[np.ndarray] = field(default_factory=list)  # per fresh article: its chunk vectors
    sentence_vectors: list[list[np.ndarray]] = field(default_factory=list)  # per fresh article, per chunk
    kept: list[Article] = field(default_factory=list)  # read again, unchanged
    untouched: list[str] = field(default_factory=list)  # article ids kept without being read
    gone: set[int] = field(default_factory=set)  # rowids of served articles that leave or are replaced
    old_articles: dict[str, ArticleState] = field(default_factory=dict)


class Closes:
    """`with open_store(cfg) as store:` closes the store however the block ends."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Store(Protocol):
    """One place an index lives; made by factory.open_store from the settings, closed by a `with`
    block (both stores are `Closes`)."""

    kind: str  # "local" | "qdrant": recorded in the manifest
    format_version: int

    @classmethod
    def from_config(cls, cfg: Any) -> "Store":
        """The store the settings describe (an IndexConfig): what factory.open_store calls."""

    def where(self) -> str:
        """Where the index is, for messages (never with a secret)."""

    def pointer(self) -> str | None:
        """Names the served version, cheaply (a reader reopens when it changes); None: no index."""

    def exists(self) -> bool: ...

    def open(self, model: str | None = None, writing: bool = False) -> StoreReader:
        """The served version; NoIndex, IncompatibleIndex, IndexDamaged or StoreUnavailable."""

    def check_settings(self, dimension: int) -> None:
        """Refuse settings this store cannot honour before anything is embedded."""

    def write(self, old: StoreReader | None, edit: Edit) -> dict | None:
        """Serve `edit` on top of `old` (None: a build from scratch); the new manifest, or None when
        nothing changed. A failure or a kill leaves the served version as it was (qdrant updates:
        each article wholly old or wholly new, and running the update again completes it)."""

    def status(self) -> dict[str, Any]:
        """What `citebot index status` shows: the store, where, counts."""

    def check(self) -> list[str]:
        """Every damaged part of the served index, one line each (empty: all is well)."""

    def close(self) -> None: ...
