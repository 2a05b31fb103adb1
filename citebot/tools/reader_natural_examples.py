"""How each natural question set becomes the reader's examples (reader_natural.py says which sets,
under which licence): text as written, chunk-sized passages on sentence boundaries, and the near
misses each set makes itself (the same paragraph, section or page without the answer)."""
from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path
from typing import Iterator

from ..index.text.sentences import sentence_spans
from .reader_examples import WINDOW_WORDS, Example, passage, window_holding, windows


# -- text as a person would write it -----------------------------------------------------------
_SPACED = re.compile(r" (?=[,.;:!?)\]%]|'s\b|n't\b|'re\b|'ll\b|'ve\b|'d\b)|(?<=[(\[$]) | (?=-- )|(?<= --) ")


def detokenize(text: str) -> tuple[str, list[int]]:
    """Text from a word tokenizer ("Baker House , built in 1794 .") as written ("Baker House, built
    in 1794."), with each old character's new offset (a removed space maps where it stood): a reader
    that saw spaced punctuation only in its positives would learn the punctuation."""
    drop = {m.start() for m in _SPACED.finditer(text)}
    drop |= {m.start() + 1 for m in re.finditer(r"``|''", text)}
    out, where, n = [], [], 0
    for i, ch in enumerate(text):
        where.append(n)
        if i in drop:
            continue
        out.append('"' if ch in "`'" and text[i:i + 2] in ("``", "''") else ch)
        n += 1
    where.append(n)
    return "".join(out), where


# -- Natural Questions (QED) --------------------------------------------------------------------
def qed_rows(paths: list[Path]) -> Iterator[dict]:
    """QED rows as (title, text, sentence spans, answer span, question), punctuation as written."""
    for p in paths:
        for line in p.open(encoding="utf-8"):
            if not line.strip():
                continue
            r = json.loads(line)
            raw = r["paragraph_text"]
            text, where = detokenize(raw)
            starts = list(r["sentence_starts"]) + [len(raw)]
            spans = [(where[a], where[b]) for a, b in zip(starts, starts[1:])]
            spans = [(a + len(text[a:b]) - len(text[a:b].lstrip()), b - (len(text[a:b]) - len(text[a:b].rstrip())))
                     for a, b in spans]
            spans = [(a, b) for a, b in spans if b > a]
            given = r.get("answer_spans") or [(a["start"], a["end"]) for group in r.get("original_nq_answers") or []
                                               for a in group[:1]]  # the dev file keeps NQ's own answers
            answers = [(where[a], where[b]) for a, b in given]
            yield {"id": str(r["example_id"]), "title": r.get("title_text") or "", "text": text, "spans": spans,
                   "answers": answers, "question": r["question_text"].strip()}


def qed_examples(rows: Iterator[dict], rng: random.Random) -> Iterator[Example]:
    """Each question: its paragraph (or a chunk-sized window of it) answers; the same paragraph
    without the sentences that hold the answer is a near miss."""
    for r in rows:
        text, spans, answers = r["text"], r["spans"], r["answers"]
        if not spans or not answers:
            continue
        q = r["question"][0].upper() + r["question"][1:]
        q = q if q.endswith("?") else q + "?"
        a0, b0 = answers[0]
        got = window_holding(text, spans, a0, rng)
        if got is None:
            continue
        t, sp, k, off = got
        span = (a0 - off, b0 - off) if b0 - off <= len(t) else None
        yield Example(q, r["title"], t, sp, 1, k, span, "nq", f"nq:{r['title']}")
        holding = {i for i, (a, b) in enumerate(spans) for x, y in answers if a < y and x < b}
        for part in _runs_without(spans, holding):
            i, j = part
            if sum(len(text[a:b].split()) for a, b in spans[i:j]) < 20:
                continue
            tt, ss = passage(text, spans, i, min(j, i + _fits(text, spans, i)))
            if any(text[x:y].lower() in tt.lower() for x, y in answers):
                continue
            yield Example(q, r["title"], tt, ss, 0, kind="nq-near-miss", article=f"nq:{r['title']}")
            break


def _runs_without(spans: list, holding: set[int]) -> list[tuple[int, int]]:
    """Contiguous runs of sentences holding no answer, longest first."""
    runs, i = [], 0
    while i < len(spans):
        if i in holding:
            i += 1
            continue
        j = i
        while j < len(spans) and j not in holding:
            j += 1
        runs.append((i, j))
        i = j
    return sorted(runs, key=lambda r: r[0] - r[1])


def _fits(text: str, spans: list, i: int) -> int:
    """How many sentences from i fit a chunk-sized window (at least one)."""
    n, words = 0, 0
    for a, b in spans[i:]:
        w = len(text[a:b].split())
        if n and words + w > WINDOW_WORDS:
            break
        n, words = n + 1, words + w
    return max(1, n)


# -- BoolQ ---------------------------------------------------------------------------------------
def boolq_examples(path: Path, rng: random.Random, max_words: int = 130) -> Iterator[Example]:
    """A yes/no query and the passage that answers it (short passages only: a window cut from a
    long one may have lost what answers)."""
    for line in path.open(encoding="utf-8"):
        if not line.strip():
            continue
        r = json.loads(line)
        text = r["passage"].replace("``", '"').replace("''", '"').strip()
        if len(text.split()) > max_words:
            continue
        q = r["question"].strip()
        q = q[0].upper() + q[1:] + ("" if q.endswith("?") else "?")
        spans = sentence_spans(text, "en")
        yield Example(q, r.get("title", ""), text, spans, 1, -1, None, "boolq", f"boolq:{r.get('title', '')}")


# -- SelQA ---------------------------------------------------------------------------------------
def selqa_examples(path: Path, rng: random.Random) -> Iterator[Example]:
    """A section's sentences joined as a passage: the window holding the answering sentence
    answers; a window of the same section without any answering sentence does not."""
    for r in json.loads(path.read_text(encoding="utf-8")):
        cands = [c.strip() for c in r["candidates"]]
        if not cands:
            continue
        text, spans, pos = "", [], 0
        for c in cands:
            spans.append((pos, pos + len(c)))
            text += c + " "
            pos += len(c) + 1
        text = text.rstrip()
        answers = set(r.get("answers") or [])
        title = f"{r.get('article', '')}: {r.get('section', '')}".strip(": ")
        kind = "selqa-paraphrase" if r.get("is_paraphrase") else "selqa"
        art = f"selqa:{r.get('article', '')}"
        ws = windows(text, spans)
        if answers:
            k = rng.choice(sorted(answers))
            holding = [(i, j) for i, j in ws if i <= k < j]
            if holding:
                i, j = rng.choice(holding)
                t, sp = passage(text, spans, i, j)
                yield Example(r["question"], title, t, sp, 1, k - i, None, kind, art)
        free = [(i, j) for i, j in ws if not any(i <= a < j for a in answers)]
        if free:
            i, j = rng.choice(free)
            t, sp = passage(text, spans, i, j)
            yield Example(r["question"], title, t, sp, 0, kind=kind + "-near-miss", article=art)


# -- TimeQA --------------------------------------------------------------------------------------
def timeqa_examples(paths: list[Path], rng: random.Random, negatives: int = 2) -> Iterator[Example]:
    """The window of the page that holds the answer, and windows of the same page that hold none
    (the same subject in other periods): the question's years decide. A question the page does
    not answer gives negatives only."""
    for p in paths:
        for line in gzip.open(p, "rt", encoding="utf-8"):
            if not line.strip():
                continue
            r = json.loads(line)
            text, where = detokenize(r["context"])
            starts = [where[a] for a, t in zip(r.get("from") or [], r.get("targets") or []) if t]
            ends = [where[b] for b, t in zip(r.get("end") or [], r.get("targets") or []) if t]
            spans = sentence_spans(text, "en")
            if not spans:
                continue
            subject = r["idx"].split("#")[0].rsplit("/", 1)[-1].replace("_", " ")
            art = f"timeqa:{subject}"
            q = r["question"].strip()
            if starts:
                got = window_holding(text, spans, starts[0], rng)
                if got is not None:
                    t, sp, k, off = got
                    span = (starts[0] - off, ends[0] - off) if ends[0] - off <= len(t) else None
                    yield Example(q, subject, t, sp, 1, k, span, "timeqa", art)
            targets = [t.lower() for t in r.get("targets") or [] if t]
            ws = [(i, j) for i, j in windows(text, spans)
                  if not any(i <= _sentence_at(spans, s) < j for s in starts)]
            ws = [w for w in ws if not any(t in text[spans[w[0]][0]:spans[w[1] - 1][1]].lower() for t in targets)]
            dated = [w for w in ws if re.search(r"\b(1[5-9]|20)\d\d\b", text[spans[w[0]][0]:spans[w[1] - 1][1]])]
            for i, j in rng.sample(dated or ws, min(negatives, len(dated or ws))):
                t, sp = passage(text, spans, i, j)
                yield Example(q, subject, t, sp, 0, kind="timeqa-other-period" if starts else "timeqa-unanswered",
                              article=art)


def _sentence_at(spans: list[tuple[int, int]], at: int) -> int:
    return next((i for i, (a, b) in enumerate(spans) if a <= at < b or at < a), len(spans) - 1)
