"""Turn a scraped page's text into the article's own sentences, once each, plus its metadata.

Scraped news text repeats the headline, glues image captions to themselves and their credit
("Jane DoeJane Doe Reuters"), and sprinkles by-lines, "Published:" stamps, section labels and a
trailing "You may like" block through the body. The rules below drop that furniture, keep every
sentence of the article once and lift the by-line and date into metadata.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .controls import one_line, strip_controls
from .dates import to_iso_date

_AGENCIES = {
    "reuters", "getty", "getty images", "ap", "afp", "pa", "pa media", "pa wire", "epa", "alamy",
    "shutterstock", "bloomberg", "anadolu", "ap photo", "rex", "rex features", "x", "twitter",
    "instagram", "facebook", "youtube", "handout", "supplied", "file photo", "gb news",
}
_TRAILER = re.compile(
    r"^(you may (also )?like|you might (also )?like|related (articles|stories|news|topics)|"
    r"more (from|on this story|stories)|most (read|popular)|recommended( for you)?|"
    r"trending( now)?|read (more|next)|also read|sign up|subscribe|follow us|share this article)\b",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^by\s+(?P<name>[^\s].{1,80})$", re.IGNORECASE)
_STAMP = re.compile(
    r"^(?P<kind>published|updated|posted|last updated|first published|modified)(\s+on)?\s*[:\-]?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_STAMP_INLINE = re.compile(r"(?P<kind>published|posted)(\s+on)?\s*:?\s*(?P<rest>\S.*)$", re.IGNORECASE)
_TIME_ONLY = re.compile(r"^[-–|•\s]*\d{1,2}[:.]\d{2}\s*([ap]\.?m\.?|bst|gmt|utc|cet|et|pt)?\s*$", re.IGNORECASE)
_END_PUNCT = tuple('.!?:;"”’\')]…')
_WS = re.compile(r"[ \t\u00a0\u2009\u202f]+")


@dataclass
class Cleaned:
    """A page or file as clean text: its title, its own paragraphs verbatim (furniture dropped
    whole), the metadata the page states, and where something was dropped (an extract never
    splices across such a place)."""
    title: str
    text: str
    author: str | None = None
    published: str | None = None
    gaps: list[int] = field(default_factory=list)  # offsets in `text` where something was dropped before


def _norm(s: str) -> str:
    return re.sub(r"\W+", " ", s).strip().lower()


def _is_credit(line: str) -> bool:
    """A photo credit or agency name standing alone: "REUTERS", "AFP via Getty Images"."""
    words = line.split()
    if not words or len(words) > 6 or line.endswith((".", "?", "!")):
        return False
    parts = [p for p in re.split(r"\s*(?:/|\bvia\b|,|;|&|\band\b)\s*", line.lower()) if p]
    if parts and all(p.strip(" .") in _AGENCIES for p in parts):
        return True
    return False


def _is_label(line: str) -> bool:
    """Section labels and credits written in capitals: "LATEST DEVELOPMENTS:", "REUTERS"."""
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and len(line.split()) <= 8 and not any(c.islower() for c in letters)


MAX_CAPTION_LINE = 1200  # a glued caption is two copies of a caption and a credit: longer lines are text
MAX_CREDIT = 60


def _glued_caption_parts(line: str) -> str | None:
    """The credit after a caption glued to itself ("Crowds at the harbourCrowds at the harbour
    Getty Images"), or None. The caption is at least 6 characters and the credit at most 60, so
    only ~35 split points are possible: linear time (a backtracking regex was quadratic, 67 s on
    a 1 MB line)."""
    n = len(line)
    if n < 12 or n > MAX_CAPTION_LINE:
        return None
    for size in range(max(6, (n - MAX_CREDIT - 2) // 2), n // 2 + 1):
        rest = line[size:].lstrip()
        if rest.startswith(line[:size]):
            credit = rest[size:].strip()
            if len(credit) <= MAX_CREDIT:
                return credit
    return None


def _is_glued_caption(line: str) -> bool:
    credit = _glued_caption_parts(line)
    if credit is None:
        return False
    return not credit or _is_credit(credit) or _is_label(credit) or len(credit.split()) <= 3


def _looks_like_name(text: str) -> bool:
    words = text.split()
    return 1 <= len(words) <= 5 and all(w[:1].isupper() or w.lower() in {"and", "de", "van", "von", "al"} for w in words)


def _continues(group: list[str], line: str) -> bool:
    """A wrapped line continues its paragraph; a line after a finished sentence or a short
    heading-like line starts a new one, unless a bracket is still open ("(H" before "2O")."""
    opened = sum(ln.count("(") - ln.count(")") + ln.count("[") - ln.count("]") for ln in group[-8:])
    if opened > 0:
        return True
    prev = group[-1]
    return not prev.endswith(_END_PUNCT) and not (len(prev) < 60 and not line[:1].islower())


def clean_article_text(raw: str, title: str | None = None, author: str | None = None,
                       published: str | None = None) -> Cleaned:
    """Clean `raw` text; `title`/`author`/`published` from richer metadata win over what is found.

    Quotes must never splice the source, so furniture is dropped only as whole paragraphs or
    from the edges of one, never from inside it (a line "2O" inside "H\n2O\n2" stays), and each
    place where something was dropped between two kept paragraphs is recorded in `gaps`: an
    extract never reaches across one."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = strip_controls(text).encode("utf-8", "replace").decode("utf-8")  # escape sequences, lone surrogates
    lines = [_WS.sub(" ", ln).strip() for ln in text.split("\n")]
    if not title:
        title = next((ln.lstrip("# ").strip() for ln in lines if ln.strip()), "")
    title = _WS.sub(" ", one_line(title)).strip()
    ntitle = _norm(title)

    # Metadata first: by-lines and stamps can sit anywhere above the body.
    found_author, found_date = None, None
    for ln in lines:
        m = _BYLINE.match(ln)
        if m and not found_author and not ln.endswith((".", "?", "!")) and len(ln.split()) <= 10:
            name = re.split(r"\s*[,|•·–-]\s+|\s+-\s+", m.group("name"))[0].strip()
            if _looks_like_name(name):
                found_author = name
        m = _STAMP.match(ln) or (len(ln.split()) <= 15 and _STAMP_INLINE.search(ln))
        if m and not found_date and m.group("kind").lower() in {"published", "posted", "first published"}:
            found_date = to_iso_date(re.split(r"\s[·|•]\s", m.group("rest"))[0])
    author = author or found_author
    published = to_iso_date(published) or found_date
    nauthor = _norm(author) if author else None

    # Cut the trailing "You may like" block (only in the latter part: a mid-text "Read more" is a link).
    nonempty = [i for i, ln in enumerate(lines) if ln]
    if nonempty:
        half = nonempty[len(nonempty) // 2]
        for i, ln in enumerate(lines):
            if i >= half and len(ln.split()) <= 6 and _TRAILER.match(ln):
                lines = lines[:i]
                break

    def furniture(ln: str) -> bool:
        nln = _norm(ln)
        return bool(
            not nln
            or nln == ntitle
            or (nauthor is not None and nln == nauthor)
            or (_BYLINE.match(ln) and len(ln.split()) <= 10 and not ln.endswith((".", "?", "!")))
            or _STAMP.match(ln) and len(ln) <= 60
            or _TIME_ONLY.match(ln)
            or _is_credit(ln)
            or _is_label(ln)
            or _is_glued_caption(ln)
            or (len(ln) <= 40 and to_iso_date(ln) is not None and len(ln.split()) <= 5 and not ln.endswith("."))
        )

    # Paragraphs as the page has them, then furniture off their edges; a paragraph left empty goes.
    groups: list[list[str]] = []
    for ln in lines:
        ln = ln.lstrip("#").strip() if ln.startswith("#") else ln
        if not ln:
            if groups and groups[-1]:
                groups.append([])
            continue
        if groups and groups[-1] and _continues(groups[-1], ln):
            groups[-1].append(ln)
        else:
            if groups and not groups[-1]:
                groups.pop()
            groups.append([ln])

    paragraphs: list[str] = []
    gaps: list[int] = []
    seen: set[str] = set()
    offset, dropped = 0, False
    for group in groups:
        lo, hi = 0, len(group)
        while lo < hi and furniture(group[lo]):
            lo += 1
        while hi > lo and furniture(group[hi - 1]):
            hi -= 1
        para = " ".join(group[lo:hi])
        key = _norm(para)
        if not key or key in seen:
            dropped = dropped or bool(group)
            continue
        seen.add(key)
        if paragraphs:
            offset += 2  # the "\n\n" between paragraphs
            if dropped or lo > 0:
                gaps.append(offset)
        paragraphs.append(para)
        offset += len(para)
        dropped = hi < len(group)
    return Cleaned(title=title, text="\n\n".join(paragraphs), author=author, published=published, gaps=gaps)
