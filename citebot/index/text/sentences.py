"""Sentence spans of clean article text, with character offsets: syntok for English (and any
Latin-script text), razdel for Russian and Ukrainian. syntok is built for Western languages: on
the Russian XQuAD paragraphs (89 sentences) it missed 2 boundaries ("… = c. Решение …",
"… BSkyB. По …") and split "Проф. А. С. Иванов" after "Проф."; razdel, made for Russian, got
them all."""
from __future__ import annotations

import re

from .languages import detect
from ..extras import available

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


def sentence_spans(text: str, lang: str | None = None) -> list[tuple[int, int]]:
    """(start, end) of every sentence, stripped of surrounding whitespace; never crosses a paragraph.
    `lang`: the text's language when known; None tells it from the text."""
    if (lang or detect(text)) in ("ru", "uk") and available("razdel"):  # citebot[multilingual]; else syntok
        return _razdel_spans(text)
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


def _razdel_spans(text: str) -> list[tuple[int, int]]:
    from razdel import sentenize

    spans: list[tuple[int, int]] = []
    for p_start, p_end in paragraph_spans(text):
        para = text[p_start:p_end]
        found = [(p_start + s.start, p_start + s.stop) for s in sentenize(para) if s.text.strip()]
        spans.extend(found or [(p_start, p_end)])
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
