"""The on-disk index: immutable segments, and generations that say which segments are served.

    INDEX_DIR/CURRENT            name of the generation being served (replaced with os.replace)
    INDEX_DIR/gen-<stamp>/       manifest.json: settings, counts, id counters, and the segments
                                 served with the article rowids each has had deleted
    INDEX_DIR/segments/seg-<id>/ index.sqlite (articles, chunks, sentences, BM25 vocabulary),
                                 bm25_*.npy (BM25 postings), vectors.faiss

A build writes one new segment; an update writes a segment holding only the new and changed
articles and marks the changed and removed ones deleted in the new generation's manifest, so it
copies nothing already indexed. Either way the new generation only becomes visible when CURRENT
is replaced, so a crash, a kill or a bad input leaves the previous generation serving, and
readers (a running bot) notice the new CURRENT and reopen. Many segments or many deletions make
the next update compact everything into one segment.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path


from ..base import (ArticleState, ChunkRow, IncompatibleIndex, IndexDamaged, IndexProblem, NoIndex,  # noqa: F401
                    check_compatible as _check_compatible)
from .segments import SegmentDamaged, SegmentReader, verify_files

FORMAT_VERSION = 5  # 3: BM25 postings (lexical.py) instead of an FTS5 table; file stamps
# 4: gaps left by cleaning, file sizes and checksums in the manifest
# 5: recorded sources (files, feeds, pages) in the manifest; each article's origin, stamp, source,
#    first-indexed time and near-duplicate group, with MinHash signatures and their LSH bands
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
SEGMENTS = "segments"


def damaged_message(index_dir: Path, problem: str) -> str:
    return (f"the index in {index_dir} is damaged ({problem}): rebuild it with `citebot index build PATH...` "
            "(`citebot index check` lists every damaged file)")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def current_generation(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / CURRENT).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    path = index_dir / name
    return path if name and path.is_dir() else None


def read_manifest(gen: Path) -> dict:
    try:
        return json.loads((gen / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise IndexDamaged(damaged_message(gen.parent, f"{gen / MANIFEST}: {getattr(e, 'strerror', None) or e}")) from None


def check_compatible(manifest: dict, model: str | None) -> None:
    """Refuse an index another citebot format or another embedding model wrote, or another store
    (an index written before stores were named is a local one)."""
    _check_compatible(manifest, model, FORMAT_VERSION)
    if manifest.get("store", "local") != "local":
        raise IncompatibleIndex(f"the index in this folder belongs to the '{manifest.get('store')}' store, "
                                "the settings say local (CITEBOT_STORE)")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def publish(index_dir: Path, manifest: dict) -> Path:
    """Write a generation for `manifest` and make it the served one (atomically); drop what no
    kept generation needs: the new and the previous generation stay (a reader may still be on it)."""
    index_dir = Path(index_dir)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    name = f"gen-{stamp}-{uuid.uuid4().hex[:6]}"
    manifest = {**manifest, "format": FORMAT_VERSION, "generation": name, "built_at": _now(),
                "articles": sum(s["articles"] - len(s["deleted"]) for s in manifest["segments"]),
                "chunks": sum(s["chunks"] - s.get("deleted_chunks", 0) for s in manifest["segments"])}
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    with open(tmp / MANIFEST, "rb") as fh:
        os.fsync(fh.fileno())
    os.rename(tmp, index_dir / name)
    pointer = index_dir / f".{CURRENT}.{name}"
    pointer.write_text(name + "\n")
    with open(pointer, "rb") as fh:
        os.fsync(fh.fileno())
    previous = current_generation(index_dir)
    os.replace(pointer, index_dir / CURRENT)  # the atomic switch
    _fsync_dir(index_dir)
    _collect_garbage(index_dir, keep={name, previous.name if previous else ""})
    return index_dir / name


def _collect_garbage(index_dir: Path, keep: set[str]) -> None:
    for p in index_dir.glob("gen-*"):
        if p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)
    needed: set[str] = set()
    for name in keep:
        try:
            needed.update(s["name"] for s in read_manifest(index_dir / name)["segments"])
        except (IndexProblem, KeyError):
            pass
    for p in (index_dir / SEGMENTS).glob("*"):
        if p.name not in needed:
            shutil.rmtree(p, ignore_errors=True)


def clean_stale(index_dir: Path) -> None:
    """Remove what a killed build left behind (hidden temporary folders)."""
    for p in list(Path(index_dir).glob(".tmp-*")) + list((Path(index_dir) / SEGMENTS).glob(".tmp-*")):
        shutil.rmtree(p, ignore_errors=True)


def generation_size(gen: Path) -> int:
    m = read_manifest(gen)
    return folder_size(gen) + sum(folder_size(gen.parent / SEGMENTS / s["name"]) for s in m["segments"])


def check_generation(gen: Path) -> list[str]:
    """Every damaged file of a generation (sizes and SHA-256 recorded when it was written), one
    line each; then each segment is opened, as a reader would."""
    manifest = read_manifest(gen)
    problems: list[str] = []
    for s in manifest["segments"]:
        folder = gen.parent / SEGMENTS / s["name"]
        found = verify_files(folder, s.get("files", {}), checksums=True)
        if not found:
            try:
                SegmentReader(folder, s.get("deleted", ()), mmap=False).close()
            except SegmentDamaged as e:
                found = [str(e)]
        problems += found
    return problems
