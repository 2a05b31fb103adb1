"""Where citebot keeps what it learns about this machine rather than about one index: the embedding
precision measured here (precision.py) and the int8 export of a model (int8_passage.py). Both hold
for every index on the machine, so they live in the user's cache, not in an index folder:

    $XDG_CACHE_HOME/citebot/  (else ~/.cache/citebot/)
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import uuid
from pathlib import Path


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "citebot"


def version(package: str) -> str:
    """A package's installed version without importing it ("-" when it is not installed)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def read_json(path: Path) -> dict:
    """The file's object, or {} when it is absent or unreadable (a cache is never a reason to fail)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict) -> None:
    """Written whole or not at all (a reader never sees half a file); a failure is left unsaid."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
