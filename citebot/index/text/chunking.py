"""Sentence-aware chunks sized in the embedding model's own tokens.

The model truncates past its maximum sequence length, so a chunk that was too long would be
embedded without its tail and never found by it. Chunks are therefore packed from whole
sentences up to a token budget that leaves room for the title context; a single sentence over
the budget is split between words.
"""
from __future__ import annotations

from typing import Callable, Sequence

from ..records import Article, Chunk
from .sentences import sentence_spans

TokenCounter = Callable[[Sequence[str]], list[int]]


def _split_long(text: str, start: int, end: int, budget: int, count: TokenCounter) -> list[tuple[int, int, int]]:
    """Split one over-long sentence into word-bounded pieces of at most `budget` tokens."""
    words: list[tuple[int, int]] = []
    pos = start
    for w in text[start:end].split():
        s = text.index(w, pos)
        words.append((s, s + len(w)))
        pos = s + len(w)
    counts = count([text[s:e] for s, e in words])
    pieces: list[tuple[int, int, int]] = []
    cur_s, cur_e, cur_n = None, None, 0
    for (s, e), n in zip(words, counts):
        if cur_s is not None and cur_n + n > budget:
            pieces.append((cur_s, cur_e, cur_n))
            cur_s, cur_n = None, 0
        if n > budget:  # one "word" over the budget (a URL, a run of symbols): cut by characters
            step = max(1, (e - s) * budget // (n + 1))
            pieces.extend((cs, min(e, cs + step), budget) for cs in range(s, e, step))
            continue
        if cur_s is None:
            cur_s = s
        cur_e, cur_n = e, cur_n + n
    if cur_s is not None:
        pieces.append((cur_s, cur_e, cur_n))
    return pieces


def chunk_article(article: Article, count: TokenCounter, budget: int, overlap: int = 1) -> list[Chunk]:
    """Chunks of `article.text` of at most `budget` tokens, consecutive ones sharing `overlap` sentences."""
    text = article.text
    spans = sentence_spans(text)
    if not spans:
        return []
    counts = count([text[s:e] for s, e in spans])
    units: list[tuple[int, int, int]] = []
    for (s, e), n in zip(spans, counts):
        if n > budget:
            units.extend(_split_long(text, s, e, budget, count))
        else:
            units.append((s, e, n))

    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and total + units[j][2] <= budget:
            total += units[j][2]
            j += 1
        j = max(j, i + 1)
        start, end = units[i][0], units[j - 1][1]
        chunks.append(Chunk(article_id=article.id, position=len(chunks), start=start, end=end,
                            text=text[start:end], sentences=[(u[0], u[1]) for u in units[i:j]]))
        if j >= len(units):
            break
        i = max(i + 1, j - overlap)
    return chunks


TITLE_CHARS = 100  # a title is context, never so long that it pushes the chunk out of the model's window


def embedding_input(title: str, chunk_text: str) -> str:
    """What the model sees for a chunk: its title as context, capped in characters (a token is
    at least one character, so the cap bounds its tokens too), then the verbatim text."""
    short = " ".join(title.split())
    if len(short) > TITLE_CHARS:
        cut = short[:TITLE_CHARS]
        short = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return f"{short}\n{chunk_text}" if short else chunk_text
