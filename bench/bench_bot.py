"""Telegram bot under load: twenty chats asking at once, against the fake Bot API on loopback.

    .venv/bin/python bench/bench_bot.py [--chats 20] [--rounds 5]
    .venv/bin/python bench/bench_bot.py --smoke   # 2 chats, 1 round (the tests run it)

Starts the real `citebot bot` (polling over real HTTP) on the sample index, sends every chat a
question at the same moment, round after round, and prints answers per second and the reply
latency (question queued → answer received by the Bot API) median and p95.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

from machine import cpu_name  # noqa: E402

TOKEN = "123456789:AAHbenchTOKENbenchTOKENbenchTOKEN12345"
QUESTIONS = ["Who won the Wendford marathon?", "How many jets did Skylark Air order?",
             "What interest rate did the Bank of Northland keep?", "How much will the tram line cost?",
             "What temperature did Orsley record?", "Why was the Wend bridge closed?",
             "What did the café do with day-old bread?", "How many jobs will the battery plant create?"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chats", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="2 chats, 1 round: proves the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.chats, args.rounds = 2, 1

    from fake_bot_api import FakeBotAPI

    from citebot.index.building import build
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.factory import load_encoder

    with tempfile.TemporaryDirectory() as tmp:
        cfg = IndexConfig(index_dir=Path(tmp) / "index")
        build([REPO / "examples" / "articles"], cfg, load_encoder(), on_problem=print)
        api = FakeBotAPI(TOKEN).start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
        env.update(CITEBOT_TELEGRAM_TOKEN=TOKEN, CITEBOT_TELEGRAM_API_URL=api.base_url,
                   CITEBOT_INDEX_DIR=str(cfg.index_dir), CITEBOT_RATE_LIMIT_PER_MINUTE="0")
        proc = subprocess.Popen([sys.executable, "-m", "citebot", "bot"], cwd=tmp, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            api.wait_for(lambda: "getUpdates" in api.requests, 120, "the bot to poll")
            latencies: list[float] = []
            users = list(range(1000, 1000 + args.chats))
            start = time.monotonic()
            for r in range(args.rounds):
                asked = {}
                for i, user in enumerate(users):
                    api.message(user, QUESTIONS[(i + r) % len(QUESTIONS)])
                    asked[user] = time.monotonic()
                for user in users:
                    reply = api.wait_messages(user, r + 1, timeout=120)[r]
                    latencies.append(reply.at - asked[user])
            elapsed = time.monotonic() - start
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            api.stop()
    n = len(latencies)
    latencies.sort()  # p95: the nearest rank at or above 95% (it used to round down, below the median at n=2)
    print(cpu_name())
    print(f"{args.chats} chats x {args.rounds} rounds = {n} answers in {elapsed:.1f} s: {n / elapsed:.1f} answers/s")
    print(f"reply latency median {1000 * statistics.median(latencies):.0f} ms, "
          f"p95 {1000 * latencies[min(n - 1, math.ceil(0.95 * (n - 1)))]:.0f} ms, max {1000 * latencies[-1]:.0f} ms")


if __name__ == "__main__":
    main()
