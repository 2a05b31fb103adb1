"""Pushing one new article to many followers, through the fake Bot API on loopback.

    .venv/bin/python bench/bench_fanout.py [--followers 1000] [--flood-at N]
    .venv/bin/python bench/bench_fanout.py --smoke   # 5 followers, one 429 (the tests run it)

Indexes the sample articles, makes the bot's Application (PTB's AIORateLimiter and all) with N
private chats following one topic, indexes a new article on that topic and times the watcher's
pass: matching, then one message per follower. Prints the time, messages per second, the Bot API
calls by method, and the most sendMessage calls the fake API saw in any one second (Telegram
allows about 30). `--flood-at N` answers the N-th push with a 429 (retry after 1 s), as Telegram
does under load.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

from machine import cpu_name  # noqa: E402

TOKEN = "123456789:AAHbenchTOKENbenchTOKENbenchTOKEN12345"
TOPIC = "Wendford zoo penguins"
ARTICLE = {"id": "penguins-bench", "title": "Penguin chicks hatch at Wendford zoo",
           "text": "Three Humboldt penguin chicks have hatched at Wendford zoo, the first since the colony "
                   "arrived in 2019. Keepers said the chicks were healthy and feeding well."}


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def fan_out(settings, retriever, api, followers: int, add_article) -> tuple[int, float]:
    from citebot.bot.telegram.app import build_application
    from citebot.bot.telegram.context import Follow
    from citebot.bot.telegram.watch import Watcher

    app = build_application(settings, retriever, TOKEN)
    await app.initialize()
    try:
        watcher = Watcher(app)
        await watcher.check()  # the index as it is: not news
        since = time.time() - 1
        for chat_id in range(10_000, 10_000 + followers):
            app.chat_data[chat_id].follows.append(Follow(TOPIC, since, by=chat_id))
        await asyncio.get_running_loop().run_in_executor(None, add_article)
        start = time.perf_counter()
        sent = await watcher.check()
        return sent, time.perf_counter() - start
    finally:
        await app.shutdown()
        app.runtime.executor.shutdown(wait=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--followers", type=int, default=1000)
    ap.add_argument("--flood-at", type=int, default=0, help="answer the N-th push with a 429 (0: never)")
    ap.add_argument("--smoke", action="store_true",
                    help="5 followers, the 3rd push answered with a 429: proves the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.followers, args.flood_at = 5, 3

    from conftest import SAMPLES, write_articles
    from fake_bot_api import FakeBotAPI

    from citebot.bot import redact
    from citebot.bot.answering import make_retriever
    from citebot.bot.settings import load_settings
    from citebot.index.building import build
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.factory import load_encoder

    redact.setup_logging()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = IndexConfig(index_dir=Path(tmp) / "index")
        encoder = load_encoder()
        build([SAMPLES], cfg, encoder, on_problem=print)
        api = FakeBotAPI(TOKEN).start()
        settings = load_settings(index_dir=cfg.index_dir, telegram_api_url=api.base_url, state_dir=Path(tmp) / "state",
                                 follow_max_per_hour=0)
        retriever = make_retriever(settings)

        def add_article() -> None:
            time.sleep(1.1)  # `added` stamps have whole seconds
            build([write_articles(Path(tmp) / "new", {"penguins.json": ARTICLE})], cfg, encoder,
                  on_problem=print, incremental=True)
            if args.flood_at:
                api.fail_calls["sendMessage"] = {api.calls.get("sendMessage", 0) + args.flood_at}

        try:
            api.calls.clear()
            sent, seconds = asyncio.run(fan_out(settings, retriever, api, args.followers, add_article))
        finally:
            api.stop()
    pushes = [s.at for s in api.sent if s.method == "sendMessage"]
    calls = collections.Counter(api.requests)
    print(cpu_name())
    print(f"{args.followers} followers: {sent} messages pushed in {seconds:.1f} s = {sent / seconds:.1f} messages/s")
    print(f"Bot API calls: {dict(calls)}; 429s answered: {len(api.floods)}; rejected: {len(api.rejected)}")
    print(f"busiest second: {busiest_second(pushes)} sendMessage calls (Telegram allows about 30 a second)")


if __name__ == "__main__":
    main()
