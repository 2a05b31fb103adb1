"""The build stage's records, light enough for the CLI to import at start: what a call asks for
(`Mode`) and what it did (`BuildReport`, whose `to_json()` is the one declared form the CLI's
`--json` prints and the bot's refresh reads back)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Mode(Enum):
    """What a call to the build stage asks for."""
    BUILD = "build"    # the named sources become the recorded ones, every article read and written anew
    UPDATE = "update"  # refresh the named recorded sources (none named: all), recording any new one
    ADD = "add"        # record new sources and index them beside what is indexed (the first creates it)
    REMOVE = "remove"  # drop recorded sources with their articles, or single articles


REPORT_SCHEMA = "citebot.build-report/1"


@dataclass
class BuildReport:
    """What a build, update, add or removal did. `to_json()` is the one declared form of it: the
    CLI's `--json` prints it and the bot's refresh reads it back (`from_json`)."""
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    articles: int = 0
    chunks: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    query_model_error: str | None = None  # why questions will need PyTorch, when the export failed
    expired: int = 0  # articles dropped by retention (counted in `removed` when they were indexed)
    sources: list["SourceReport"] = field(default_factory=list)  # each source read, how it went
    unresolved: list[str] = field(default_factory=list)  # targets neither a source nor a page or feed: skipped
    precision: str | None = None  # the served index's passage vectors: fp32, bf16 or int8 (encoders/precision.py)
    precision_why: str | None = None  # "measured: ...", "set by CITEBOT_EMBEDDING_DTYPE", "cached measurement of ..."

    def counts(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k in ("added", "changed", "removed", "unchanged", "chunks_embedded")}

    def to_json(self) -> dict:
        """{"schema": REPORT_SCHEMA, the counts, "articles" and "chunks" served after, "expired",
        "problems" (one line each), "sources" (each read: location, kind, title, read, error,
        expired, failed_items, items), "unresolved", "query_model_error", "seconds", "precision" and
        "precision_why" (of the served index's vectors; null for an index from before they were recorded)}."""
        return {"schema": REPORT_SCHEMA, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> "BuildReport":
        if data.get("schema") != REPORT_SCHEMA:
            raise ValueError(f"not a {REPORT_SCHEMA} report (schema {data.get('schema')!r})")
        fields = {k: v for k, v in data.items() if k != "schema"}
        fields["sources"] = [SourceReport(**s) for s in fields.get("sources", [])]
        return cls(**fields)


@dataclass
class SourceReport:
    location: str
    kind: str
    title: str | None
    read: int  # articles read now (new, changed or the same)
    error: str | None
    expired: int
    failed_items: int
    items: list[dict]  # title, published, url and id of the articles read (the first few)
