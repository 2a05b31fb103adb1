"""Query latency of the answer path at about 10k and 100k chunks, and the cold start of `citebot ask`.

    .venv/bin/python bench/bench_query.py [--sizes 10000 100000] [--queries 200]

The bulk of each index is synthetic (text drawn from a Zipf vocabulary like news prose, random
unit vectors for chunks and sentences) written through citebot's own SegmentWriter; questions are embedded by the real model.
Prints median and p95 per stage and for the whole path. Figures, not assertions.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WORDS = ("council harbour river bridge minister budget election school hospital storm market prices "
         "workers union strike museum record train airport police court ferry island festival library "
         "tram station flood farmers harvest coffee bank rate inflation jobs factory battery marathon "
         "runner owl cathedral whale coastguard heatwave fire rail teachers nurses pay housing rent").split()
QUESTIONS = ["Why was the bridge over the river closed?", "How much will the new tram line cost?",
             "Who won the marathon this year?", "What did the bank decide about interest rates?",
             "Why are ferry crews on strike?", "How many jobs will the battery factory create?",
             "When will the museum reopen?", "What record temperature was measured?"]


def zipf_vocabulary(rng: random.Random, size: int = 30_000):
    """Word list and cumulative Zipf weights like news text: a few very common words, a long tail of rare
    ones, and the questions' words at middling ranks (each in about 1-3% of the chunks)."""
    words = [f"w{i:05d}" for i in range(size)]
    for j, w in enumerate(WORDS):
        words[200 + 7 * j] = w
    cum, total = [], 0.0
    for rank in range(size):
        total += 1.0 / (rank + 1)
        cum.append(total)
    return words, cum


def synthetic_index(index_dir: Path, n_chunks: int, dim: int, rng: random.Random):
    import numpy as np

    vocab, cum_weights = zipf_vocabulary(rng)

    from index.records import Article, Chunk
    from index.segment import SegmentWriter
    from index.store import SEGMENTS, publish

    nrng = np.random.default_rng(1)
    writer = SegmentWriter(index_dir / SEGMENTS, dim, "auto")  # exact, or HNSW above the auto threshold
    per_article, made, a = 8, 0, 0
    while made < n_chunks:
        sentences = [" ".join(rng.choices(vocab, cum_weights=cum_weights, k=rng.randint(8, 20))).capitalize() + "."
                     for _ in range(per_article * 3)]
        text = " ".join(sentences)
        art = Article(id=f"syn-{a}", title=f"Synthetic story {a}", text=text, content_hash=str(a))
        chunks, pos = [], 0
        spans = []
        for s in sentences:
            spans.append((pos, pos + len(s)))
            pos += len(s) + 1
        for c in range(min(per_article, n_chunks - made)):
            sp = spans[c * 3:c * 3 + 3]
            chunks.append(Chunk(art.id, c, sp[0][0], sp[-1][1], text[sp[0][0]:sp[-1][1]], sentences=sp))
        vecs = nrng.standard_normal((len(chunks), dim)).astype("float32")
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        svecs = [nrng.standard_normal((3, dim)).astype("float32") for _ in chunks]
        svecs = [v / np.linalg.norm(v, axis=1, keepdims=True) for v in svecs]
        writer.add_article(art, chunks, vecs, sentence_vectors=svecs)
        made += len(chunks)
        a += 1
    publish(index_dir, {"model": "all-MiniLM-L6-v2", "dimension": dim, "faiss": "auto", "chunk_tokens": 128,
                        "chunk_overlap": 1, "segments": [writer.finish()], "next_chunk_id": writer.next_chunk_id,
                        "next_article_rowid": writer.next_article_rowid})


def clustered_vectors(n: int, dim: int, seed: int = 5):
    """Unit vectors around 2,000 topics: real embeddings cluster by topic, pure noise does not,
    and approximate search is only meaningful on the former."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, dim)).astype("float32")
    x = centres[rng.integers(0, len(centres), n)] + 0.9 * rng.standard_normal((n, dim)).astype("float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ann_recall(n: int, dim: int, queries: int = 200) -> None:
    """Approximate (the kind `auto` picks above its threshold) against exact search at k = 20."""
    import numpy as np

    from index.vectors import AUTO_APPROXIMATE_ABOVE, build_faiss, choose_kind

    x = clustered_vectors(n + queries, dim)
    base, q = x[:n], x[n:] + 0.3 * np.random.default_rng(9).standard_normal((queries, dim)).astype("float32")
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    ids = np.arange(n, dtype="int64")
    exact, _ = build_faiss(base, ids, "flat")
    kind = choose_kind("auto", max(n, AUTO_APPROXIMATE_ABOVE + 1))
    t = time.perf_counter()
    approx, _ = build_faiss(base, ids, kind)
    built = time.perf_counter() - t
    _, truth = exact.search(q, 20)
    lat = []
    found = 0
    for i in range(queries):
        t = time.perf_counter()
        _, got = approx.search(q[i:i + 1], 20)
        lat.append(time.perf_counter() - t)
        found += len(set(got[0]) & set(truth[i]))
    print(f"  approximate index {kind}: built in {built:.1f} s, recall@20 vs exact {found / (20 * queries):.3f}, "
          f"search median {1000 * statistics.median(lat):.2f} ms")


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ann", action="store_true", help="also measure the approximate index against exact search")
    args = ap.parse_args()

    from index.embedding import load_embedder
    from index.query_model import export_query_model, load_query_encoder
    from index.retrieval import Retriever
    from index.terms import query_words

    models = Path(tempfile.mkdtemp())
    export_query_model(load_embedder(), models)
    embedder = load_query_encoder(models, load_embedder().name)  # what `citebot ask` and the bot use
    rng = random.Random(3)
    print(f"model {embedder.name} {embedder.dtype}, {os.cpu_count()} cores, {args.queries} queries per size")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            synthetic_index(Path(tmp) / "index", n, embedder.dimension, rng)
            built = time.perf_counter() - t
            retriever = Retriever(Path(tmp) / "index", embedder, "all-MiniLM-L6-v2")
            reader = retriever.reader()
            for q in QUESTIONS:  # warm-up
                retriever.answer(q)
            full, embed, dense, bm25 = [], [], [], []
            for i in range(args.queries):
                q = QUESTIONS[i % len(QUESTIONS)]
                t = time.perf_counter()
                ans = retriever.answer(q)
                full.append(time.perf_counter() - t)
                embed.append(ans.timings["embed"])
                qv = embedder.encode([q])
                t = time.perf_counter()
                reader.dense_search(qv[0], 40)
                dense.append(time.perf_counter() - t)
                t = time.perf_counter()
                reader.bm25_search(retriever._bm25_terms(reader, query_words(q)), 40)
                bm25.append(time.perf_counter() - t)
            ms = lambda xs: f"median {1000 * statistics.median(xs):6.1f} ms   p95 {1000 * pct(xs, 0.95):6.1f} ms"
            from index.store import current_generation, generation_size

            rss = int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
            kind = reader.manifest["segments"][0]["faiss_index"]
            print(f"\n{n:,} chunks, FAISS {kind} (synthetic index written in {built:.1f} s, "
                  f"{generation_size(current_generation(Path(tmp) / 'index')) / 2**20:.0f} MiB on disk; "
                  f"RSS of this process after the queries {rss:.0f} MiB)")
            print(f"  full answer path   {ms(full)}")
            print(f"    query embedding  {ms(embed)}")
            print(f"    dense (FAISS)    {ms(dense)}")
            print(f"    BM25             {ms(bm25)}")
            if args.ann:
                ann_recall(n, embedder.dimension)

    samples = REPO / "examples" / "articles"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CITEBOT_INDEX_DIR": str(Path(tmp) / "index")}
        citebot = [sys.executable, "-m", "bot"]
        subprocess.run(citebot + ["index", "build", str(samples)], env=env, check=True, capture_output=True)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            proc = subprocess.Popen(citebot + ["ask", "Who won the Wendford marathon?"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            proc.stdout.readline()  # the first line of the answer
            times.append(time.perf_counter() - t)
            proc.wait()
        print(f"\ncold start: `citebot ask` to the first answer line, sample index: "
              f"median {statistics.median(times):.2f} s (runs: {', '.join(f'{x:.2f}' for x in times)})")


if __name__ == "__main__":
    main()
