"""Index build speed against the floor: the same chunks through a bare `model.encode` + FAISS add.

    .venv/bin/python bench/bench_index.py [--corpus squad|synthetic] [--articles N]
    .venv/bin/python bench/bench_index.py --smoke   # 3 synthetic articles, in seconds (the tests run it)

The squad corpus is ../shared/eval's five SQuAD articles; where that file is absent, the synthetic one.

Prints chunks/s for both, their ratio, peak RSS and the index size. Figures, not assertions.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from machine import cpu_name  # noqa: E402

SQUAD = REPO.parent / "shared" / "eval" / "squad2-dev-5articles.json"


def write_corpus(kind: str, folder: Path, n_articles: int) -> None:
    if kind == "squad" and SQUAD.exists():
        data = json.loads(SQUAD.read_text())["data"]
        arts = [{"id": a["title"], "title": a["title"].replace("_", " "),
                 "text": "\n\n".join(p["context"] for p in a["paragraphs"])} for a in data]
    else:
        rng = random.Random(7)
        words = ("council harbour river bridge minister budget election school hospital storm "
                 "market prices workers union strike museum record train airport police court").split()
        arts = []
        for i in range(n_articles):
            paras = [" ".join(" ".join(rng.choices(words, k=rng.randint(8, 22))).capitalize() + "."
                              for _ in range(rng.randint(2, 5))) for _ in range(rng.randint(4, 10))]
            arts.append({"id": f"syn-{i}", "title": f"Synthetic story {i}", "text": "\n\n".join(paras)})
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(a) for a in arts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", choices=["squad", "synthetic"], default="squad")
    ap.add_argument("--articles", type=int, default=60, help="synthetic articles")
    ap.add_argument("--smoke", action="store_true", help="3 synthetic articles: proves the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.corpus, args.articles = "synthetic", 3

    import faiss

    from citebot.index.building import build
    from citebot.index.embedding import chunk_articles
    from citebot.index.text.chunking import embedding_input
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.factory import load_encoder
    from citebot.index.loading import load_articles
    from citebot.index.stores.local.generations import current_generation, generation_size

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_corpus(args.corpus, tmp, args.articles)
        t = time.perf_counter()
        encoder = load_encoder()
        load_s = time.perf_counter() - t
        cfg = IndexConfig(index_dir=tmp / "index")
        articles = load_articles([tmp / "corpus.jsonl"], print)
        chunks = chunk_articles(articles, encoder, cfg)
        texts = [embedding_input(a.title, c.text) for a, cs in zip(articles, chunks) for c in cs]
        if hasattr(encoder, "model"):  # sentence-transformers' own encode
            def bare(x):
                return encoder.model.encode(x, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        else:  # int8 (CITEBOT_EMBEDDING_DTYPE, or what auto measured here) has no PyTorch model: its plain encode
            def bare(x):
                return encoder.encode(x, batch_size=32)
        bare(texts[:64])  # warm-up, not timed

        t = time.perf_counter()
        vecs = bare(texts)
        flat = faiss.IndexFlatIP(vecs.shape[1])
        flat.add(vecs)
        floor_s = time.perf_counter() - t

        t = time.perf_counter()
        report = build([tmp / "corpus.jsonl"], cfg, encoder, on_problem=print)
        build_s = time.perf_counter() - t
        size = generation_size(current_generation(cfg.index_dir))

    n = len(texts)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    corpus = args.corpus if args.corpus != 'squad' or SQUAD.exists() else 'synthetic'
    print(f"{cpu_name()}; corpus: {corpus}, {len(articles)} articles, {n} chunks "
          f"(avg {sum(map(len, texts)) / n:.0f} chars), model {encoder.name} {encoder.dtype}, "
          f"{os.cpu_count()} cores")
    print(f"model load:            {load_s:8.2f} s")
    print(f"floor (encode + add):  {floor_s:8.2f} s   {n / floor_s:7.1f} chunks/s")
    print(f"citebot index build:   {build_s:8.2f} s   {report.chunks / build_s:7.1f} chunks/s   "
          f"(load+clean {report.seconds['load']:.2f} s, chunk {report.seconds['chunk']:.2f} s, "
          f"embed {report.seconds['embed']:.2f} s, store {report.seconds['store']:.2f} s, "
          f"one-time ONNX export of the query model {report.seconds['query_model']:.2f} s)")
    print(f"build / floor:         {build_s / floor_s:8.2f} x")
    print(f"peak RSS:              {peak_mib:8.0f} MiB")
    print(f"index size on disk:    {size / 2**20:8.2f} MiB")


if __name__ == "__main__":
    main()
