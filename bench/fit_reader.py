"""Fit the reader's decision threshold (index/reader/weights/reader.json) on the dev questions.

    .venv/bin/citebot eval SQUAD.json --questions paraphrase-dev.jsonl \
        --offtopic examples/eval/offtopic-dev.jsonl --distractors examples/articles \
        --distractors wikinews-en.jsonl --sizes 0,2000,all --reader --features /tmp/reader.jsonl
    .venv/bin/python bench/fit_reader.py /tmp/reader.jsonl [--write]
    .venv/bin/python bench/fit_reader.py --smoke   # fits made-up confidences; writes nothing (the tests run it)

The reader's probability is already calibrated (Platt scaling on its validation articles); what is
fitted here is only where "not found" begins: the highest mean refusal of the dev off-topic sets
(absent, near miss, date-bound) that keeps every answerable dev set, at every archive size, at or
under MAX_WRONGLY_REFUSED of its questions refused. SQuAD's unanswerable questions, the held-out
off-topic file and the date questions are left out (reported by `make eval`, never fitted on).
The caution band ("may not answer") runs from there up to `sure`, the probability above which
answerable questions are refused or cautioned at most CAUTIONED of the time at the largest size.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from citebot.index.reader.model import WEIGHTS  # noqa: E402

MAX_WRONGLY_REFUSED = 0.04  # under the 5% promised, for the margin between dev and unseen questions
CAUTIONED = 0.15


def load(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if "unanswerable" not in r["set"] and "test" not in r["set"]
            and ("date" not in r["set"] or "date-bound" in r["set"])]


def refusal_rates(rows: list[dict], threshold: float) -> tuple[dict, dict]:
    by: dict[tuple[str, str, bool], list[bool]] = defaultdict(list)
    for r in rows:
        answerable = r["label"] != 0
        by[(r["size"], r["set"], answerable)].append(r["confidence"] < threshold)
    answerable = {(s, n): float(np.mean(v)) for (s, n, a), v in by.items() if a}
    refuse = {(s, n): float(np.mean(v)) for (s, n, a), v in by.items() if not a}
    return answerable, refuse


def separations(rows: list[dict]) -> dict[tuple[str, str, str], float]:
    """AUC of the confidence, per archive size, for each answerable set against each kind of
    question to refuse (1: every answer above every refusal): which pairs the reader tells apart."""
    from citebot.tools.reader_export import auc

    out = {}
    for size in sorted({r["size"] for r in rows}):
        here = [r for r in rows if r["size"] == size]
        answerable = sorted({r["set"] for r in here if r["label"] != 0})
        refuse = sorted({r["set"] for r in here if r["label"] == 0})
        for a in answerable:
            pos = [r["confidence"] for r in here if r["set"] == a and r["label"] != 0]
            for b in refuse:
                neg = [r["confidence"] for r in here if r["set"] == b and r["label"] == 0]
                out[(size, a, b)] = auc(np.r_[pos, neg], np.r_[np.ones(len(pos)), np.zeros(len(neg))])
    return out


def combine(rows: list[dict], names: list[str]) -> dict | None:
    """A logistic model of "answerable" on the reader's logit and the first stage's evidence
    (`names`, e.g. cos: the best sentence's cosine), fitted on the dev rows with a known label;
    each row's confidence becomes its output. None when a weight comes out negative: evidence
    that counts *against* answering is a quirk of the dev questions, not a decision."""
    from sklearn.linear_model import LogisticRegression

    def x_of(r: dict) -> list[float]:
        p = min(max(float(r["reader"]), 1e-6), 1 - 1e-6)
        return [float(np.log(p / (1 - p)))] + [float(r.get(n, 0.0)) for n in names]

    fit_rows = [r for r in rows if r["label"] in (0, 1) and r.get("reader", -1) >= 0]
    x = np.asarray([x_of(r) for r in fit_rows])
    y = np.asarray([r["label"] for r in fit_rows])
    model = LogisticRegression(C=1.0, class_weight="balanced").fit(x, y)
    weights = dict(zip(["logit", *names], map(float, model.coef_[0])))
    if min(weights.values()) <= 0:
        print(f"combined decision not used: a weight is not positive ({weights})")
        return None
    decision = {"bias": float(model.intercept_[0]), "weights": weights}
    for r in rows:
        if r.get("reader", -1) >= 0:
            z = decision["bias"] + sum(w * v for w, v in zip(weights.values(), x_of(r)))
            r["confidence"] = float(1 / (1 + np.exp(-z)))
    return decision


def smoke_features(path: Path, per_set: int = 40) -> Path:
    """Made-up reader confidences in the features file's shape (two archive sizes; answerable sets
    high, sets to refuse low, overlapping a little) for --smoke."""
    rng = random.Random(5)
    rows = []
    for size in ("14 articles", "2,014 articles"):
        for name, label in (("squad", 1), ("paraphrase", 1), ("offtopic-dev:absent", 0), ("offtopic-dev:date-bound", 0)):
            for i in range(per_set):
                confidence = min(1.0, max(0.0, rng.gauss(0.8 if label else 0.15, 0.1)))
                rows.append({"set": name, "question": f"{name} question {i}", "label": label, "size": size,
                             "confidence": round(confidence, 3), "reader": round(confidence, 3),
                             "cos": round(min(1.0, max(0.0, rng.gauss(0.6 if label else 0.35, 0.1))), 3)})
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("features", type=Path, nargs="?", help="the evidence `citebot eval --reader --features` wrote")
    ap.add_argument("--write", action="store_true", help="write threshold and sure into reader.json")
    ap.add_argument("--max-wrongly-refused", type=float, default=MAX_WRONGLY_REFUSED)
    ap.add_argument("--combine", default="", help="comma-separated first-stage evidence to combine with the "
                    "reader's logit in a fitted logistic decision (e.g. cos); empty: the probability decides")
    ap.add_argument("--reader-dir", type=Path, default=WEIGHTS, help="the reader whose reader.json --write updates")
    ap.add_argument("--smoke", action="store_true",
                    help="fit made-up confidences from a temporary file (never --write): proves the fit runs")
    args = ap.parse_args()
    if args.smoke:
        if args.write:
            ap.error("--smoke fits made-up confidences: it never writes the reader's reader.json")
        tmp = tempfile.TemporaryDirectory(prefix="citebot-fit-smoke-")
        args.features = smoke_features(Path(tmp.name) / "features.jsonl")
    elif args.features is None:
        ap.error("the features file is required (or --smoke)")
    rows = load(args.features)
    decision = combine(rows, [n for n in args.combine.split(",") if n]) if args.combine else None
    if decision:
        print(f"combined decision: {json.dumps(decision)}")
    print("AUC of the confidence, answerable set vs set to refuse:")
    for (size, a, b), value in sorted(separations(rows).items()):
        print(f"  {size:<16} {a:<24} vs {b:<32} {value:.3f}")
    best = None
    for threshold in np.linspace(0.005, 0.995, 199):
        answerable, refuse = refusal_rates(rows, threshold)
        if max(answerable.values()) <= args.max_wrongly_refused:
            mean_refused = float(np.mean(list(refuse.values())))
            if best is None or mean_refused > best[1]:
                best = (round(float(threshold), 3), mean_refused)
    if best is None:
        sys.exit("no threshold keeps every answerable set under the wrongly-refused limit")
    threshold = best[0]
    largest = max({r["size"] for r in rows}, key=lambda s: int(s.split()[0].replace(",", "")))
    sure = threshold
    for cand in np.linspace(threshold, 0.995, 200):
        worst = max(float(np.mean([r["confidence"] < cand for r in rows if r["size"] == largest and r["set"] == name]))
                    for name in {r["set"] for r in rows if r["label"] != 0})
        if worst > CAUTIONED:
            break
        sure = round(float(cand), 3)
    answerable, refuse = refusal_rates(rows, threshold)
    print(f"threshold {threshold}, sure {sure}: refused, by size and set")
    for (size, name), rate in sorted({**answerable, **refuse}.items()):
        print(f"  {size:<16} {name:<32} {rate:6.1%}")
    if args.write:
        meta_file = args.reader_dir / "reader.json"
        meta = json.loads(meta_file.read_text())
        meta.update(threshold=threshold, sure=sure)
        meta.pop("decision", None)
        if decision:
            meta["decision"] = decision
        meta_file.write_text(json.dumps(meta, indent=1) + "\n")
        print(f"wrote {meta_file}")


if __name__ == "__main__":
    main()
