"""What every kind of source shares: the recorded description of a source, what the index already
holds of it, what a refresh collected, and each kind's removal policy.

Sources discover items and stamp them; parsers (parsers.py) turn bytes into Articles. A refresh
never loses what is indexed by failing: a source that cannot be read keeps all its articles, an
item that cannot be read keeps its indexed version.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Callable, Protocol

from ..config import MAX_ARTICLE_BYTES
from ..records import Article

ProblemHandler = Callable[[str], None]


class Kind(str, Enum):
    FOLDER = "folder"
    FILE = "file"
    FEED = "feed"
    PAGE = "page"


class Policy(str, Enum):
    """What a refresh does with an indexed article its source no longer lists."""
    MIRROR = "mirror"  # files and folders: a deleted file's articles go
    APPEND = "append"  # feeds and pages: an item that leaves the feed stays (feeds list only their latest)


POLICIES = {Kind.FOLDER: Policy.MIRROR, Kind.FILE: Policy.MIRROR, Kind.FEED: Policy.APPEND, Kind.PAGE: Policy.APPEND}


@dataclass
class SourceSpec:
    """A recorded source, kept in the index's generation manifest so that it changes exactly when
    the articles do (a killed refresh leaves both as they were). Never holds a secret."""
    kind: Kind
    location: str  # an absolute path or a normalised URL: the source's key
    title: str | None = None
    added: str | None = None
    etag: str | None = None  # the feed document's validators, for a conditional request
    last_modified: str | None = None
    digest: str | None = None  # SHA-256 of the last feed body, for servers that send no validators
    retry: list[str] = field(default_factory=list)  # items that failed last time: the feed is read in full again
    excluded: list[str] = field(default_factory=list)  # article ids removed by hand: not indexed again

    @property
    def policy(self) -> Policy:
        return POLICIES[self.kind]

    @property
    def is_url(self) -> bool:
        return self.kind in (Kind.FEED, Kind.PAGE)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["kind"] = self.kind.value
        return {k: v for k, v in d.items() if v not in (None, [])}

    @classmethod
    def from_dict(cls, d: dict) -> "SourceSpec":
        fields = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "kind": Kind(d["kind"])})


@dataclass
class Known:
    """What the served index holds of one source: origin (file or page URL) → (stamp, article
    ids), and the ids other sources hold (a page two feeds list is indexed once)."""
    items: dict[str, tuple[str | None, list[str]]] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    elsewhere: set[str] = field(default_factory=set)


@dataclass
class Collected:
    """One source's refresh: the articles read now (new, changed or the same) and the indexed ones
    to carry over untouched; `error` when the source as a whole could not be read."""
    spec: SourceSpec
    articles: list[Article] = field(default_factory=list)
    unchanged: set[str] = field(default_factory=set)  # not read again: the stamp said unchanged
    kept: set[str] = field(default_factory=set)  # failed to read now: the indexed version stays
    error: str | None = None
    expired: int = 0  # items older than the retention period, not fetched or not kept
    failed_items: int = 0


class Claims:
    """Settles two articles with one id: the first in source order wins, whether read now or
    carried over, and the other is reported; build and update therefore agree."""

    def __init__(self, on_problem: ProblemHandler):
        self.owner: dict[str, str] = {}
        self.on_problem = on_problem

    def claim(self, art_id: str, owner: str, where: object) -> bool:
        held = self.owner.get(art_id)
        if held is not None and held != owner:
            self.on_problem(f"{where}: duplicate article id '{art_id}' (also in {held}), skipped")
            return False
        self.owner[art_id] = owner
        return True


@dataclass
class Context:
    """What a source needs from the refresh it is part of."""
    claims: Claims
    on_problem: ProblemHandler
    fetcher: object | None = None  # fetch.Fetcher, made only when a URL source is refreshed
    cutoff: str | None = None  # ISO date: articles dated before it are past retention
    max_article_bytes: int = MAX_ARTICLE_BYTES
    on_article: Callable[[], None] | None = None  # told of each article read (a progress bar)


class Source(Protocol):
    spec: SourceSpec

    def collect(self, known: Known, ctx: Context) -> Collected:
        """Read what changed since `known`; report each problem through ctx.on_problem."""
        ...


# --- retention ------------------------------------------------------------------------------------

def cutoff(keep_days: int, today: dt.date | None = None) -> str | None:
    """The first date kept when articles older than `keep_days` go (0 = keep everything)."""
    if not keep_days:
        return None
    today = today or dt.datetime.now(dt.timezone.utc).date()
    return (today - dt.timedelta(days=keep_days)).isoformat()


def age_date(dated: str | None, added: str | None) -> str | None:
    """What an article's age is counted from: its own date, else when it was first indexed."""
    return (dated or added or "")[:10] or None


def is_expired(dated: str | None, added: str | None, first_kept: str | None) -> bool:
    when = age_date(dated, added)
    return bool(first_kept and when and when < first_kept)


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
