"""Archive exports: a JSON Lines file or a JSON array of articles, read as a stream.

A newsroom's export is one file holding thousands of articles (74 MB for 8,000 is ordinary). Read
whole, it costs its bytes several times over (bytes, text, parsed records) and a whole-file size
cap refuses it; as a list it can be read one article at a time, with the size limit on each
article (a runaway record) rather than on the file. A broken JSONL line is named by its number
and skipped, and the rest is read; a JSON array that stops parsing keeps what came before it.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Iterator

from ..records import Article
from .base import MAX_ARTICLE_BYTES, ProblemHandler
from .parsers import ArticleError, from_record, text_of
_CHUNK = 1 << 20


def _mb(n: int) -> str:
    return f"{n / 2**20:g} MB" if n >= 2**20 else f"{n:,} bytes"


def _article(obj: object, rel: str, n: int, limit: int) -> Article:
    """One record as an article; ArticleError when it is not one or its text is over `limit` bytes."""
    text = obj.get("text") or obj.get("content") or obj.get("body") if isinstance(obj, dict) else None
    if isinstance(text, str) and len(text) > limit // 4 and len(text.encode("utf-8", "replace")) > limit:
        raise ArticleError(f"article over {_mb(limit)}")
    return from_record(obj, rel, n)


def jsonl_articles(fh: io.BufferedIOBase, rel: str, on_problem: ProblemHandler,
                   max_article: int = MAX_ARTICLE_BYTES) -> Iterator[Article]:
    """One article per line. A line over the limit is skipped unread (its bytes are passed over in
    blocks, never held whole)."""
    import json

    lineno = n = 0
    while True:
        line = fh.readline(max_article + 1)
        if not line:
            return
        lineno += 1
        if len(line) > max_article and not line.endswith(b"\n"):
            while (rest := fh.readline(_CHUNK)) and not rest.endswith(b"\n"):
                pass
            on_problem(f"{rel}: line {lineno}: article over {_mb(max_article)}, skipped")
            n += 1
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(text_of(line))
        except (json.JSONDecodeError, ArticleError):
            on_problem(f"{rel}: line {lineno}: invalid JSON, skipped")
            n += 1
            continue
        try:
            yield _article(obj, rel, n, max_article)
        except ArticleError as e:
            on_problem(f"{rel}: line {lineno}: {e}, skipped")
        n += 1


def json_list_articles(path: Path, rel: str, on_problem: ProblemHandler,
                       max_article: int = MAX_ARTICLE_BYTES) -> Iterator[Article] | None:
    """The articles of a JSON array (or of an object's "articles" array), one at a time; None
    when the file holds one article object (then it is read as one article, whole)."""
    import ijson

    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"[":
        prefix = "item"
    elif head[:1] == b"{" and b'"articles"' in _top_keys(path):
        prefix = "articles.item"
    else:
        return None
    return _json_items(path, rel, on_problem, max_article, prefix, ijson)


def _top_keys(path: Path) -> bytes:
    """The top-level keys of a JSON object (without reading its values into memory)."""
    import ijson

    keys = []
    with open(path, "rb") as fh:
        try:
            for prefix, event, value in ijson.parse(fh):
                if prefix == "" and event == "map_key":
                    keys.append(value)
        except ijson.JSONError:
            pass
    return " ".join(f'"{k}"' for k in keys).encode()


def _json_items(path: Path, rel: str, on_problem: ProblemHandler, max_article: int, prefix: str, ijson
                ) -> Iterator[Article]:
    n = 0
    with open(path, "rb") as fh:
        items = ijson.items(fh, prefix, use_float=True)
        while True:
            try:
                obj = next(items)
            except StopIteration:
                return
            except (ijson.JSONError, UnicodeDecodeError) as e:
                why = " ".join(str(e).split())[:80]
                on_problem(f"{rel}: item {n + 1}: invalid JSON ({why}); the {n} article(s) before it are read")
                return
            try:
                yield _article(obj, rel, n, max_article)
            except ArticleError as e:
                on_problem(f"{rel}: item {n + 1}: {e}, skipped")
            n += 1
