"""The qdrant store beside the local store, on one archive of about 10k chunks.

    .venv/bin/python bench/bench_qdrant.py [--chunks 10000] [--queries 100] [--batch 256]
    .venv/bin/python bench/bench_qdrant.py --smoke   # every step at a toy size, in seconds (the tests run it)

No Qdrant server runs on the developers' machines, so the qdrant store runs in qdrant-client's
LOCAL MODE (`QdrantClient(path=...)`): the same API and the same points, searched by a pure-Python
stand-in for the engine (brute force, payloads unpickled one by one). Its times say what citebot's
own side costs and how the two stores compare in what they return; they are NOT a Qdrant server's
speed (a server searches with HNSW and payload indexes, in Rust).

It prints, for each store: the time to write the archive (the same Edit: the same articles, chunks
and vectors, so embedding is left out), warm latency of the full answer path and of its dense and
BM25 stages (and every other stage of the answer path); whether both stores give the same top answer; for the
qdrant store, the engine's
hybrid search (prefetch dense + sparse, RRF in one request) against citebot's own fusion of the two
lists (overlap of the fused top 30, and time); and the bytes a chunk takes, for sizing a cluster.

The archive is bench_scale.py's: the sample articles embedded by the model (the real slice) beside
a synthetic bulk (Zipf-vocabulary articles chunked by citebot, vectors drawn from a Gaussian fitted
to the real embeddings). Figures, not assertions.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
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

from bench_scale import (BULK_QUESTIONS, CHUNKS_PER_ARTICLE, SAMPLE_QUESTIONS, SAMPLES, FittedGaussian,  # noqa: E402
                         ms, stage_lines, write_bulk)



def archive(work: Path, n_chunks: int, encoder):
    """(the Edit both stores write, the fitted Gaussian's real reader's folder): the samples with
    their real vectors, and a synthetic bulk."""
    import random

    import numpy as np

    from citebot.index.building import build
    from citebot.index.embedding import chunk_articles
    from citebot.index.config import IndexConfig
    from citebot.index.loading import load_articles
    from citebot.index.records import Chunk
    from citebot.index.stores.base import Edit
    from citebot.index.stores.factory import open_store

    real_cfg = IndexConfig(index_dir=work / "real-index")
    build([SAMPLES], real_cfg, encoder, on_problem=lambda m: None)
    real = open_store(real_cfg).open()
    states = real.articles()
    fresh, chunks, vectors, sentence_vectors = [], [], [], []
    for art_id, st in states.items():
        rows = real.article_chunks(st.rowid)
        ids = [r[0] for r in rows]
        sents = real.sentences(ids)
        fresh.append(real.article(st.rowid))
        chunks.append([Chunk(art_id, r[1], r[2], r[3], r[4], None, [sp for sp, _ in sents[r[0]]]) for r in rows])
        vectors.append(real.vectors(ids))
        sentence_vectors.append([np.array([v for _, v in sents[i]]) for i in ids])
    gaussian = FittedGaussian(np.concatenate(vectors))
    n_real = sum(len(c) for c in chunks)
    write_bulk(work / "bulk", max(1, (n_chunks - n_real) // CHUNKS_PER_ARTICLE), 0, random.Random(3))
    bulk = load_articles([work / "bulk"], print)
    cfg = IndexConfig(index_dir=work / "local")
    for start in range(0, len(bulk), 2000):
        part = bulk[start:start + 2000]
        for art, cs in zip(part, chunk_articles(part, encoder, cfg)):
            fresh.append(art)
            chunks.append(cs)
            vectors.append(gaussian.draw(len(cs)))
            svecs = gaussian.draw(sum(len(c.sentences) for c in cs))
            sentence_vectors.append(np.split(svecs, np.cumsum([len(c.sentences) for c in cs])[:-1]))
    shape = {"model": encoder.name, "dimension": encoder.dimension, "max_seq_length": encoder.max_tokens,
             "dtype": encoder.dtype, "faiss": cfg.faiss_index, **cfg.chunking()}
    real.close()
    return real_cfg, lambda kind: Edit({**shape, "store": kind}, [], True, fresh, chunks, vectors, sentence_vectors)


def timed(retriever, questions, n: int, warm: int = 8) -> dict:
    for q in questions[:warm]:
        retriever.answer(q)  # warm-up: caches, term counts
    full, stages, tops = [], [], []
    for i in range(n):
        t = time.perf_counter()
        ans = retriever.answer(questions[i % len(questions)])
        full.append(time.perf_counter() - t)
        stages.append(ans.timings)  # every TIMING_KEYS stage; 0 where it did not run
        tops.append((ans.hits[0].article_id, ans.hits[0].extract) if ans.hits else None)
    return {"full": full, "stages": stages, "tops": tops}


def rarest_terms(reader, question: str, n_chunks: int) -> list[str]:
    """The question's BM25 terms as the answer path picks them (rarest 8, none in > 10% of chunks)."""
    from citebot.index.text.terms import query_terms

    df = reader.doc_freq(query_terms(question))
    limit = max(5000, n_chunks // 10)
    return sorted((t for t in df if 0 < df[t] <= limit), key=lambda t: df[t])[:8]


def hybrid_vs_client(reader, qenc, questions, n_chunks: int, depth: int = 30) -> dict:
    """Engine RRF (one request) against citebot's fusion of the two lists (two requests)."""
    from citebot.index.answer.fusion import fuse
    from citebot.index.answer.records import AnswerConfig, Fusion

    cfg = AnswerConfig()
    overlap, same_top, engine_s, client_s = [], 0, [], []
    for q in questions:
        qv = qenc.encode([q])[0]
        terms = rarest_terms(reader, q, n_chunks)
        t = time.perf_counter()
        ours = fuse(reader.dense_search(qv, cfg.dense_candidates), reader.bm25_search(terms, cfg.candidates),
                    Fusion.RRF, cfg.rrf_k, cfg.dense_weight)[:depth]
        client_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        engine = reader.hybrid_search(qv, terms, depth, dense_k=cfg.dense_candidates, sparse_k=cfg.candidates)
        engine_s.append(time.perf_counter() - t)
        overlap.append(len({c for c, _ in ours} & {c for c, _ in engine}) / max(1, len(ours)))
        same_top += bool(ours and engine and ours[0][0] == engine[0][0])
    return {"overlap": statistics.mean(overlap), "same_top": same_top / len(questions), "engine": engine_s,
            "client": client_s}


def chunk_bytes(reader, n: int = 200) -> dict:
    """Payload, dense and sparse bytes of a chunk point, as a server stores them (JSON payload on
    disk, float32 vector, sparse (u32 index, f32 value) pairs)."""
    from citebot.index.stores import qdrant

    points = list(reader.scroll(qdrant.kind_filter(qdrant.CHUNK), payload=True, vectors=True, limit=n))
    payload = statistics.mean(len(json.dumps(p.payload)) for p in points)
    dense = statistics.mean(4 * len(p.vector[qdrant.DENSE]) for p in points)
    sparse = statistics.mean(8 * len(p.vector[qdrant.SPARSE].indices) for p in points if qdrant.SPARSE in p.vector)
    return {"payload": payload, "dense": dense, "sparse": sparse}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=100, help="warm questions timed per store")
    ap.add_argument("--batch", type=int, default=256, help="points per qdrant write request")
    ap.add_argument("--smoke", action="store_true",
                    help="every step at a toy size (the samples and one bulk article, a few questions): proves the bench runs; "
                         "its figures mean nothing")
    args = ap.parse_args()
    if args.smoke:
        args.chunks, args.queries = 60, 6

    from citebot.index.answer import AnswerConfig, Retriever
    from citebot.index.config import IndexConfig, QdrantConfig
    from citebot.index.encoders.factory import load_encoder
    from citebot.index.encoders.onnx_query import load_query_encoder
    from citebot.index.stores.factory import open_store
    from citebot.index.stores.qdrant import close_connections

    encoder = load_encoder()
    with tempfile.TemporaryDirectory(prefix="citebot-qdrant-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        real_cfg, edit_for = archive(work, args.chunks, encoder)
        qenc = load_query_encoder(real_cfg.index_dir, encoder.name)
        print(f"{cpu_name()}, {os.cpu_count()} cores; model {encoder.name}; archive made in "
              f"{time.perf_counter() - t:.0f} s")
        configs = {
            "local": IndexConfig(index_dir=work / "local"),
            "qdrant (local mode)": IndexConfig(index_dir=work / "q-index", store="qdrant",
                                               qdrant=QdrantConfig(path=work / "qdrant", batch_size=args.batch)),
        }
        questions = [q for pair in zip(BULK_QUESTIONS * 8, SAMPLE_QUESTIONS * 16) for q in pair]
        results = {}
        for name, cfg in configs.items():
            store = open_store(cfg)
            edit = edit_for(store.kind)
            t = time.perf_counter()
            manifest = store.write(None, edit)
            written = time.perf_counter() - t
            retriever = Retriever(cfg.index_dir, qenc, encoder.name, AnswerConfig(), store=store)
            results[name] = timed(retriever, questions, args.queries, 2 if args.smoke else 8)
            print(f"\n{name}: {manifest['chunks']:,} chunks ({manifest['articles']:,} articles) written in "
                  f"{written:.1f} s")
            print(f"  warm full answer path  {ms(results[name]['full'])}")
            print("\n".join(stage_lines(results[name]["stages"], {"bm25": "BM25"})))
            if store.kind == "qdrant":
                reader = retriever.reader()
                h = hybrid_vs_client(reader, qenc, questions[:4 if args.smoke else 40], manifest["chunks"])
                print(f"  engine RRF (prefetch dense 80 + sparse 40, one request) vs citebot's fusion of the two "
                      f"lists: top-30 overlap {h['overlap']:.2f}, same first candidate {h['same_top']:.0%}; "
                      f"engine {ms(h['engine'])}, two searches + fusion {ms(h['client'])}")
                b = chunk_bytes(reader)
                per_million = (b["payload"] + b["dense"] + b["sparse"]) * 1e6 / 2**30
                print(f"  a chunk point: payload {b['payload']:,.0f} B (JSON), dense {b['dense']:,.0f} B, sparse "
                      f"{b['sparse']:,.0f} B: about {per_million:.1f} GiB per million chunks before the engine's "
                      "indexes and replicas")
                close_connections()
        tops = [results[n]["tops"] for n in results]
        real = [i for i in range(len(tops[0])) if questions[i % len(questions)] in SAMPLE_QUESTIONS]
        bulk = [i for i in range(len(tops[0])) if i not in real]
        for label, rows in (("real questions about the samples", real), ("made-up questions about the bulk", bulk)):
            same = sum(tops[0][i] == tops[1][i] for i in rows)
            print(f"\nsame top answer (article and extract) on both stores, {label}: {same} of {len(rows)}", end="")
        print()
        print("The qdrant figures are qdrant-client's pure-Python local mode, a stand-in for a server, not a "
              "server's speed.")


if __name__ == "__main__":
    main()
