"""The real bot — its polling loop, over real HTTP — against a strict fake Bot API on 127.0.0.1."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FLOOD_ARTICLES, SAMPLES, SEED_ARTICLE, needs_seed, write_articles
from fake_bot_api import FakeBotAPI, html_error, visible_text

TOKEN = "123456789:AAHtestTOKENdoNotLeakItAnywhere_0123456"
ALLOWED = list(range(1, 200))
STRANGER = 666
HOSTILE = {"id": "hostile", "title": "Fish & Chips <Deluxe> *special* _offer_",
           "text": "The harbour café sold fish & chips for <£5 on Friday. "
                   "A sign said *half price* for kids_under_10 & pensioners. "
                   "The owner said 3 < 4 and 5 > 2 was her pricing rule."}


@pytest.fixture(scope="module")
def bot_env(tmp_path_factory):
    """Index the samples (+ the seed article when present), start the fake API and `citebot bot`."""
    from citebot.index.building import build
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.factory import load_encoder

    tmp = tmp_path_factory.mktemp("bot")
    extra = write_articles(tmp / "extra", {"hostile.json": HOSTILE, **FLOOD_ARTICLES})
    paths = [SAMPLES, extra] + ([SEED_ARTICLE] if SEED_ARTICLE.exists() else [])
    cfg = IndexConfig(index_dir=tmp / "index")
    build(paths, cfg, load_encoder(), on_problem=print)

    api = FakeBotAPI(TOKEN).start()
    log_path = tmp / "bot.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    env.update(HF_HUB_OFFLINE="1", CITEBOT_TELEGRAM_TOKEN=TOKEN, CITEBOT_TELEGRAM_API_URL=api.base_url,
               CITEBOT_INDEX_DIR=str(cfg.index_dir), CITEBOT_ALLOWED_USERS=",".join(map(str, ALLOWED)),
               CITEBOT_RATE_LIMIT_PER_MINUTE="30", PYTHONUNBUFFERED="1")
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "citebot", "bot"], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        api.wait_for(lambda: "getUpdates" in api.requests or proc.poll() is not None, 120, "the bot to poll")
        assert proc.poll() is None, log_path.read_text()
        yield {"api": api, "proc": proc, "log": log_path, "paths": paths, "cfg": cfg}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        api.stop()


def _last(api: FakeBotAPI, chat_id: int, n: int = 1):
    return api.wait_messages(chat_id, n)[n - 1]


@needs_seed
def test_answers_the_seed_question_with_the_extract_and_its_citation(bot_env):
    api = bot_env["api"]
    api.message(11, "How much Russian territory does Kyiv control?")
    reply = _last(api, 11)
    assert reply.params["parse_mode"] == "HTML"
    assert html_error(reply.text) is None
    assert "<b>He told Ukrainian TV that Kyiv now controls 500 square miles of Russian soil.</b>" in reply.text
    assert "Putin placed on back foot as Ukraine launches SECOND incursion into Russian territory" in reply.text
    assert "28 Aug 2024" in reply.text
    assert reply.text.startswith("1. «")
    assert json.loads(json.dumps(reply.params.get("link_preview_options")))["is_disabled"] is True
    actions = [s for s in api.sent if s.method == "sendChatAction" and s.chat_id == 11]
    assert actions and actions[0].params["action"] == "typing"


def test_more_button_shows_the_next_results(bot_env):
    api = bot_env["api"]
    api.message(21, "What did the Wend flood water reach?")
    first = _last(api, 21)
    assert "flood" in visible_text(first.text)
    markup = first.params.get("reply_markup")
    assert markup, "the answer offers a More button"
    button = markup["inline_keyboard"][0][0]
    assert button["text"] == "More"
    api.press(21, first, button["callback_data"])
    second = _last(api, 21, 2)
    assert second.text.startswith("4. «") and "flood" in visible_text(second.text)
    assert any(s.method == "answerCallbackQuery" for s in api.sent)


def test_in_a_group_it_answers_mentions_and_ignores_chatter(bot_env):
    api = bot_env["api"]
    api.message(12, "lovely weather today", chat_id=-1001, kind="group")
    api.message(12, "@citebot_test_bot who won the Wendford marathon?", chat_id=-1001, kind="group")
    reply = _last(api, -1001)
    assert "Grace Wanjiru" in visible_text(reply.text)
    time.sleep(0.5)
    assert len(api.messages_to(-1001)) == 1, "group chatter got no reply"
    api.message(12, "/ask how many jets did Skylark Air order?", chat_id=-1001, kind="group")
    jets = _last(api, -1001, 2)
    assert "40" in visible_text(jets.text)
    api.message(12, "where will its new base be?", chat_id=-1001, kind="group", reply_to=api._as_message(jets))
    assert "Wendford airport" in visible_text(_last(api, -1001, 3).text)


def test_a_short_follow_up_continues_the_previous_question(bot_env):
    api = bot_env["api"]
    api.message(13, "Who won the Wendford marathon?")
    assert "Wanjiru" in visible_text(_last(api, 13).text)
    api.message(13, "and the men's race?")
    bold = re.search(r"<b>(.*?)</b>", _last(api, 13, 2).text).group(1)
    assert visible_text(bold).startswith("The men's race was won by local runner Owen Price")


def test_a_stranger_is_refused_and_gets_nothing_from_the_index(bot_env):
    api = bot_env["api"]
    api.message(STRANGER, "Why was the Wend bridge closed?")
    reply = _last(api, STRANGER)
    assert "only answers" in reply.text
    time.sleep(0.5)
    assert len(api.messages_to(STRANGER)) == 1
    assert "Wend" not in reply.text


def test_a_channel_it_was_not_set_up_for_gets_no_refusal_posted(bot_env):
    api = bot_env["api"]
    text = "@citebot_test_bot who won the Wendford marathon?"
    api._push({"channel_post": {"message_id": 9001, "date": int(time.time()), "text": text,
                                "chat": {"id": -100777, "type": "channel", "title": "News"},
                                "entities": [{"type": "mention", "offset": 0, "length": 18}]}})
    api.message(53, "Who won the Wendford marathon?")
    _last(api, 53)
    time.sleep(0.5)
    assert api.messages_to(-100777) == []


def test_a_button_without_its_message_is_answered_politely(bot_env):
    api = bot_env["api"]
    api._push({"callback_query": {"id": "cb-nomsg", "from": api._user(54), "chat_instance": "ci",
                                  "data": "more:0:3", "inline_message_id": "inline-1"}})
    answered = api.wait_for(lambda: [s for s in api.sent if s.method == "answerCallbackQuery"
                                     and s.params.get("callback_query_id") == "cb-nomsg"], 30, "the callback answer")
    assert "expired" in answered[0].params.get("text", "")
    assert "Traceback" not in bot_env["log"].read_text(errors="replace")


def test_a_sticker_and_a_huge_question_get_hints(bot_env):
    api = bot_env["api"]
    api.sticker(31)
    assert "only read text" in _last(api, 31).text
    api.message(31, "why " * 900)  # 3,600 characters
    hint = _last(api, 31, 2).text
    assert "3,600 characters" in hint
    api.message(31, "Who won the award for a zero-waste kitchen?")
    assert "Blue Heron" in visible_text(_last(api, 31, 3).text), "the bot is still answering"


def test_html_hostile_article_text_is_escaped(bot_env):
    api = bot_env["api"]
    api.message(41, "How much did the harbour café charge for fish and chips?")
    reply = _last(api, 41)
    assert html_error(reply.text) is None
    shown = visible_text(reply.text)
    assert "fish & chips for <£5" in shown
    assert "Fish & Chips <Deluxe> *special* _offer_" in shown
    assert not [r for r in api.rejected if r[0] == "sendMessage"], api.rejected


def test_twenty_chats_at_once_each_get_their_own_answer(bot_env):
    api = bot_env["api"]
    questions = [("Who won the Wendford marathon?", "Wanjiru"),
                 ("How many jets did Skylark Air order?", "40"),
                 ("What interest rate did the Bank of Northland keep?", "3.75%"),
                 ("How much will the tram line cost?", "310"),
                 ("What temperature did Orsley record?", "41.3C")]
    users = list(range(100, 120))
    start = time.monotonic()
    for i, user in enumerate(users):
        api.message(user, questions[i % len(questions)][0])
    for i, user in enumerate(users):
        reply = _last(api, user)
        assert questions[i % len(questions)][1] in visible_text(reply.text), (user, reply.text[:200])
    assert time.monotonic() - start < 120


def test_flood_control_429_is_honoured(bot_env):
    api = bot_env["api"]
    api.fail_next["sendMessage"] = 1
    api.message(51, "Who won the Wendford marathon?")
    reply = _last(api, 51)
    assert "Wanjiru" in visible_text(reply.text)
    assert bot_env["proc"].poll() is None


def test_an_error_in_one_update_is_apologised_for_and_the_bot_goes_on(bot_env):
    api = bot_env["api"]
    api.break_next["sendChatAction"] = 1  # the handler fails half-way through
    api.message(52, "Who won the Wendford marathon?")
    assert "Sorry, something went wrong" in _last(api, 52).text
    api.message(52, "Who won the Wendford marathon?")
    assert "Wanjiru" in visible_text(_last(api, 52, 2).text)


def test_the_rate_limit_answers_politely(bot_env):
    api = bot_env["api"]
    for _ in range(32):
        api.message(150, "Who won the Wendford marathon?")
    replies = api.wait_messages(150, 32)
    assert sum("faster than I can keep up" in r.text for r in replies) == 2
    assert sum("Wanjiru" in visible_text(r.text) for r in replies) == 30


def test_start_help_and_sources(bot_env):
    api = bot_env["api"]
    api.message(61, "/start")
    assert "/ask" in _last(api, 61).text
    api.message(61, "/sources")
    assert "articles indexed" in _last(api, 61, 2).text


def test_a_new_index_is_served_without_a_restart(bot_env):
    from citebot.index.building import build
    from citebot.index.encoders.factory import load_encoder

    api = bot_env["api"]
    extra = write_articles(Path(bot_env["cfg"].index_dir).parent / "later",
                           {"owl.json": {"id": "owl", "title": "Snowy owl seen over Wendford",
                                         "text": "A snowy owl was seen over Wendford cathedral on Sunday, "
                                                 "the first in 40 years."}})
    build(bot_env["paths"] + [extra], bot_env["cfg"], load_encoder(), on_problem=print)
    api.message(71, "Where was the snowy owl seen?")
    assert "cathedral" in visible_text(_last(api, 71).text)


def test_the_bot_speaks_the_askers_language_and_quotes_verbatim(bot_env):
    """Its own words follow Telegram's language_code (Russian, Ukrainian; English otherwise)."""
    api = bot_env["api"]
    api.languages.update({171: "ru", 172: "uk-UA", 173: "de"})
    api.message(171, "/help")
    assert "Задайте вопрос о проиндексированных статьях" in _last(api, 171).text
    api.message(171, "What is the boiling point of liquid nitrogen?")
    assert _last(api, 171, 2).text == "Не найдено: в проиндексированных статьях нет ответа на этот вопрос."
    api.message(172, "/start")
    assert "Поставте запитання" in _last(api, 172).text
    api.message(172, "What did the Wend flood water reach?")
    first = _last(api, 172, 2)
    assert "flood" in visible_text(first.text), "quotes stay in the article's language"
    assert first.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Ще"
    api.message(173, "What is the boiling point of liquid nitrogen?")
    assert _last(api, 173).text.startswith("Not found")


def test_sigterm_stops_cleanly_and_the_token_never_appears(bot_env):
    proc, log_path = bot_env["proc"], bot_env["log"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    output = log_path.read_text(errors="replace")
    assert "citebot bot starting" in output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
