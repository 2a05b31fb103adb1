"""Read article files (txt, md, html, json, jsonl) from files and folders into clean Articles.

A file that cannot be read or parsed is reported through `on_problem` and skipped: one bad file
in a scraped pile must not stop a build.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import urlparse

from .cleaning import clean_article_text
from .records import Article

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"}
MAX_FILE_BYTES = 50 * 1024 * 1024

ProblemHandler = Callable[[str], None]


class ArticleError(ValueError):
    """A file's content is not an article we can use; the message says why in a few words."""


def decode(data: bytes) -> str:
    """UTF-8 when it is; otherwise the most likely encoding, never an exception."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return str(best)
    return data.decode("cp1252", errors="replace")


def content_hash(a: Article) -> str:
    h = hashlib.sha256()
    for part in (a.title, a.text, a.url, a.published, a.author, a.source):
        h.update((part or "").encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


def _site(url: str | None) -> str | None:
    if not url:
        return None
    host = urlparse(url).netloc.lower()
    return host[4:] if host.startswith("www.") else (host or None)


def _finish(article_id: str, title: str | None, body: str, *, path: str, url: str | None = None,
            published: object = None, author: str | None = None, source: str | None = None) -> Article:
    cleaned = clean_article_text(body, title=title, author=author, published=published)
    if not cleaned.text.strip():
        raise ArticleError("no article text")
    art = Article(
        id=article_id, title=cleaned.title or Path(path).stem, text=cleaned.text, url=url or None,
        published=cleaned.published, author=cleaned.author, source=source or _site(url), path=path,
    )
    art.content_hash = content_hash(art)
    return art


_FRONT = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*\n", re.DOTALL)


def _front_matter(text: str) -> tuple[dict, str]:
    """Simple `key: value` front matter, as static-site and scraper exports write it."""
    m = _FRONT.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group("meta").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            meta[k.strip().lower()] = v.strip().strip("'\"")
    return meta, text[m.end():]


def _markdown_to_text(md: str) -> str:
    md = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", md)  # images
    md = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", md)  # links keep their words
    md = re.sub(r"(\*\*|__)(.+?)\1", r"\2", md)
    md = re.sub(r"(?<!\w)([*_])(\S(?:.*?\S)?)\1(?!\w)", r"\2", md)  # *emphasis*
    md = re.sub(r"^\s{0,3}>\s?", "", md, flags=re.MULTILINE)
    md = re.sub(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$", "", md, flags=re.MULTILINE)  # rules
    return md


def _load_text(path: Path, rel: str, markdown: bool) -> list[Article]:
    meta, body = _front_matter(decode(path.read_bytes()))
    title = meta.get("title")
    if markdown:
        body = _markdown_to_text(body)
        if not title:
            m = re.search(r"^\s{0,3}#\s+(.+)$", body, flags=re.MULTILINE)
            title = m.group(1).strip() if m else None
    return [_finish(meta.get("id") or rel, title, body, path=rel, url=meta.get("url"),
                    published=meta.get("published") or meta.get("date"), author=meta.get("author"),
                    source=meta.get("source"))]


def _load_html(path: Path, rel: str) -> list[Article]:
    import trafilatura

    html = decode(path.read_bytes())
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                      include_tables=False)
    if doc is None:
        raise ArticleError("no article text found in the HTML")
    d = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    body = d.get("text") or ""
    return [_finish(d.get("url") or rel, d.get("title"), body, path=rel, url=d.get("url"),
                    published=d.get("date"), author=d.get("author"), source=d.get("sitename"))]


def _from_record(obj: object, rel: str, n: int | None) -> Article:
    if not isinstance(obj, dict):
        raise ArticleError("an article must be a JSON object")
    text = obj.get("text") or obj.get("content") or obj.get("body")
    if not isinstance(text, str) or not text.strip():
        raise ArticleError("article has no 'text'")
    url = obj.get("url") if isinstance(obj.get("url"), str) else None
    art_id = obj.get("id")
    if art_id is None or art_id == "":
        art_id = url or (rel if n is None else f"{rel}#{n}")
    title = obj.get("title")
    return _finish(str(art_id), str(title) if title else None, text, path=rel, url=url,
                   published=obj.get("published") or obj.get("date"),
                   author=_str(obj.get("author")), source=_str(obj.get("source")))


def _str(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, list):
        return ", ".join(str(x) for x in v) or None
    return str(v) or None


def _load_json(path: Path, rel: str, on_problem: ProblemHandler) -> list[Article]:
    try:
        data = json.loads(decode(path.read_bytes()))
    except json.JSONDecodeError as e:
        raise ArticleError(f"invalid JSON (line {e.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, dict):
        return [_from_record(data, rel, None)]
    if not isinstance(data, list):
        raise ArticleError("expected an article object or a list of them")
    return _records(data, rel, on_problem, "item")


def _load_jsonl(path: Path, rel: str, on_problem: ProblemHandler) -> list[Article]:
    records: list[object] = []
    for lineno, line in enumerate(decode(path.read_bytes()).splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            on_problem(f"{rel}: line {lineno}: invalid JSON, skipped")
            records.append(None)
    return _records(records, rel, on_problem, "line")


def _records(items: list, rel: str, on_problem: ProblemHandler, unit: str) -> list[Article]:
    out = []
    for n, obj in enumerate(items):
        if obj is None:
            continue
        try:
            out.append(_from_record(obj, rel, n))
        except ArticleError as e:
            on_problem(f"{rel}: {unit} {n + 1}: {e}, skipped")
    return out


def iter_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str]]:
    """(file, id-path) pairs; the id-path is relative to the folder given, so ids survive moves of it."""
    for p in paths:
        root = Path(p)
        if root.is_dir():
            for f in sorted(root.rglob("*")):
                if f.is_file() and f.suffix.lower() in SUFFIXES and not any(
                        part.startswith(".") for part in f.relative_to(root).parts):
                    yield f, f.relative_to(root).as_posix()
        else:
            yield root, root.name


def load_file(path: Path, rel: str, on_problem: ProblemHandler) -> list[Article]:
    suffix = path.suffix.lower()
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ArticleError(f"file over {MAX_FILE_BYTES // 2**20} MB")
    if suffix in (".html", ".htm"):
        return _load_html(path, rel)
    if suffix == ".json":
        return _load_json(path, rel, on_problem)
    if suffix == ".jsonl":
        return _load_jsonl(path, rel, on_problem)
    if suffix in (".md", ".markdown"):
        return _load_text(path, rel, markdown=True)
    if suffix == ".txt":
        return _load_text(path, rel, markdown=False)
    raise ArticleError(f"unsupported file type '{suffix or path.name}'")


def file_stamp(stat: os.stat_result) -> str:
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def load_articles(paths: Iterable[str | Path], on_problem: ProblemHandler) -> list[Article]:
    """All readable articles under `paths`; each problem is reported once and skipped.

    Two articles with the same id: the first wins and the second is reported.
    """
    return load_changed(paths, on_problem, {})[0]


def load_changed(paths: Iterable[str | Path], on_problem: ProblemHandler,
                 known: dict[str, str]) -> tuple[list[Article], set[str]]:
    """Like load_articles, but files whose stamp (size, mtime) equals `known[file]` are not read:
    they are returned apart as unchanged. Re-parsing a whole archive of scraped pages on every
    update would cost minutes; like make and rsync, an unchanged size and mtime means unchanged."""
    articles: dict[str, Article] = {}
    unchanged: set[str] = set()
    for path, rel in iter_files(paths):
        try:
            if not path.exists():
                raise ArticleError("no such file or folder")
            file = os.path.abspath(path)
            stamp = file_stamp(path.stat())  # taken before reading: a file edited meanwhile is read again next time
            if known.get(file) == stamp:
                unchanged.add(file)
                continue
            loaded = load_file(path, rel, on_problem)
        except (ArticleError, OSError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            on_problem(f"{path}: {reason}, skipped")
            continue
        except Exception as e:  # a parser crashing on a hostile file must not stop the build
            on_problem(f"{path}: unreadable ({type(e).__name__}: {e}), skipped")
            continue
        for art in loaded:
            if art.id in articles:
                on_problem(f"{path}: duplicate article id '{art.id}', skipped")
                continue
            art.file, art.file_stamp = file, stamp
            articles[art.id] = art
    return list(articles.values()), unchanged
