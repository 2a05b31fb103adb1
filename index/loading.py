"""Read article files (txt, md, html, json, jsonl) from files and folders into clean Articles.

A file that cannot be read or parsed is reported through `on_problem` and skipped: one bad file
in a scraped pile must not stop a build.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat as stat_
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import urlparse

from .text.cleaning import clean_article_text
from .text.dates import lead_date, years_mentioned
from .records import Article

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"}
MAX_FILE_BYTES = 50 * 1024 * 1024

ProblemHandler = Callable[[str], None]


class ArticleError(ValueError):
    """A file's content is not an article we can use; the message says why in a few words."""


class PathProblem(ArticleError):
    """A named source that cannot be read at all (missing, not a regular file, too big)."""


WESTERN_MAX_ACCENTED_SHARE = 0.25  # of the letters: French, German or Spanish text stays far below


def decode(data: bytes) -> str:
    """UTF-8 when it is; then Windows-1252 (a superset of Latin-1) when the result reads as Western
    text; charset guessing only for the rest (e.g. cp1251 Russian). Guessing first turned short
    Latin-1 text ("crème brûlée") into cp1250/cp1257 mojibake: a quote must say what the source says."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        western = None
    if western is not None and _reads_as_western(western):
        return western
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return str(best)
    return data.decode("cp1252", errors="replace")


def _reads_as_western(text: str) -> bool:
    """Western European text is mostly ASCII letters with a few accented ones; Cyrillic or Greek
    bytes read as cp1252 come out as runs of accented letters ("Ïðèâåò")."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True
    accented = sum(1 for c in letters if ord(c) > 127)
    return accented / len(letters) <= WESTERN_MAX_ACCENTED_SHARE


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters near the start: an image, an archive, a database."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return bool(head) and controls / len(head) > 0.05


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The file's bytes, refusing what is not a regular file (a FIFO would block, /dev/zero never
    ends) and counting what is read, not what stat says."""
    limit = MAX_FILE_BYTES if limit is None else limit
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat_.S_ISREG(os.fstat(fd).st_mode):
            raise PathProblem("not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ArticleError(f"file over {limit // 2**20} MB")
    return data


def read_text(path: Path) -> str:
    data = read_bytes(path)
    if looks_binary(data):
        raise ArticleError("binary file, not text")
    return decode(data)


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
        gaps=cleaned.gaps,
    )
    art.dated = art.published or lead_date(art.text)
    art.years = years_mentioned(art.text)
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
    """Markdown markup off, words kept. Every pattern is bounded in length so that a hostile line
    ("[[[[…" or "*a*b *a*b …" a megabyte long) costs linear time, not a scan per opener."""
    md = re.sub(r"!\[[^\[\]\n]{0,500}\]\([^()\n]{0,2000}\)", "", md)  # images
    md = re.sub(r"\[([^\[\]\n]{1,500})\]\([^()\n]{0,2000}\)", r"\1", md)  # links keep their words
    md = re.sub(r"\*\*([^*\n]{1,500})\*\*|__([^_\n]{1,500})__", lambda m: m.group(1) or m.group(2), md)
    md = re.sub(r"(?<!\w)\*(\S(?:[^*\n]{0,500}\S)?)\*(?!\w)|(?<!\w)_(\S(?:[^_\n]{0,500}\S)?)_(?!\w)",
                lambda m: m.group(1) or m.group(2), md)  # *emphasis*
    md = re.sub(r"^ {0,3}> ?", "", md, flags=re.MULTILINE)
    md = re.sub(r"^ {0,3}([-*_])( *\1){2,} *$", "", md, flags=re.MULTILINE)  # rules
    return md


def _load_text(path: Path, rel: str, markdown: bool) -> list[Article]:
    meta, body = _front_matter(read_text(path))
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

    html = read_text(path)
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
        data = json.loads(read_text(path))
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
    for lineno, line in enumerate(read_text(path).splitlines(), 1):
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


def iter_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str, Path]]:
    """(file, id-path, the source it came from); the id-path is relative to the folder given, so
    ids survive moves of it. Inside a folder only regular article files are taken (no FIFOs,
    devices or hidden files); a file named directly is taken as it is and checked when read."""
    for p in paths:
        root = Path(p)
        if root.is_dir():
            for f in sorted(root.rglob("*")):
                if f.suffix.lower() in SUFFIXES and f.is_file() and not any(
                        part.startswith(".") for part in f.relative_to(root).parts):
                    yield f, f.relative_to(root).as_posix(), root
        else:
            yield root, root.name, root


def load_file(path: Path, rel: str, on_problem: ProblemHandler) -> list[Article]:
    suffix = path.suffix.lower()
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


def missing_sources(paths: Iterable[str | Path]) -> list[str]:
    """The named sources that do not exist: a typo must not read as "every article there is gone"."""
    return [str(p) for p in paths if not os.path.lexists(p)]


def load_articles(paths: Iterable[str | Path], on_problem: ProblemHandler) -> list[Article]:
    """All readable articles under `paths`; each problem is reported once and skipped.

    Two articles with the same id: the first wins and the second is reported.
    """
    return load_changed(paths, on_problem, {}).articles


@dataclass
class Loaded:
    """What an update learns from its sources, beside the articles it read."""
    articles: list[Article] = field(default_factory=list)  # read now: new, changed or the same
    unchanged: set[str] = field(default_factory=set)  # ids of files not read again (same size and mtime)
    kept: set[str] = field(default_factory=set)  # ids of files that failed to read: their indexed version stays


def load_changed(paths: Iterable[str | Path], on_problem: ProblemHandler,
                 indexed: dict[str, tuple[str, list[str]]]) -> Loaded:
    """Read the sources, skipping files whose stamp (size, mtime) equals the one they were indexed
    with (`indexed`: file → (stamp, its article ids)). Re-parsing a whole archive of scraped pages
    on every update would cost minutes; like make and rsync, an unchanged size and mtime means
    unchanged.

    Nothing is lost to a read error: the articles of a file that cannot be read now (or of a
    JSONL file with a broken line) keep their indexed version. Two articles with one id: the first
    in source order wins, whether it was read now or carried over, and the other is reported;
    build and update therefore agree."""
    out = Loaded()
    owner: dict[str, str] = {}  # article id → the file that has it

    def claim(art_id: str, file: str, path: Path) -> bool:
        if art_id in owner and owner[art_id] != file:
            on_problem(f"{path}: duplicate article id '{art_id}' (also in {owner[art_id]}), skipped")
            return False
        owner[art_id] = file
        return True

    paths = list(paths)
    for path, rel, _ in iter_files(paths):
        file = os.path.abspath(path)
        stamp, old_ids = None, indexed.get(file, (None, []))[1]
        try:
            stamp = file_stamp(path.stat())  # taken before reading: a file edited meanwhile is read again next time
            if indexed.get(file, (None,))[0] == stamp:
                out.unchanged.update(i for i in old_ids if claim(i, file, path))
                continue
            partial: list[str] = []

            def record_problem(msg: str) -> None:
                partial.append(msg)
                on_problem(msg)

            loaded = load_file(path, rel, record_problem)
        except (ArticleError, OSError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            keep = [i for i in old_ids if claim(i, file, path)]
            out.kept.update(keep)
            on_problem(f"{path}: {reason}, skipped" + (f" (its {len(keep)} indexed article(s) kept)" if keep else ""))
            continue
        except Exception as e:  # a parser crashing on a hostile file must not stop the build
            keep = [i for i in old_ids if claim(i, file, path)]
            out.kept.update(keep)
            on_problem(f"{path}: unreadable ({type(e).__name__}: {str(e)[:200]}), skipped")
            continue
        for art in loaded:
            if claim(art.id, file, path):
                art.file, art.file_stamp = file, stamp
                out.articles.append(art)
        if partial:  # a broken record: the articles it may have held stay as indexed
            read = {a.id for a in loaded}
            out.kept.update(i for i in old_ids if i not in read and claim(i, file, path))
    return out
