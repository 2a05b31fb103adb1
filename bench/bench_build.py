"""Build speed per embedding precision on this CPU, and what int8 costs: chunks/s of fp32, bf16 (where
the CPU lists avx512_bf16/amx_bf16) and int8 (onnxruntime), the choice CITEBOT_EMBEDDING_DTYPE=auto
makes here and why, and int8's (and bf16's) agreement with fp32: mean/min cosine of the chunk
vectors, and recall@20 of a search over them against the fp32 search's top 20.

    .venv/bin/python bench/bench_build.py                   # 5 SQuAD articles + 300 Wikinews, 380 questions
    .venv/bin/python bench/bench_build.py --articles 1000   # more Wikinews distractors
    .venv/bin/python bench/bench_build.py --remeasure       # forget this machine's cached `auto` timing first
    .venv/bin/python bench/bench_build.py --export news.jsonl  # also write ~8,000 made-up news articles
        # (~74 MB JSON Lines, fixed seed; never commit it) and time `citebot index build` on it
    .venv/bin/python bench/bench_build.py --smoke           # 3 made-up articles, in seconds (the tests run it)

The corpus is the evaluation data's SQuAD articles (kept beside the repository, not in it) with
Wikinews articles beside them, asked SQuAD's and the paraphrase questions; where those files are
absent, made-up news asked the chunks' first words
(made-up text from a small vocabulary has many near-ties: its recall understates). Run it on an idle
machine: the figures are timings. Figures, not assertions.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"
SQUAD, PARAPHRASE, WIKINEWS = EVAL / "squad2-dev-5articles.json", EVAL / "paraphrase-dev.jsonl", EVAL / "wikinews-en.jsonl"
K = 20
MAX_QUESTIONS = 300  # of SQuAD's 1,407 (the paraphrase set's 80 come on top)


def made_up_article(rng: random.Random, i: int, words: tuple[int, int] = (600, 2400)) -> dict:
    """A news-length article (~1,500 words on average) of made-up sentences, dated within 2024."""
    from citebot.index.encoders.probe import news_sentences

    sentences = news_sentences(rng, rng.randint(*words))
    paras, at = [], 0
    while at < len(sentences):
        step = rng.randint(2, 4)
        paras.append(" ".join(sentences[at:at + step]))
        at += step
    title = " ".join(sentences[0].split()[:rng.randint(6, 10)]).rstrip(",")
    return {"id": f"made-up-{i}", "title": title, "text": "\n\n".join(paras), "source": "Made-up News",
            "published": (date(2024, 1, 1) + timedelta(days=i % 366)).isoformat(), "url": f"https://news.example/{i}"}


def write_corpus(folder: Path, smoke: bool, articles: int) -> tuple[str, list[str]]:
    """(what the corpus is, the questions asked of it), the articles written to folder/corpus.jsonl."""
    rows, questions = [], []
    if not smoke and SQUAD.exists() and WIKINEWS.exists():
        squad = json.loads(SQUAD.read_text())["data"]
        rows = [{"id": a["title"], "title": a["title"].replace("_", " "),
                 "text": "\n\n".join(p["context"] for p in a["paragraphs"])} for a in squad]
        with WIKINEWS.open(encoding="utf-8") as f:
            rows += [json.loads(line) for _, line in zip(range(articles), f)]
        asked = [q["question"] for a in squad for p in a["paragraphs"] for q in p["qas"]]
        questions = random.Random(5).sample(asked, min(MAX_QUESTIONS, len(asked)))
        if PARAPHRASE.exists():
            questions += [json.loads(line)["question"] for line in PARAPHRASE.read_text().splitlines() if line.strip()]
        kind = f"{len(squad)} SQuAD articles + {len(rows) - len(squad)} Wikinews"
    else:
        rng = random.Random(7)
        rows = [made_up_article(rng, i, (120, 300) if smoke else (600, 2400)) for i in range(3 if smoke else articles)]
        kind = f"{len(rows)} made-up news articles"
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return kind, questions


def export(path: Path, n: int) -> None:
    rng = random.Random(2024)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps(made_up_article(rng, i)) + "\n")


def top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ vectors.T
    return np.argsort(-scores, axis=1)[:, :k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=300, help="Wikinews (or made-up) articles in the corpus")
    ap.add_argument("--remeasure", action="store_true", help="forget the cached `auto` measurement first")
    ap.add_argument("--export", type=Path, help="write ~8,000 made-up articles here and time `citebot index build`")
    ap.add_argument("--export-articles", type=int, default=8000)
    ap.add_argument("--smoke", action="store_true", help="3 made-up articles: proves the bench runs")
    args = ap.parse_args()

    from citebot.index.config import IndexConfig
    from citebot.index.embedding import chunk_articles, embed
    from citebot.index.encoders import precision
    from citebot.index.encoders.machine_cache import read_json, version, write_json
    from citebot.index.encoders.probe import make_encoder
    from citebot.index.encoders.sentence_transformers import DEFAULT_MODEL
    from citebot.index.loading import load_articles

    model = DEFAULT_MODEL
    print(f"{precision.cpu_model()}; flags: {' '.join(precision.cpu_flags()) or 'none of ' + ', '.join(precision.FLAGS)}; "
          f"{os.cpu_count()} cores; torch {version('torch')}, onnxruntime {version('onnxruntime')}")
    if args.remeasure and not args.smoke:
        entries = read_json(precision.cache_path())
        entries.pop(precision.cache_key(model), None)
        write_json(precision.cache_path(), entries)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        kind, questions = write_corpus(tmp, args.smoke, args.articles)
        cfg = IndexConfig(index_dir=tmp / "index")
        articles = load_articles([tmp / "corpus.jsonl"], print)
        encoders, load_s, left_out = {}, {}, {}
        for p in precision.candidates():
            t = time.perf_counter()
            try:
                encoders[p] = make_encoder(model, p)
            except Exception as e:  # int8 that cannot be made here: said, and the others go on
                left_out[p] = str(e)
                continue
            load_s[p] = time.perf_counter() - t
        chunks = chunk_articles(articles, encoders["fp32"], cfg)
        n = sum(len(c) for c in chunks)
        texts = [c.text for cs in chunks for c in cs]
        if not questions:
            questions = [" ".join(t.split()[:12]) for t in random.Random(3).sample(texts, min(100, len(texts)))]
        print(f"corpus: {kind}, {n} chunks (avg {sum(map(len, texts)) / max(n, 1):.0f} chars); "
              f"{len(questions)} questions")
        vectors, seconds = {}, {}
        for p, enc in encoders.items():
            embed(enc, articles[:1], chunks[:1], cfg, None)  # warm-up, not timed
            t = time.perf_counter()
            flat, _ = embed(enc, articles, chunks, cfg, None)
            seconds[p] = time.perf_counter() - t
            vectors[p] = np.concatenate(flat)
        queries = encoders["fp32"].encode_queries(questions)
        k = min(K, n)
        ref_top = top(vectors["fp32"], queries, k)
        print(f"\n{'precision':<10}{'load s':>8}{'embed s':>9}{'chunks/s':>10}{'x fp32':>8}{'mean cos':>10}"
              f"{'min cos':>9}{f'recall@{k}':>11}")
        for p in encoders:
            cos = np.sum(vectors[p] * vectors["fp32"], axis=1)
            got = top(vectors[p], queries, k)
            recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(got, ref_top)])
            print(f"{p:<10}{load_s[p]:>8.1f}{seconds[p]:>9.1f}{n / seconds[p]:>10.1f}"
                  f"{seconds['fp32'] / seconds[p]:>8.2f}{cos.mean():>10.4f}{cos.min():>9.4f}{recall:>11.3f}")
        for p, why in left_out.items():
            print(f"{p:<10}left out: {why}")
        choice = precision.choose(model, "auto", measure=not args.smoke)  # smoke: the cached choice or a guess
        print(f"\nauto: {choice.precision} ({choice.why})")
        if args.export or args.smoke:
            target = args.export or tmp / "export.jsonl"
            build(target, 4 if args.smoke else args.export_articles, tmp / "export-index",
                  choice.precision if args.smoke else None)


def build(path: Path, n: int, index_dir: Path, dtype: str | None) -> None:
    """Write the made-up archive and time `citebot index build` on it, as a user runs it."""
    t = time.perf_counter()
    export(path, n)
    print(f"\nexport: {n} made-up articles, {path.stat().st_size / 1e6:.1f} MB in {path} "
          f"({time.perf_counter() - t:.1f} s to write)")
    env = {**os.environ, "CITEBOT_INDEX_DIR": str(index_dir)}
    if dtype:
        env["CITEBOT_EMBEDDING_DTYPE"] = dtype
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "citebot", "index", "build", "--json", str(path)], env=env,
                          capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t
    if proc.returncode:
        print(f"citebot index build failed ({proc.returncode}): {proc.stderr[-2000:]}")
        sys.exit(1)
    report = json.loads(proc.stdout)
    s = report["seconds"]
    print(f"citebot index build: {wall:.1f} s wall, {report['chunks']} chunks ({report['chunks'] / wall:.1f} chunks/s), "
          f"precision {report.get('precision')} ({report.get('precision_why')})")
    print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in s.items()))
    print(f"  embedding: {s.get('embed', 0) / wall:.0%} of the wall time, "
          f"{s.get('embed', 0) / max(sum(s.values()), 1e-9):.0%} of the stages' time")


if __name__ == "__main__":
    main()
