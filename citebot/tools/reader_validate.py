"""Validation that predicts the archive-scale eval, for an exported reader (a weights folder):

    python -m citebot.tools.reader_validate READER_DIR --natural READER_DATA [--json OUT]

- **NQ dev** (QED dev questions, never trained on): the paragraph window holding the answer
  against the same paragraph without its answering sentences (a near miss made by the data):
  AUC of the "answers" probability; and inside the answering window, how often the reader's best
  sentence is the answering one (bold@1) and the AUC of the answering sentence's score against
  the window's other sentences.
- **WikiQA answer triggering**: each question read against its Wikipedia summary (windows of its
  sentences; the best window's probability is the question's): questions that have an answering
  sentence against the 1,245 that have none: AUC, and how many unanswered ones are refused at the
  threshold that refuses at most 5% of the answered ones.

Both sets are *validate* sets (research or dev licences): they choose checkpoints and settings,
never teach a shipped model. Paraphrase-dev against the off-topic near misses comes from
`citebot eval --reader --features` (bench/fit_reader.py prints its AUCs).
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import time
from pathlib import Path

import numpy as np

from ..index.reader.inputs import Passage
from ..index.reader.model import Reader
from .reader_examples import passage, windows
from .reader_export import auc
from .reader_natural import BY_NAME, verify
from .reader_natural_examples import qed_rows


def refused_at(answered: np.ndarray, unanswered: np.ndarray, max_refused: float = 0.05) -> tuple[float, float]:
    """The highest threshold refusing at most `max_refused` of the answered, and the share of the
    unanswered it refuses."""
    threshold = float(np.quantile(answered, max_refused)) if len(answered) else 0.0
    return threshold, float(np.mean(unanswered < threshold)) if len(unanswered) else float("nan")


def nq_dev(reader: Reader, folder: Path, limit: int, rng: random.Random) -> dict:
    rows = list(qed_rows(verify(folder, BY_NAME["nq-qed-dev"])))
    rng.shuffle(rows)
    pos, neg, sent_auc, bold = [], [], [], []
    for r in rows[:limit]:
        text, spans, answers = r["text"], r["spans"], r["answers"]
        if not spans or not answers:
            continue
        q = r["question"][0].upper() + r["question"][1:] + "?"
        k = next((i for i, (a, b) in enumerate(spans) if a <= answers[0][0] < b), None)
        if k is None:
            continue
        ws = [(i, j) for i, j in windows(text, spans) if i <= k < j]
        i, j = ws[0]
        t, sp = passage(text, spans, i, j)
        holding = {x for x, (a, b) in enumerate(spans) for s, e in answers if a < e and s < b}
        free = [x for x in range(len(spans)) if x not in holding]
        near = None
        if free:
            run = max(_runs(free), key=len)
            if sum(len(text[slice(*spans[x])].split()) for x in run) >= 20:
                near = passage(text, spans, run[0], run[-1] + 1)
        passages = [Passage(r["title"], t, sp)] + ([Passage(r["title"], near[0], near[1])] if near else [])
        got = reader.read(q, passages)
        pos.append(got[0].probability)
        if near:
            neg.append(got[1].probability)
        scores = np.asarray(got[0].sentences)
        answer_at = k - i
        finite = np.isfinite(scores)
        if finite.sum() >= 2 and finite[answer_at]:
            bold.append(int(np.argmax(np.where(finite, scores, -1e9)) == answer_at))
            others = [s for x, s in enumerate(scores) if finite[x] and x != answer_at]
            sent_auc.append(float(np.mean([scores[answer_at] > o for o in others])))
    return {"questions": len(pos), "answer_vs_near_miss_auc": auc(np.r_[pos, neg], np.r_[np.ones(len(pos)), np.zeros(len(neg))]),
            "bold_at_1": float(np.mean(bold)) if bold else float("nan"),
            "sentence_auc": float(np.mean(sent_auc)) if sent_auc else float("nan"),
            "near_misses": len(neg)}


def _runs(idx: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for x in idx:
        if runs and runs[-1][-1] == x - 1:
            runs[-1].append(x)
        else:
            runs.append([x])
    return runs


def wikiqa(reader: Reader, folder: Path, limit: int, rng: random.Random) -> dict:
    by: dict[str, dict] = {}
    for p in verify(folder, BY_NAME["wikiqa"]):
        with p.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                d = by.setdefault(row["Question"], {"sentences": [], "labels": [], "title": row.get("DocumentTitle", "")})
                d["sentences"].append(row["Sentence"].strip())
                d["labels"].append(int(row["Label"]))
    questions = list(by.items())
    rng.shuffle(questions)
    answered, unanswered = [], []
    for q, d in questions[:limit]:
        text, spans, at = "", [], 0
        for s in d["sentences"]:
            spans.append((at, at + len(s)))
            text += s + " "
            at += len(s) + 1
        text = text.rstrip()
        ps = [Passage(d["title"] or "", *passage(text, spans, i, j)) for i, j in windows(text, spans)]
        best = max(r.probability for r in reader.read(q[0].upper() + q[1:], ps[:4]))
        (answered if any(d["labels"]) else unanswered).append(best)
    a, u = np.asarray(answered), np.asarray(unanswered)
    threshold, refused = refused_at(a, u)
    return {"answered": len(a), "unanswered": len(u),
            "auc": auc(np.r_[a, u], np.r_[np.ones(len(a)), np.zeros(len(u))]),
            "threshold_5pct": threshold, "unanswered_refused_at_5pct": refused}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Validate an exported reader on NQ dev and WikiQA (validation sets).")
    ap.add_argument("reader", type=Path, help="a reader weights folder (reader.json, reader.onnx, tokenizer.json)")
    ap.add_argument("--natural", type=Path, required=True, help="the reader-data folder")
    ap.add_argument("--nq", type=int, default=1355, help="NQ dev questions to read")
    ap.add_argument("--wikiqa", type=int, default=1500, help="WikiQA questions to read")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    reader = Reader(args.reader)
    t = time.time()
    out = {"reader": str(args.reader), "nq_dev": nq_dev(reader, args.natural, args.nq, random.Random(1)),
           "wikiqa": wikiqa(reader, args.natural, args.wikiqa, random.Random(2))}
    out["seconds"] = round(time.time() - t, 1)
    text = json.dumps(out, indent=1, default=lambda v: round(v, 4))
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
