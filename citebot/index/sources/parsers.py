"""Bytes + where they came from → clean Articles, one function per format (txt, md, html, json,
jsonl, a fetched web page). Parsers never open files or sockets: sources do that, so every format
is read the same way from a folder, a feed item or a page URL."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable
from urllib.parse import urlparse

from ..records import Article
from ..text.cleaning import clean_article_text
from ..text.controls import one_line, strip_controls
from ..text.dates import lead_date, years_mentioned

ProblemHandler = Callable[[str], None]
SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"}


class ArticleError(ValueError):
    """Content that is not an article we can use; the message says why in a few words (it may
    quote the content, so control characters are taken out of it)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(one_line(str(message)))


WESTERN_MAX_ACCENTED_SHARE = 0.25  # of the letters: French, German or Spanish text stays far below


def decode(data: bytes, declared: str | None = None) -> str:
    """UTF-8 when it is; then the charset a server declared, if any; then Windows-1252 (a superset
    of Latin-1) when the result reads as Western text; charset guessing only for the rest (e.g.
    cp1251 Russian). Guessing first turned short Latin-1 text ("crème brûlée") into cp1250/cp1257
    mojibake: a quote must say what the source says."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
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


def text_of(data: bytes, declared: str | None = None) -> str:
    """The text of a file or page, escape sequences out before any parser sees it: an HTML
    parser drops a lone ESC byte but keeps the "[2J" after it."""
    if looks_binary(data):
        raise ArticleError("binary file, not text")
    text = decode(data, declared).replace("\r\n", "\n").replace("\r", "\n")
    return strip_controls(text)


def content_hash(a: Article) -> str:
    h = hashlib.sha256()
    for part in (a.title, a.text, a.url, a.published, a.author, a.source):
        h.update((part or "").encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


def site_of(url: str | None) -> str | None:
    if not url:
        return None
    host = urlparse(url).netloc.lower()
    return host[4:] if host.startswith("www.") else (host or None)


def finish(article_id: str, title: str | None, body: str, *, path: str, url: str | None = None,
           published: object = None, author: str | None = None, source: str | None = None) -> Article:
    """Clean the text and fill in what every article has (dates for period questions, the hash
    an update compares)."""
    # metadata came from outside: no escape sequence may reach a terminal, a citation or JSON
    title, author, source, url = one_line(title), one_line(author), one_line(source), one_line(url)
    cleaned = clean_article_text(body, title=title, author=author, published=published)
    if not cleaned.text.strip():
        raise ArticleError("no article text")
    art = Article(
        id=article_id, title=cleaned.title or PurePosixPath(path).stem or path, text=cleaned.text, url=url or None,
        published=cleaned.published, author=cleaned.author, source=source or site_of(url), path=path,
        gaps=cleaned.gaps,
    )
    art.dated = art.published or lead_date(art.text)
    art.years = years_mentioned(art.text)
    art.content_hash = content_hash(art)
    return art


_FRONT = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*\n", re.DOTALL)


def front_matter(text: str) -> tuple[dict, str]:
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


def markdown_to_text(md: str) -> str:
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


def parse_text(text: str, rel: str, markdown: bool) -> list[Article]:
    meta, body = front_matter(text)
    title = meta.get("title")
    if markdown:
        body = markdown_to_text(body)
        if not title:
            m = re.search(r"^\s{0,3}#\s+(.+)$", body, flags=re.MULTILINE)
            title = m.group(1).strip() if m else None
    return [finish(meta.get("id") or rel, title, body, path=rel, url=meta.get("url"),
                   published=meta.get("published") or meta.get("date"), author=meta.get("author"),
                   source=meta.get("source"))]


@dataclass
class PageMeta:
    """What trafilatura finds in a page beside its text."""
    text: str
    title: str | None = None
    url: str | None = None
    date: str | None = None
    author: str | None = None
    sitename: str | None = None


def extract_page(html: str, url: str | None = None) -> PageMeta:
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False)
    if doc is None:
        raise ArticleError("no article text found in the HTML")
    d = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    return PageMeta(d.get("text") or "", d.get("title"), d.get("url"), d.get("date"), d.get("author"),
                    d.get("sitename"))


def parse_html(html: str, rel: str) -> list[Article]:
    page = extract_page(html)
    return [finish(page.url or rel, page.title, page.text, path=rel, url=page.url, published=page.date,
                   author=page.author, source=page.sitename)]


@dataclass
class Hints:
    """What a feed says about an item; the page's own metadata wins where it has some."""
    title: str | None = None
    published: str | None = None
    author: str | None = None
    source: str | None = None


def parse_page(html: str, article_id: str, url: str, hints: Hints | None = None) -> Article:
    """A fetched web page as one article. Its id is the URL it was asked for (stable across
    redirects and tracking parameters a site adds); the citation links where the page says it
    lives (canonical) or where the fetch ended."""
    hints = hints or Hints()
    page = extract_page(html, url)
    return finish(article_id, page.title or hints.title, page.text, path=url, url=page.url or url,
                  published=page.date or hints.published, author=page.author or hints.author,
                  source=page.sitename or hints.source or site_of(url))


def from_record(obj: object, rel: str, n: int | None) -> Article:
    """One article object of a JSON or JSONL file (`n`: its place there, for an id when it has none)."""
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
    return finish(str(art_id), str(title) if title else None, text, path=rel, url=url,
                  published=obj.get("published") or obj.get("date"),
                  author=_str(obj.get("author")), source=_str(obj.get("source")))


def _str(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, list):
        return ", ".join(str(x) for x in v) or None
    return str(v) or None


def parse_json(text: str, rel: str, on_problem: ProblemHandler) -> list[Article]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ArticleError(f"invalid JSON (line {e.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, dict):
        return [from_record(data, rel, None)]
    if not isinstance(data, list):
        raise ArticleError("expected an article object or a list of them")
    return _records(data, rel, on_problem, "item")


def parse_jsonl(text: str, rel: str, on_problem: ProblemHandler) -> list[Article]:
    records: list[object] = []
    for lineno, line in enumerate(text.splitlines(), 1):
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
            out.append(from_record(obj, rel, n))
        except ArticleError as e:
            on_problem(f"{rel}: {unit} {n + 1}: {e}, skipped")
    return out


def parse_file(data: bytes, suffix: str, rel: str, on_problem: ProblemHandler) -> list[Article]:
    """An article file's bytes by its suffix; `rel` is its id-path (relative to the folder given)."""
    suffix = suffix.lower()
    if suffix not in SUFFIXES:
        raise ArticleError(f"unsupported file type '{suffix or rel}'")
    text = text_of(data)
    if suffix in (".html", ".htm"):
        return parse_html(text, rel)
    if suffix == ".json":
        return parse_json(text, rel, on_problem)
    if suffix == ".jsonl":
        return parse_jsonl(text, rel, on_problem)
    return parse_text(text, rel, markdown=suffix in (".md", ".markdown"))
