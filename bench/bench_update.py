"""`index update` on a large index: adding 100 articles must cost their embedding plus seconds,
not a rewrite of the archive.

    .venv/bin/python bench/bench_update.py [--chunks 100000] [--add 100]

The base index is made from a synthetic corpus file by citebot's own loader and chunker, with
random unit vectors in place of embeddings (embedding 100k chunks for real takes over an hour
on 2 cores); the update then runs exactly as `citebot index update` does, embedding the new
articles with the real model. Prints the update's time by stage and what it wrote.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]


def article(i: int, rng: random.Random, vocab, cum) -> dict:
    paras = [" ".join(" ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(8, 20))).capitalize() + "."
                      for _ in range(3)) for _ in range(8)]
    return {"id": f"syn-{i}", "title": f"Synthetic story {i}", "text": "\n\n".join(paras), "published": "2025-01-01"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--add", type=int, default=100)
    args = ap.parse_args()

    import numpy as np
    from bench_query import zipf_vocabulary

    from index.building import build, chunk_articles
    from index.config import IndexConfig
    from index.embedding import load_embedder
    from index.loading import load_articles
    from index.segment import SegmentWriter
    from index.store import SEGMENTS, current_generation, generation_size, publish, read_manifest

    embedder = load_embedder()
    rng = random.Random(11)
    vocab, cum = zipf_vocabulary(rng)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = IndexConfig(index_dir=tmp / "index")
        corpus = tmp / "corpus.jsonl"
        t = time.perf_counter()
        n = 0
        with corpus.open("w") as f:
            i = 0
            while n < args.chunks:
                a = article(i, rng, vocab, cum)
                f.write(json.dumps(a) + "\n")
                n += 22  # synthetic words are several word pieces each: ~22 chunks per article
                i += 1
        loaded = load_articles([corpus], print)
        chunks = chunk_articles(loaded, embedder, cfg)
        nrng = np.random.default_rng(2)
        writer = SegmentWriter(cfg.index_dir / SEGMENTS, embedder.dimension, cfg.faiss_index)
        for art, cs in zip(loaded, chunks):
            vecs = nrng.standard_normal((len(cs), embedder.dimension)).astype("float32")
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            svecs = [nrng.standard_normal((len(c.sentences), embedder.dimension)).astype("float32") for c in cs]
            writer.add_article(art, cs, vecs, sentence_vectors=svecs)
        from index.building import _manifest

        publish(cfg.index_dir, {**_manifest(cfg, embedder), "segments": [writer.finish()],
                                "next_chunk_id": writer.next_chunk_id, "next_article_rowid": writer.next_article_rowid})
        base = read_manifest(current_generation(cfg.index_dir))
        print(f"base index: {base['articles']:,} articles, {base['chunks']:,} chunks, "
              f"{generation_size(current_generation(cfg.index_dir)) / 2**20:.0f} MiB (made in {time.perf_counter() - t:.0f} s)")

        with corpus.open("a") as f:
            for j in range(args.add):
                f.write(json.dumps(article(10_000_000 + j, rng, vocab, cum)) + "\n")
        t = time.perf_counter()
        report = build([corpus], cfg, embedder, on_problem=print, incremental=True)
        total = time.perf_counter() - t
        m = read_manifest(current_generation(cfg.index_dir))
        s = report.seconds
        print(f"update adding {report.added} articles ({report.chunks_embedded} chunks embedded): {total:.1f} s "
              f"= load+hash all {s['load']:.1f} s + chunk {s['chunk']:.1f} s + embed {s['embed']:.1f} s "
              f"+ write segment and publish {s['store']:.1f} s (+ {s.get('query_model', 0):.1f} s ONNX export, once per model)")
        print(f"after: {m['articles']:,} articles, {m['chunks']:,} chunks in {len(m['segments'])} segments; "
              f"new segment {m['segments'][-1]['chunks']} chunks; nothing else rewritten")


if __name__ == "__main__":
    main()
