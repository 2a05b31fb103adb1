"""One copy per story in an answer: the hits of several copies of one story (grouped at index
time, see citebot/index/duplicates.py) shown once, from the earliest copy, with the others listed."""
from __future__ import annotations

from ..records import Hit


def _when(h: Hit) -> str:
    return h.published or h.extra.get("dated") or "9999"


def collapse_duplicates(hits: list[Hit], reader) -> list[Hit]:
    """One copy per story: when hits come from several copies of one story, only the hits of its
    earliest copy among them stay (each extract of that article keeps its own place; the first
    takes the best rank any copy had), and `hit.extra["also"]` lists the story's other copies
    (all indexed ones, earliest first) as dicts with article_id, title, source, url and published.
    Several extracts of one article are not duplicates and all stay."""
    if not hits:
        return hits
    groups = reader.copies([h.article_id for h in hits])  # article id → its group's other copies
    story_of = {}
    for h in hits:
        members = groups.get(h.article_id)
        story_of[h.article_id] = min([h.article_id] + [c.article_id for c in members]) if members else h.article_id
    chosen: dict[str, Hit] = {}  # story → the earliest copy's first hit
    for i, h in enumerate(hits):
        best = chosen.get(story_of[h.article_id])
        if best is None or _when(h) < _when(best):
            chosen[story_of[h.article_id]] = h
    out: list[Hit] = []
    placed: set[str] = set()
    for h in hits:
        story = story_of[h.article_id]
        keep = chosen[story]
        if h.article_id != keep.article_id:
            if story not in placed:  # a later copy ranked first: the earliest copy takes its place
                placed.add(story)
                keep.score = max(keep.score, h.score)
                out.append(keep)
            continue
        if h is keep and story in placed:
            continue
        placed.add(story)
        out.append(h)
    for h in out:
        others = groups.get(h.article_id, [])
        if others:
            h.extra["also"] = [c.as_dict() for c in others]
    return out
