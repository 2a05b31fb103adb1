"""Following topics, inline mode and state across restarts: the real `citebot bot` process against
the strict fake Bot API, with articles added by another process while it runs (or while it is down).

The tests share one bot and one index, in order, like a chat's history: each uses its own users
and topics.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FLOOD_ARTICLES as FLOODS, REPO, SAMPLES, write_articles
from fake_bot_api import FakeBotAPI, html_error, visible_text

TOKEN = "123456789:AAHfollowTOKENdoNotLeakItAnywhere_0123"
WATCH_S = 1
CAP = 3
GROUP, GROUP_ADMIN, GROUP_MEMBER = -2001, 77, 78
TODAY = time.strftime("%Y-%m-%d")

OWL = {"id": "owl-1", "title": "Snowy owl seen over Wendford", "published": TODAY,
       "text": "A snowy owl was seen over Wendford cathedral on Sunday, the first sighting of the Arctic bird "
               "in the town for 40 years. Birdwatchers gathered in the square to photograph it."}
BAKERY = {"id": "bakery-1", "title": "Corner Bakery raises bread prices", "published": TODAY,
          "text": "The Corner Bakery on Mill Street raised the price of a sourdough loaf to 4.20 pounds, "
                  "blaming the cost of flour and energy."}
LIFEBOAT = [  # five different stories on one topic, for the hourly cap
    "The Marrow Bay lifeboat rescued two kayakers caught by the tide off Gull Point on Monday evening.",
    "Marrow Bay lifeboat volunteers launched a new all-weather lifeboat, the Spirit of Marrow, at a ceremony on the slipway.",
    "The Marrow Bay lifeboat station needs twelve new volunteer crew members, its coxswain told a public meeting.",
    "A fishing boat with engine failure was towed home by the Marrow Bay lifeboat through a force eight gale.",
    "Children from Marrow Bay primary school raised 3,000 pounds for the lifeboat with a sponsored swim.",
]
PENGUIN = {"id": "penguins-1", "title": "Penguin chicks hatch at Wendford zoo", "published": TODAY,
           "text": "Three Humboldt penguin chicks have hatched at Wendford zoo, the first since the colony arrived "
                   "in 2019. Keepers said the chicks were healthy and feeding well."}
OLD_OWL = {"id": "owl-old", "title": "Owl sanctuary opens", "published": "2019-05-02",
           "text": "A sanctuary for injured owls opened near Wendford in May 2019; a snowy owl was among its first guests."}


class Bot:
    """`citebot bot` as a child process; start() waits until it polls."""

    def __init__(self, api: FakeBotAPI, index_dir: Path, state_dir: Path, log_path: Path):
        self.api, self.log_path = api, log_path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
        self.env.update(HF_HUB_OFFLINE="1", CITEBOT_TELEGRAM_TOKEN=TOKEN, CITEBOT_TELEGRAM_API_URL=api.base_url,
                        CITEBOT_INDEX_DIR=str(index_dir), CITEBOT_STATE_DIR=str(state_dir),
                        CITEBOT_WATCH_SECONDS=str(WATCH_S), CITEBOT_FOLLOW_MAX_PER_HOUR=str(CAP),
                        CITEBOT_RATE_LIMIT_PER_MINUTE="0", PYTHONUNBUFFERED="1")
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Bot":
        polls = self.api.requests.count("getUpdates")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "citebot", "bot"], cwd=self.log_path.parent, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)
        self.api.wait_for(lambda: self.api.requests.count("getUpdates") > polls or self.proc.poll() is not None,
                          120, "the bot to poll")
        assert self.proc.poll() is None, self.log()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                assert self.proc.wait(30) == 0, self.log()[-3000:]
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def watched(self) -> int:
        """How many index changes the bot has handled (logged) so far."""
        return self.log().count("index changed:")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from citebot.index.building import build
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.factory import load_encoder

    tmp = tmp_path_factory.mktemp("follow")
    encoder = load_encoder()
    base = write_articles(tmp / "base", FLOODS)
    cfg = IndexConfig(index_dir=tmp / "index")
    build([SAMPLES, base], cfg, encoder, on_problem=print)
    api = FakeBotAPI(TOKEN).start()
    api.admins[GROUP] = {GROUP_ADMIN}
    bot = Bot(api, cfg.index_dir, tmp / "state", tmp / "bot.log").start()

    def add(name: str, articles: dict) -> None:
        """Index more articles, as `citebot index update FOLDER` in another process would."""
        folder = write_articles(tmp / name, articles)
        build([folder], cfg, encoder, on_problem=print, incremental=True)

    try:
        yield {"api": api, "bot": bot, "cfg": cfg, "tmp": tmp, "add": add}
    finally:
        bot.stop()
        api.stop()


def _texts(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [visible_text(m.text) for m in api.messages_to(chat_id)]


def _pushes(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [t for t in _texts(api, chat_id) if t.startswith("New on")]


def _say(api: FakeBotAPI, user: int, text: str, chat_id: int | None = None, kind: str = "private") -> str:
    """Send a message and wait for the chat's next message; returns its visible text."""
    chat = chat_id or user
    before = len(api.messages_to(chat))
    api.message(user, text, chat_id=chat_id, kind=kind)
    return visible_text(api.wait_messages(chat, before + 1)[before].text)


def test_a_followed_topic_gets_a_new_article_once_and_an_unrelated_one_never(env):
    api, bot, tmp = env["api"], env["bot"], env["tmp"]
    reply = _say(api, 201, "/follow snowy owl sightings")
    assert reply.startswith("Following “snowy owl sightings”")
    seen = bot.watched()
    folder = write_articles(tmp / "owl", {"owl.json": OWL, "bakery.json": BAKERY, "old-owl.json": OLD_OWL})
    cli = subprocess.run([sys.executable, "-m", "citebot", "index", "update", str(folder)], cwd=REPO,
                         env={**bot.env, "CITEBOT_TELEGRAM_TOKEN": ""}, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    added = time.monotonic()
    push = api.wait_for(lambda: _pushes(api, 201), 30, "the owl article to be pushed")[0]
    assert time.monotonic() - added < WATCH_S + 10, "noticed within the watch interval (and a search)"
    assert push.startswith("New on “snowy owl sightings”:")
    assert "snowy owl was seen over Wendford cathedral" in push and "Snowy owl seen over Wendford" in push
    message = api.messages_to(201)[-1]
    assert html_error(message.text) is None and "<b>" in message.text
    assert "Owl sanctuary" not in push, "an article dated before the follow is not news"

    api.wait_for(lambda: bot.watched() > seen, 30, "the change to be handled")
    env["add"]("later", {"heron.json": {"id": "heron-1", "title": "Heron nests on the town hall", "published": TODAY,
                                        "text": "A grey heron has built a nest on the roof of Wendford town hall."}})
    api.wait_for(lambda: bot.watched() > seen + 1, 30, "the second change to be handled")
    time.sleep(0.5)
    assert len(_pushes(api, 201)) == 1, _pushes(api, 201)
    assert not any("Bakery" in t for t in _texts(api, 201))


def test_the_hourly_cap_holds_back_the_rest_and_following_says_so(env):
    api, bot = env["api"], env["bot"]
    _say(api, 202, "/follow Marrow Bay lifeboat")
    seen = bot.watched()
    env["add"]("lifeboat", {f"lifeboat{i}.json": {"id": f"lifeboat-{i}", "title": f"Lifeboat news {i}",
                                                  "published": TODAY, "text": text}
                            for i, text in enumerate(LIFEBOAT)})
    api.wait_for(lambda: bot.watched() > seen, 30, "the change to be handled")
    api.wait_for(lambda: len(_pushes(api, 202)) >= CAP, 30, f"{CAP} pushes")
    time.sleep(1)
    assert len(_pushes(api, 202)) == CAP
    listing = _say(api, 202, "/following")
    assert "“Marrow Bay lifeboat”" in listing and f"{CAP} articles sent" in listing
    assert f"{len(LIFEBOAT) - CAP} held back by the hourly limit" in listing


def test_in_a_group_only_its_administrators_choose_what_it_follows(env):
    api = env["api"]
    refused = _say(api, GROUP_MEMBER, "/follow Wendford zoo penguins", chat_id=GROUP, kind="group")
    assert "only its administrators" in refused
    accepted = _say(api, GROUP_ADMIN, "/follow Wendford zoo penguins", chat_id=GROUP, kind="group")
    assert accepted.startswith("Following")
    assert api.requests.count("getChatMember") >= 2, "each was checked with Telegram"
    api.message(GROUP_MEMBER, "penguins are great", chat_id=GROUP, kind="group")  # chatter: not for the bot
    time.sleep(0.5)
    assert len(api.messages_to(GROUP)) == 2


def test_a_429_during_a_fan_out_is_waited_out_and_every_follower_gets_one_message(env):
    api, bot = env["api"], env["bot"]
    followers = list(range(300, 330))
    for user in followers:
        api.message(user, "/follow Wendford zoo penguins")
    for user in followers:
        api.wait_messages(user, 1)
    seen = bot.watched()
    api.fail_calls["sendMessage"] = {api.calls["sendMessage"] + 5}  # the 5th push gets a 429
    env["add"]("penguins", {"penguins.json": PENGUIN})
    api.wait_for(lambda: all(_pushes(api, u) for u in followers), 60, "a push to every follower")
    api.wait_for(lambda: bot.watched() > seen, 30, "the change to be handled")
    assert api.floods, "the fake answered a 429"
    assert all(len(_pushes(api, u)) == 1 for u in followers)
    assert "Penguin chicks hatch" in _pushes(api, followers[0])[0]
    group = api.wait_for(lambda: [t for t in _texts(api, GROUP) if t.startswith("New on")], 30, "the group's push")
    assert len(group) == 1
    assert not api.rejected, api.rejected


def test_inline_queries_get_cited_extracts_or_a_hint(env):
    api = env["api"]
    answer = api.inline_answer(api.inline(401, "Who won the Wendford marathon?"))
    results = answer.params["results"]
    assert 1 <= len(results) <= 3
    first = results[0]
    content = first["input_message_content"]
    assert "Wanjiru" in visible_text(content["message_text"]) and html_error(content["message_text"]) is None
    assert content["parse_mode"] == "HTML" and len(content["message_text"]) <= 4096
    assert "<b>" in content["message_text"] and "—" in content["message_text"]
    assert first["title"] and "·" in first.get("description", "")
    for query in ("", "   "):
        hint = api.inline_answer(api.inline(401, query)).params["results"]
        assert len(hint) == 1 and "Ask a question" in hint[0]["input_message_content"]["message_text"]
    long = api.inline_answer(api.inline(401, "why " * 70)).params["results"]
    assert "characters long" in long[0]["input_message_content"]["message_text"]
    assert api.inline_answer(api.inline(401, "What is the airspeed of an unladen swallow?")).params["results"]
    assert not api.rejected, api.rejected


def test_a_stale_button_is_answered_politely(env):
    api = env["api"]
    first = api.wait_messages(201, 1)[0]
    api.press(201, first, "0" * 64)  # data the bot never gave out (or forgot)
    answered = api.wait_for(lambda: [s for s in api.sent if s.method == "answerCallbackQuery"
                                     and "expired" in s.params.get("text", "")], 30, "the callback answer")
    assert answered
    assert "Traceback" not in env["bot"].log()


def test_a_restart_keeps_follows_more_buttons_and_context_and_pushes_what_came_meanwhile(env):
    api, bot, tmp = env["api"], env["bot"], env["tmp"]
    first = _say(api, 203, "What did the Wend flood water reach?")
    assert "flood" in first
    asked = next(m for m in api.messages_to(203) if m.params.get("reply_markup"))
    button = asked.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "More"
    _say(api, 203, "Who won the Wendford marathon?")
    _say(api, 203, "/follow heron nests")

    bot.stop()
    env["add"]("meanwhile", {"heron2.json": {"id": "heron-2", "title": "Second heron nest found",
                                             "published": TODAY,
                                             "text": "A second heron nest was found on the roof of Wendford "
                                                     "library, beside the first one on the town hall."}})
    state = (tmp / "state" / "telegram-state.pickle").read_bytes()
    assert TOKEN.encode() not in state and TOKEN.split(":")[1].encode() not in state
    bot.start()

    pushed = api.wait_for(lambda: _pushes(api, 203), 30, "the article indexed while the bot was down")
    assert "Second heron nest" in pushed[0]
    time.sleep(0.5)
    assert len(_pushes(api, 300)) == 1 and len(_pushes(api, 201)) == 1, "a heron is news only to heron followers"
    api.press(203, asked, button["callback_data"])  # a More button from before the restart
    more = api.wait_for(lambda: [t for t in _texts(api, 203) if t.startswith("4. «")], 60, "the next passages")
    assert "flood" in more[0]
    follow_up = _say(api, 203, "and the men's race?")
    assert "Owen Price" in follow_up, "the follow-up context survived the restart"
    listing = _say(api, 203, "/following")
    assert "“heron nests”" in listing and "1 article sent" in listing


def test_a_damaged_state_file_is_moved_aside_and_the_bot_starts_clean(env):
    api, bot, tmp = env["api"], env["bot"], env["tmp"]
    bot.stop()
    state = tmp / "state" / "telegram-state.pickle"
    state.write_bytes(b"\x80\x05not a pickle at all")
    bot.start()
    assert _say(api, 204, "Who won the Wendford marathon?").find("Wanjiru") >= 0
    assert "cannot be read" in bot.log() and "starts with a clean state" in bot.log()
    assert list((tmp / "state").glob("telegram-state.pickle.bad-*"))
    assert "Following" in _say(api, 204, "/follow snowy owls")
    assert TOKEN not in bot.log() and TOKEN.split(":")[1] not in bot.log()
    assert not api.rejected, api.rejected
