"""Sentence spans of clean article text (syntok: fast, and it gives character offsets)."""
from __future__ import annotations

import re

_PARA = re.compile(r"\n\s*\n")


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _PARA.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence, stripped of surrounding whitespace; never crosses a paragraph."""
    from syntok import segmenter

    spans: list[tuple[int, int]] = []
    for p_start, p_end in paragraph_spans(text):
        para = text[p_start:p_end]
        try:
            for para_sents in segmenter.analyze(para):
                for sent in para_sents:
                    if not sent:
                        continue
                    s = sent[0].offset
                    e = sent[-1].offset + len(sent[-1].value)
                    spans.append((p_start + s, p_start + e))
        except Exception:  # a tokenizer edge case must not lose the paragraph
            spans.append((p_start, p_end))
    return _fill_gaps(text, spans)


def _fill_gaps(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """syntok drops some trailing characters (closing quotes, stray symbols); glue them back on."""
    out: list[tuple[int, int]] = []
    for i, (s, e) in enumerate(spans):
        nxt = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        gap = text[e:nxt]
        if gap.strip() and "\n\n" not in gap:
            e = e + len(gap.rstrip())
        elif gap.strip():
            e = e + len(gap.split("\n\n")[0].rstrip())
        out.append((s, e))
    return out
