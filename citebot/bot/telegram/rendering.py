"""Answers as Telegram HTML: every piece of article text escaped, the best sentence in bold,
messages split on extract boundaries so none passes Telegram's 4096-character limit."""
from __future__ import annotations

from html import escape

from ..render import also_line, citation_parts, extract_pieces, flatten, human_date, is_web_link, not_found, paragraphs

TELEGRAM_LIMIT = 4096


def esc(text: str) -> str:
    """Article text as Telegram HTML: every <, >, & and quote escaped."""
    return escape(text, quote=True)


def cut(text: str, n: int) -> str:
    """At most `n` characters, an ellipsis where it was cut."""
    return text if len(text) <= n else text[:n - 1] + "…"


def citation_html(hit) -> str:
    parts = citation_parts(hit)
    bits = [f"<i>{esc(cut(flatten(parts[0]), 300))}</i>"]
    who = hit.source or hit.extra.get("author")
    if who:
        bits.append(esc(cut(flatten(who), 100)))
    date = human_date(hit.published)
    if date:
        bits.append(esc(date))
    if is_web_link(hit.url) and len(hit.url) <= 1000:  # a javascript: URL gets no link
        bits.append(f'<a href="{esc(flatten(hit.url).strip())}">link</a>')
    line = "— " + " · ".join(bits)
    also = also_line(hit)
    return line + f"\n<i>{esc(cut(flatten(also), 300))}</i>" if also else line


def hit_html(hit, number: int, room: int = TELEGRAM_LIMIT) -> str:
    """«extract with the <b>best sentence</b>» and its citation line."""
    lead, before, high, after, tail = extract_pieces(hit)
    before, high, after = paragraphs(before), paragraphs(high), paragraphs(after)
    cite = citation_html(hit)
    body = f"{number}. «{lead}{esc(before)}<b>{esc(high)}</b>{esc(after)}{tail}»\n{cite}"
    if len(body) <= room:
        return body
    # Only a pathological article (a "sentence" of thousands of characters) gets here: keep the
    # start of the best sentence, cut as plain text before escaping so no tag or entity breaks.
    keep = max(50, (room - len(cite) - 40) // 6)  # escaping can grow text up to 6x ("&quot;")
    return f"{number}. «<b>{esc(cut(high, keep))}</b>»\n{cite}"


def answer_messages(answer, offset: int = 0, caution: str | None = None) -> list[str]:
    """One or more message texts, each within the limit, never split inside an extract; an
    answer under the sure confidence opens with `caution` (check these passages)."""
    if not answer.answer_found:
        return [esc(not_found(answer))]
    messages, current = [], ""
    if caution and answer.tentative and offset == 0:
        current = f"<i>{esc(caution)}</i>"
    for i, hit in enumerate(answer.hits, offset + 1):
        block = hit_html(hit, i)
        if current and len(current) + 2 + len(block) > TELEGRAM_LIMIT:
            messages.append(current)
            current = ""
        current = f"{current}\n\n{block}" if current else block
    if current:
        messages.append(current)
    return messages
