"""citebot on a growing archive: 10k, 100k and 1M chunks.

    .venv/bin/python bench/bench_scale.py [--sizes 10000 100000 1000000] [--queries 200] [--add 100]
    .venv/bin/python bench/bench_scale.py --smoke   # every step at a toy size, in seconds (the tests run it)

For each size it prints: the time to write the index and its size on disk; warm latency (median
and p95) of the full answer path and of its dense and BM25 stages; recall@20 of the approximate
FAISS index against exact search; the latency of questions that name a period (a filtered search,
and a period the archive has nothing from: an early "not found"); the peak RSS and first-answer time of a fresh `citebot ask`
process serving that index; and `index update` adding --add new articles in a new file (every
source file stat'ed, only new and changed files read, only new articles embedded). Then the cold start of `citebot ask` on
the samples.

What is real and what is synthetic: the *real slice* (the sample articles, and the five SQuAD
articles of ../shared/eval when present) goes through citebot's loader, chunker and model, and
the recall questions are real questions about it. The *bulk* is made up: articles of words drawn
from a Zipf vocabulary (like news prose: a few very common words, a long tail; the latency
questions' words each sit in 1-3% of the chunks), chunked by citebot's chunker, with vectors drawn
from a Gaussian fitted to the real slice's embeddings (their mean and 64 principal directions,
plus the leftover variance spread evenly) instead of embedded: embedding a million chunks takes
about 14 hours on 2 cores. Uniform random vectors would make approximate search look either
trivially easy or hopeless; a fitted Gaussian is as anisotropic as real embeddings are.
Figures, not assertions.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
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
sys.path.insert(0, str(REPO / "bench"))

from machine import cpu_name  # noqa: E402

SAMPLES = REPO / "examples" / "articles"
SQUAD = REPO.parent / "shared" / "eval" / "squad2-dev-5articles.json"

WORDS = ("council harbour river bridge minister budget election school hospital storm market prices "
         "workers union strike museum record train airport police court ferry island festival library "
         "tram station flood farmers harvest coffee bank rate inflation jobs factory battery marathon "
         "runner owl cathedral whale coastguard heatwave fire rail teachers nurses pay housing rent").split()
BULK_QUESTIONS = ["Why was the bridge over the river closed?", "How much will the new tram line cost?",
                  "Who won the marathon this year?", "What did the bank decide about interest rates?",
                  "Why are ferry crews on strike?", "How many jobs will the battery factory create?",
                  "When will the museum reopen?", "What record temperature was measured?"]
SAMPLE_QUESTIONS = ["Who won the Wendford marathon?", "Why was the harbour bridge closed?",
                    "How much Russian territory does Kyiv control?", "What did the council decide about rents?"]
# the bulk is dated 2025-01-01: the first ones search inside a period, the last ones find it empty
PERIOD_QUESTIONS = ["What did the bank decide about interest rates in January 2025?",
                    "Why were ferry crews on strike in 2025?", "How much did the tram line cost in 2025?",
                    "Why was the bridge over the river closed in 2019?", "Who won the marathon in 1990?"]
CHUNKS_PER_ARTICLE = 22  # a bulk article (24 sentences of made-up words) makes about this many chunks


def zipf_vocabulary(size: int = 30_000) -> tuple[list[str], list[float]]:
    words = [f"w{i:05d}" for i in range(size)]
    for j, w in enumerate(WORDS):
        words[200 + 7 * j] = w  # middling ranks: each in about 1-3% of the chunks
    cum, total = [], 0.0
    for rank in range(size):
        total += 1.0 / (rank + 1)
        cum.append(total)
    return words, cum


def bulk_article(i: int, rng: random.Random, vocab, cum) -> dict:
    paras = [" ".join(" ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(8, 20))).capitalize() + "."
                      for _ in range(3)) for _ in range(8)]
    return {"id": f"bulk-{i}", "title": f"Bulk story {i}", "text": "\n\n".join(paras), "published": "2025-01-01"}


def write_bulk(folder: Path, n_articles: int, first: int, rng: random.Random, per_file: int = 500) -> None:
    """JSON-lines files of `per_file` articles each, like a scraper's daily dumps."""
    vocab, cum = zipf_vocabulary()
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(first, first + n_articles, per_file):
        with (folder / f"{start:08d}.jsonl").open("w") as f:
            for i in range(start, min(first + n_articles, start + per_file)):
                f.write(json.dumps(bulk_article(i, rng, vocab, cum)) + "\n")


class FittedGaussian:
    """Unit vectors distributed like the real slice's embeddings (mean, top principal directions)."""

    def __init__(self, real, components: int = 64, seed: int = 7):
        import numpy as np

        self.mean = real.mean(axis=0)
        _, s, vt = np.linalg.svd(real - self.mean, full_matrices=False)
        var = s ** 2 / (len(real) - 1)
        self.basis = vt[:components] * np.sqrt(var[:components])[:, None]
        self.noise = float(np.sqrt(var[components:].sum() / real.shape[1]))
        self.rng = np.random.default_rng(seed)

    def draw(self, n: int):
        import numpy as np

        z = self.rng.standard_normal((n, len(self.basis)), dtype=np.float32)
        x = self.mean + z @ self.basis + self.noise * self.rng.standard_normal((n, self.basis.shape[1]), dtype=np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def ms(xs) -> str:
    if not xs:
        return "(no samples)"
    return f"median {1000 * statistics.median(xs):6.1f} ms   p95 {1000 * pct(xs, 0.95):6.1f} ms"


def stage_lines(timings: list[dict], labels: dict[str, str] | None = None) -> list[str]:
    """Median and p95 of every answer-path stage (TIMING_KEYS), read with .get: a stage that did
    not run on an answer (a question whose period the archive lacks stops before searching; the
    reader reads English questions only) counts 0 there."""
    from citebot.index.answer.pipeline import TIMING_KEYS

    labels = labels or {}
    return [f"    {labels.get(key, key):<20} {ms([t.get(key, 0.0) for t in timings])}" for key in TIMING_KEYS]


SERVE = ("import atexit, runpy, sys\n"
         "atexit.register(lambda: sys.stderr.write('VmHWM ' + open('/proc/self/status').read()"
         ".split('VmHWM:')[1].split()[0] + '\\n'))\n"
         "sys.argv = ['citebot', 'ask', '--json']\n"
         "runpy.run_module('citebot', run_name='__main__')\n")


def serve(index_dir: Path, questions: list[str]) -> tuple[float, float, float]:
    """A fresh `citebot ask` process answering questions from stdin: seconds to its first answer,
    seconds for all, and its peak RSS in MiB (VmHWM)."""
    env = {**os.environ, "CITEBOT_INDEX_DIR": str(index_dir)}
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", SERVE], env=env, cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdin.write("\n".join(questions) + "\n")
    proc.stdin.close()
    proc.stdout.readline()
    first = time.perf_counter() - t
    proc.stdout.read()
    err = proc.stderr.read()
    proc.wait()
    total = time.perf_counter() - t
    hwm = [line for line in err.splitlines() if line.startswith("VmHWM ")]
    if proc.returncode or not hwm:
        raise RuntimeError(f"citebot ask failed: {err[-2000:]}")
    return first, total, int(hwm[-1].split()[1]) / 1024


def real_slice(tmp: Path, encoder, squad: bool = True):
    """The real articles, indexed by citebot itself; their sources, reader and questions."""
    from citebot.index.building import build
    from citebot.index.config import IndexConfig
    from citebot.index.stores.local.reader import open_current

    sources = [SAMPLES]
    questions = list(SAMPLE_QUESTIONS)
    if squad and SQUAD.exists():
        from citebot.tools.question_sets import squad_articles

        articles, qs = squad_articles(SQUAD)
        squad = tmp / "squad.jsonl"
        squad.write_text("".join(json.dumps(a) + "\n" for a in articles))
        sources.append(squad)
        questions += [q.text for q in qs if not q.impossible]
    cfg = IndexConfig(index_dir=tmp / "real-index")
    build(sources, cfg, encoder, on_problem=lambda m: None)
    return sources, cfg.index_dir, open_current(cfg.index_dir), questions


def write_index(index_dir: Path, sources: list[Path], real, encoder, gaussian, faiss_spec: str):
    """Base index of the real slice (carried with its real vectors) and the bulk (chunked by
    citebot, vectors drawn from the fitted Gaussian); returns (chunk ids, vectors) for exact search."""
    import numpy as np

    from citebot.index.embedding import chunk_articles, manifest_shape
    from citebot.index.config import IndexConfig
    from citebot.index.loading import load_articles
    from citebot.index.records import Chunk
    from citebot.index.sources import registry
    from citebot.index.sources.base import now_iso
    from citebot.index.sources.factory import spec_for_path
    from citebot.index.stores.local.generations import SEGMENTS, publish
    from citebot.index.stores.local.segment_writer import SegmentWriter

    cfg = IndexConfig(index_dir=index_dir, faiss_index=faiss_spec)
    articles = load_articles(sources, print)
    # the sources recorded as a build records them, each article under its own, so that `index
    # update` stats them and reads only what is new (without them it read every file again and
    # took every indexed article for another source's)
    specs = [spec_for_path(str(p)) for p in sources]
    locations = sorted((s.location for s in specs), key=len, reverse=True)
    for spec in specs:
        spec.added = now_iso()
    for art in articles:
        art.added = art.added or now_iso()
        art.source_key = next((loc for loc in locations if art.origin and (
            art.origin == loc or art.origin.startswith(loc.rstrip("/") + "/"))), None)
    known = real.articles()
    writer = SegmentWriter(index_dir / SEGMENTS, encoder.dimension, faiss_spec)
    all_ids, all_vecs = [], []
    bulk = [a for a in articles if a.id not in known]
    for art in articles:
        if art.id in known:
            rows = real.article_chunks(known[art.id][0])
            ids = [r[0] for r in rows]
            sents = real.sentences(ids)
            chunks = [Chunk(art.id, r[1], r[2], r[3], r[4], r[0], [sp for sp, _ in sents[r[0]]]) for r in rows]
            vecs = real.vectors(ids)
            svecs = [np.array([v for _, v in sents[i]]) for i in ids]
            all_ids.append(writer.add_article(art, chunks, vecs, sentence_vectors=svecs))
            all_vecs.append(vecs)
    for start in range(0, len(bulk), 2000):  # chunking in batches keeps the token counter busy
        part = bulk[start:start + 2000]
        for art, chunks in zip(part, chunk_articles(part, encoder, cfg)):
            vecs = gaussian.draw(len(chunks))
            svecs = gaussian.draw(sum(len(c.sentences) for c in chunks)).astype(np.float16)
            split = np.cumsum([len(c.sentences) for c in chunks])[:-1]
            all_ids.append(writer.add_article(art, chunks, vecs, sentence_vectors=np.split(svecs, split)))
            all_vecs.append(vecs)
    entry = writer.finish()
    publish(index_dir, {**manifest_shape(cfg, encoder), "segments": [entry], "next_chunk_id": writer.next_chunk_id,
                        "next_article_rowid": writer.next_article_rowid,
                        "sources": registry.manifest_entry(specs)})
    return cfg, np.concatenate([np.asarray(i, dtype=np.int64) for i in all_ids]), np.concatenate(all_vecs)


def recall_at_20(ids, vecs, queries, search) -> float:
    import faiss

    _, truth = faiss.knn(queries, vecs, 20, metric=faiss.METRIC_INNER_PRODUCT)
    found = sum(len({int(ids[j]) for j in truth[i]} & set(search(queries[i]))) for i in range(len(queries)))
    return found / (20 * len(queries))


def ivf_recall(approx, kind: str, ids, vecs, queries, note: str) -> None:
    """Recall@20 against exact search and latency at several nprobe values, the default among them."""
    import faiss

    from citebot.index.stores.local.vectors import ivf_probes

    ivf = faiss.extract_index_ivf(faiss.downcast_index(approx).index)
    print(f"  approximate {kind} vs exact search, recall@20 over {len(queries)} real questions ({note}):")
    default = ivf_probes(ivf.nlist, ivf.ntotal)
    search = lambda q: [int(c) for c in approx.search(q.reshape(1, -1), 20)[1][0]]
    for share in sorted({32, 16, 8, 4, ivf.nlist / default}, reverse=True):
        ivf.nprobe = max(1, round(ivf.nlist / share))
        lat = []
        for q in queries[:100]:
            t = time.perf_counter()
            search(q)
            lat.append(time.perf_counter() - t)
        print(f"    nprobe {ivf.nprobe:4d} (1/{share:<4.3g} of the lists){' default' if ivf.nprobe == default else '        '}: "
              f"recall {recall_at_20(ids, vecs, queries, search):.3f}, search {ms(lat)}")
    ivf.nprobe = default


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200, help="warm questions timed per size")
    ap.add_argument("--add", type=int, default=100, help="articles added by the update")
    ap.add_argument("--smoke", action="store_true",
                    help="every step at a toy size (about 1,500 chunks, a few questions, a small IVF index for the "
                         "recall figure): proves the bench runs; its figures mean nothing")
    args = ap.parse_args()
    if args.smoke:
        args.sizes, args.queries, args.add = [1500], 8, 2


    from citebot.index.building import build
    from citebot.index.encoders.factory import load_encoder
    from citebot.index.encoders.onnx_query import load_query_encoder, query_model_dir
    from citebot.index.answer import Retriever
    from citebot.index.stores.local.generations import current_generation, generation_size, read_manifest
    from citebot.index.stores.local.vectors import build_faiss, choose_kind

    encoder = load_encoder()
    work = Path(tempfile.mkdtemp(prefix="citebot-scale-"))
    try:
        t = time.perf_counter()
        real_sources, real_dir, real, real_questions = real_slice(work, encoder, squad=not args.smoke)
        real_vecs = real.vectors([r[0] for a in real.articles().values() for r in real.article_chunks(a[0])])
        gaussian = FittedGaussian(real_vecs)
        qenc = load_query_encoder(real_dir, encoder.name)
        rq = real_questions[:: max(1, len(real_questions) // 300)][:300]
        rq_vecs = qenc.encode(rq)
        print(f"{cpu_name()}; model {encoder.name}, {os.cpu_count()} cores; real slice: {real.manifest['articles']} articles, "
              f"{real.manifest['chunks']} chunks, {len(rq)} real questions for recall (made in "
              f"{time.perf_counter() - t:.0f} s)")
        rng = random.Random(3)
        for n in args.sizes:
            folder = work / f"n{n}"
            folder.mkdir()
            index_dir = folder / "index"
            bulk = folder / "bulk"
            write_bulk(bulk, max(1, (n - real.manifest["chunks"]) // CHUNKS_PER_ARTICLE), 0, rng)
            t = time.perf_counter()
            cfg, ids, vecs = write_index(index_dir, [bulk, *real_sources], real, encoder, gaussian, "auto")
            written = time.perf_counter() - t
            shutil.copytree(query_model_dir(real_dir, encoder.name), query_model_dir(index_dir, encoder.name))
            m = read_manifest(current_generation(index_dir))
            kind = m["segments"][0]["faiss_index"]
            print(f"\n{m['chunks']:,} chunks ({m['articles']:,} articles), FAISS {kind}: index written in {written:.0f} s, "
                  f"{generation_size(current_generation(index_dir)) / 2**20:,.0f} MiB on disk")

            retriever = Retriever(index_dir, qenc, encoder.name)
            reader = retriever.reader()
            questions = [q for pair in zip(BULK_QUESTIONS * 40, rq) for q in pair]
            for q in questions[:2 if args.smoke else 16]:
                retriever.answer(q)  # warm-up
            full, stages = [], []
            for i in range(args.queries):
                t = time.perf_counter()
                ans = retriever.answer(questions[i % len(questions)])
                full.append(time.perf_counter() - t)
                stages.append(ans.timings)
            print(f"  warm full answer path  {ms(full)}   (half bulk-word questions, half real ones)")
            print("\n".join(stage_lines(stages, {"dense": f"dense ({kind})", "bm25": "BM25"})))
            in_period, empty = [], []
            for i in range(max(len(PERIOD_QUESTIONS), args.queries // 4)):
                t = time.perf_counter()
                ans = retriever.answer(PERIOD_QUESTIONS[i % len(PERIOD_QUESTIONS)])
                (empty if ans.reason == "period_empty" else in_period).append(time.perf_counter() - t)
            print(f"  questions naming a period: searched inside it {ms(in_period)} ({len(in_period)}); "
                  f"a period the archive lacks {ms(empty)} ({len(empty)})")

            # at toy size nothing is approximate: a small IVF index is built so the figure's code runs
            approx_kind = "IVF16,Flat" if args.smoke else choose_kind("ivf", n)
            if approx_kind == "Flat":
                print("  no approximate index below 10k chunks: exact search")
            else:
                served = kind == approx_kind
                approx = reader.segments[0].faiss if served else build_faiss(vecs, ids, approx_kind)[0]
                ivf_recall(approx, approx_kind, ids, vecs, rq_vecs,
                           "the served index" if served else "built for this figure; `auto` serves exact search at this size")
            reader.close()
            del vecs

            served_qs = (BULK_QUESTIONS + rq[:12]) * 2 if not args.smoke else BULK_QUESTIONS[:2] + rq[:2]
            first, total, hwm = serve(index_dir, served_qs)
            print(f"  serving process (`citebot ask`, {len(served_qs)} questions on stdin): first answer {first:.2f} s, "
                  f"all {total:.1f} s, peak RSS {hwm:,.0f} MiB")

            new = folder / "new"
            write_bulk(new, args.add, 10_000_000, rng)
            t = time.perf_counter()
            report = build([bulk, *real_sources, new], cfg, encoder, on_problem=print, incremental=True)
            assert report.unchanged and not report.changed, "the update took indexed articles for changed ones"
            s = report.seconds
            m = read_manifest(current_generation(index_dir))
            print(f"  update adding {report.added} articles ({report.chunks_embedded} chunks): "
                  f"{time.perf_counter() - t:.1f} s = stat every source, read new/changed files {s['load']:.1f} s + chunk "
                  f"{s['chunk']:.1f} s + embed {s['embed']:.1f} s + write segment and publish {s['store']:.1f} s; "
                  f"{len(m['segments'])} segments, nothing rewritten")
            shutil.rmtree(folder)
        real.close()

        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "CITEBOT_INDEX_DIR": str(Path(tmp) / "index")}
            citebot = [sys.executable, "-m", "citebot"]
            if args.smoke:  # the real slice is the samples alone: served as it is, not built again
                env["CITEBOT_INDEX_DIR"] = str(real_dir)
            else:
                subprocess.run(citebot + ["index", "build", str(SAMPLES)], env=env, cwd=REPO, check=True,
                               capture_output=True)
            times = []
            for _ in range(1 if args.smoke else 3):
                t = time.perf_counter()
                proc = subprocess.Popen(citebot + ["ask", SAMPLE_QUESTIONS[0]], env=env, cwd=REPO,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                proc.stdout.readline()  # the first line of the answer
                times.append(time.perf_counter() - t)
                proc.wait()
            print(f"\ncold start: `citebot ask` to the first answer line, sample index: "
                  f"median {statistics.median(times):.2f} s (runs: {', '.join(f'{x:.2f}' for x in times)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
