"""`citebot serve` under concurrent API clients, over real HTTP on loopback: one client asking
question after question, then twenty at once asking back to back (a burst: as many questions in
flight as clients), then twenty at a reading pace (each waits 1-3 s between questions, as people
and scripts at a desk do). Prints the median and p95 latency of each, the ratio to one client's,
answers per second and errors.

    .venv/bin/python bench/bench_web.py                       # the largest archive `make eval` built
    .venv/bin/python bench/bench_web.py --index DIR --clients 20 --questions 10
    .venv/bin/python bench/bench_web.py --smoke                # the sample articles, 3 clients (the tests run it)

The server's thread pool is one thread per core (CITEBOT_WEB_THREADS): on a CPU-bound answer path
a burst of twenty waits its turn for the cores, so its latency grows with clients / cores; the
reading pace is what a newsroom's traffic looks like. Run it on an idle machine. Figures, not assertions.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from machine import cpu_name  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"
SAMPLE_QUESTIONS = ["Why was the Wend bridge closed?", "How much will the Wendford tram line cost?",
                    "Who won the Wendford marathon?", "What is the boiling point of liquid nitrogen?",
                    "How many jets did Skylark Air order?", "When does the museum reopen?"]


def largest_eval_index() -> Path | None:
    """The biggest archive `make eval` left in data/eval-cache (by chunks), if any."""
    best, most = None, -1
    for current in (REPO / "data" / "eval-cache").glob("*/index/CURRENT"):
        try:
            manifest = json.loads((current.parent / current.read_text().strip() / "manifest.json").read_text())
        except (OSError, ValueError):
            continue
        if manifest.get("chunks", 0) > most:
            best, most = current.parent, manifest["chunks"]
    return best


def questions(smoke: bool) -> list[str]:
    paraphrase, squad = EVAL / "paraphrase-dev.jsonl", EVAL / "squad2-dev-5articles.json"
    if smoke or not paraphrase.exists() or not squad.exists():
        return SAMPLE_QUESTIONS
    asked = [json.loads(line)["question"] for line in paraphrase.read_text().splitlines() if line.strip()]
    asked += [q["question"] for a in json.loads(squad.read_text())["data"] for p in a["paragraphs"] for q in p["qas"]]
    return asked


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def client(http, url: str, asked: list[str], pace: tuple[float, float] | None, rng: random.Random,
                 latencies: list[float], errors: list[str]) -> None:
    for q in asked:
        if pace:
            await asyncio.sleep(rng.uniform(*pace))
        t = time.perf_counter()
        try:
            r = await http.get(url, params={"q": q})
            if r.status_code != 200:
                errors.append(f"{r.status_code}: {r.text[:100]}")
                continue
            r.json()
        except Exception as e:  # counted, not fatal: the figure is how many
            errors.append(repr(e)[:100])
            continue
        latencies.append(time.perf_counter() - t)


async def round_of(url: str, pool: list[str], clients: int, each: int, pace, seed: int) -> dict:
    import httpx

    rng = random.Random(seed)
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients + 2)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        t = time.perf_counter()
        await asyncio.gather(*(client(http, url, rng.sample(pool, min(each, len(pool))), pace, random.Random(seed + i),
                                      latencies, errors) for i in range(clients)))
        wall = time.perf_counter() - t
    return {"n": len(latencies), "errors": errors, "wall": wall,
            "median": statistics.median(latencies) * 1000 if latencies else float("nan"),
            "p95": sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000 if latencies else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, help="an index folder (default: the largest in data/eval-cache)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10, help="questions per client in each round")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    clients, each = (3, 2) if args.smoke else (args.clients, args.questions)

    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or (None if args.smoke else largest_eval_index())
        if index is None:
            index = Path(tmp) / "index"
            subprocess.run([sys.executable, "-m", "citebot", "index", "build", str(REPO / "examples" / "articles")],
                           env={**os.environ, "CITEBOT_INDEX_DIR": str(index)}, check=True, capture_output=True)
        manifest = json.loads((index / (index / "CURRENT").read_text().strip() / "manifest.json").read_text())
        port = free_port()
        env = {**os.environ, "CITEBOT_INDEX_DIR": str(index), "CITEBOT_WEB_RATE_PER_MINUTE": "0"}
        server = subprocess.Popen([sys.executable, "-m", "citebot", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        try:
            import httpx

            base = f"http://127.0.0.1:{port}"
            for _ in range(600):  # bounded: 60 s for the model and the index to load
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None:
                    sys.exit("citebot serve stopped at start")
                time.sleep(0.1)
            pool = questions(args.smoke)
            url = base + "/api/ask"
            asyncio.run(round_of(url, pool, 1, min(5, len(pool)), None, 1))  # warm-up, not counted
            print(f"{cpu_name()}; {os.cpu_count()} cores; archive {manifest.get('articles')} articles, "
                  f"{manifest.get('chunks')} chunks; server threads: one per core\n")
            print(f"{'round':<34}{'answers':>8}{'errors':>8}{'median ms':>11}{'p95 ms':>9}{'x one':>7}{'per s':>8}")
            one = None
            for name, n_clients, per, pace in (("1 client, back to back", 1, clients * each // 2 or 1, None),
                                               (f"{clients} clients, back to back", clients, each, None),
                                               (f"{clients} clients, 1-3 s apart", clients, each, (1.0, 3.0))):
                got = asyncio.run(round_of(url, pool, n_clients, per, pace, 7))
                one = one or got["median"]
                print(f"{name:<34}{got['n']:>8}{len(got['errors']):>8}{got['median']:>11.1f}{got['p95']:>9.1f}"
                      f"{got['median'] / one:>7.2f}{got['n'] / got['wall']:>8.1f}")
                for e in got["errors"][:3]:
                    print(f"    error: {e}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
