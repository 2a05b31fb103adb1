"""Articles from files and folders in one call, without an index: what tests, benchmarks and the
evaluation read corpora with. The reading itself is the file source's (sources/files.py) and the
formats are the parsers' (sources/parsers.py); this module only strings them together."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .records import Article
from .sources.base import Claims, Context, Known, ProblemHandler
from .sources.files import (MAX_FILE_BYTES, FileSource, file_stamp, iter_files, load_file, missing_paths, read_bytes,
                            spec_for_path)
from .sources.parsers import SUFFIXES, ArticleError, content_hash, decode, looks_binary

__all__ = ["ArticleError", "MAX_FILE_BYTES", "SUFFIXES", "content_hash", "decode", "file_stamp", "iter_files",
           "load_articles", "load_file", "looks_binary", "missing_sources", "read_bytes"]

missing_sources = missing_paths


def load_articles(paths: Iterable[str | Path], on_problem: ProblemHandler) -> list[Article]:
    """All readable articles under `paths`; each problem is reported once and skipped.

    Two articles with the same id: the first wins and the second is reported.
    """
    claims = Claims(on_problem)
    out: list[Article] = []
    for path in paths:
        got = FileSource(spec_for_path(path)).collect(Known(), Context(claims, on_problem))
        if got.error:
            on_problem(f"{path}: no such file or folder, skipped")
        out += got.articles
    return out
