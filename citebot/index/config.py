"""Plain configuration values for index/ (the front end builds them from its settings)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .encoders.sentence_transformers import DEFAULT_MODEL

MAX_ARTICLE_BYTES = 10 * 2**20  # one article's text, in UTF-8 bytes (a list of articles is read one at a time)


@dataclass(frozen=True)
class QdrantConfig:
    """Where the qdrant store's collection lives (stores/qdrant.py): a server or cluster by URL, or
    a local-mode folder (one process at a time; for tests and small set-ups)."""
    url: str | None = None  # http(s)://host:6333
    path: Path | None = None
    api_key: str | None = field(default=None, repr=False)  # a secret: never in a repr, a log or a message
    collection: str = "citebot"  # the alias readers follow; each build makes a collection behind it
    shards: int = 1
    replicas: int = 1
    batch_size: int = 256  # points per write request
    timeout_s: float = 30.0  # per request
    retries: int = 3  # more tries of a request that met a transient error, with backoff


@dataclass(frozen=True)
class IndexConfig:
    index_dir: Path = Path("data/index")
    model: str = DEFAULT_MODEL
    dtype: str = "auto"  # auto | fp32 | bf16
    chunk_tokens: int = 128
    chunk_overlap: int = 1  # sentences shared by neighbouring chunks
    faiss_index: str = "auto"  # auto | flat | ivf | hnsw | any FAISS factory string
    batch_size: int = 32
    store: str = "local"  # local | qdrant (stores/factory.py)
    max_article_bytes: int = MAX_ARTICLE_BYTES  # one article's text; a JSONL or JSON list is read one article at a time
    qdrant: QdrantConfig = QdrantConfig()

    def chunking(self) -> dict:
        """What must match between an index and an update of it."""
        return {"chunk_tokens": self.chunk_tokens, "chunk_overlap": self.chunk_overlap}


@dataclass(frozen=True)
class FetchConfig:
    """How feeds and pages are fetched (sources/fetch.py)."""
    user_agent: str = "citebot/0.1 (news question answering; honours robots.txt)"
    timeout_s: float = 20.0  # for the whole request, headers and body, counted from when it starts
    queue_timeout_s: float = 120.0  # waiting for a free slot to the host (behind slow pages of the same site)
    max_bytes: int = 10 * 2**20
    max_redirects: int = 5
    per_host: int = 2  # requests at once to one host
    allow_private: bool = False  # loopback, private and link-local addresses (SSRF)
    workers: int = 4  # pages fetched at once over all hosts
