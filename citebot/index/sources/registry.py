"""The recorded sources of an index, and how each last refresh went.

The list of sources (with each feed's validators and the articles removed by hand) lives in the
generation manifest, so it changes exactly when the articles do: a refresh killed half-way leaves
both as they were. How the last refresh of each source went (when, and its error) is advice for
people, kept in INDEX_DIR/sources-status.json, replaced atomically; losing it loses nothing.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .base import SourceSpec

STATUS_FILE = "sources-status.json"


def recorded(manifest: dict | None) -> list[SourceSpec]:
    return [SourceSpec.from_dict(d) for d in (manifest or {}).get("sources", [])]


def manifest_entry(specs: list[SourceSpec]) -> list[dict]:
    return [s.to_dict() for s in specs]


@dataclass
class SourceStatus:
    refreshed: str | None = None  # when it was last read (UTC, ISO)
    ok: str | None = None  # when it was last read without an error
    error: str | None = None  # the last refresh's error, None when it went well
    failed_items: int = 0  # feed items that could not be read last time


def read_status(index_dir: Path) -> dict[str, SourceStatus]:
    try:
        data = json.loads((Path(index_dir) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = SourceStatus(**{k: v for k, v in value.items() if k in SourceStatus.__dataclass_fields__})
    return out


def write_status(index_dir: Path, updates: dict[str, SourceStatus], keep: set[str]) -> None:
    """Merge `updates` into the status file, keeping only the sources in `keep` (the recorded ones)."""
    status = {k: v for k, v in read_status(index_dir).items() if k in keep}
    status.update({k: v for k, v in updates.items() if k in keep})
    path = Path(index_dir) / STATUS_FILE
    tmp = path.with_name(f".{STATUS_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps({k: asdict(v) for k, v in status.items()}, indent=1), encoding="utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
