"""What the archive lacks (CITEBOT_UNANSWERED_LOG): each question answered "not found" or only
tentatively is one JSON line — time, language, reason, question, never who asked — and
`citebot unanswered` lists the most asked, rewordings counted together."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
from types import SimpleNamespace

import pytest

from conftest import write_articles

pytestmark = pytest.mark.usefixtures("no_leaks")


def not_found(question: str, reason: str = "not_relevant"):
    from citebot.index.answer.records import Answer

    return Answer(question, False, [], 0.0, reason=reason)


class FakeRetriever:
    """Answers every question with `answer`, and remembers what it was asked."""

    def __init__(self, answer=None):
        self.answer_with = answer
        self.asked: list[tuple] = []

    def answer(self, question, k=None, offset=0, focus=None, as_of=None, explain=False):
        self.asked.append((question, k, offset, focus, as_of))
        return self.answer_with or not_found(question)


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_a_telegram_question_is_logged_without_anything_that_names_who_asked(tmp_path):
    from citebot.bot.settings import Settings
    from citebot.bot.telegram import handlers
    from citebot.bot.telegram.context import ChatData, Runtime

    log = tmp_path / "unanswered.jsonl"
    settings = Settings(unanswered_log=log)
    sent: list[str] = []

    async def send_message(chat_id, text, **kw):
        sent.append(text)

    async def send_chat_action(chat_id, action):
        pass

    user = SimpleNamespace(id=4711042, username="alice_wonder", first_name="Alicia", last_name="Wonderlandova",
                           full_name="Alicia Wonderlandova", language_code="en")
    update = SimpleNamespace(effective_chat=SimpleNamespace(id=-100987654321, type="private"), effective_user=user,
                             effective_message=SimpleNamespace(text="x"))
    runtime = Runtime(settings, FakeRetriever())
    context = SimpleNamespace(runtime=runtime, settings=settings, chat_data=ChatData(),
                              bot=SimpleNamespace(send_message=send_message, send_chat_action=send_chat_action,
                                                  username="citebot_test_bot"))
    try:
        asyncio.run(handlers.answer(update, context, "Who won the 2031 Mars race?"))
        asyncio.run(handlers.answer(update, context, "my token is 123456789:AAHfromAchatTOKENfromAchatTOKEN_0123 ok?"))
    finally:
        runtime.executor.shutdown()
    assert sent and "Not found" in sent[0]
    text = log.read_text(encoding="utf-8")
    for identifier in ("4711042", "alice_wonder", "Alicia", "Wonderlandova", "987654321", "citebot_test_bot",
                       "AAHfromAchatTOKEN"):
        assert identifier not in text
    first, second = lines(log)
    assert set(first) == {"time", "language", "reason", "question"}
    assert first["question"] == "Who won the 2031 Mars race?" and first["language"] == "en"
    assert first["reason"] == "not_relevant" and dt.datetime.fromisoformat(first["time"]).utcoffset() == dt.timedelta(0)
    assert second["question"] == "my token is [secret] ok?"


def test_only_first_pages_that_fail_or_hesitate_are_noted(tmp_path):
    from citebot.bot.answering import ask
    from citebot.bot.settings import Settings
    from citebot.index.answer.records import Answer

    log = tmp_path / "unanswered.jsonl"
    settings = Settings(unanswered_log=log)
    sure = Answer("q", True, [], 1.0, confidence=0.9)
    tentative = Answer("q", True, [], 1.0, confidence=0.3, tentative=True)
    ask(FakeRetriever(sure), settings, "When did the harbour open?", 3)
    ask(FakeRetriever(), settings, "Who won the 2031 Mars race?", 3, offset=3)  # More: asked already
    ask(FakeRetriever(), settings, "Who won the 20", 3, note=False)  # inline mode, half typed
    ask(FakeRetriever(), settings, "Who won the Mars race?", 3, as_of=dt.date(2020, 1, 1))  # the archive then
    assert lines(log) == []
    ask(FakeRetriever(tentative), settings, "Кто выиграл гонку на Марс?", 3)
    ask(FakeRetriever(not_found("q", "period_empty")), settings, "What happened in May 1850?", 3)
    assert [(e["reason"], e["language"]) for e in lines(log)] == [("tentative", "ru"), ("period_empty", "en")]
    ask(FakeRetriever(), Settings(), "Who won the 2031 Mars race?", 3)  # not set: nothing written anywhere
    assert len(lines(log)) == 2


def test_a_log_that_cannot_be_written_does_not_stop_the_answer(tmp_path, caplog):
    from citebot.bot.answering import ask
    from citebot.bot.settings import Settings

    settings = Settings(unanswered_log=tmp_path / "missing-folder" / "log.jsonl")
    assert ask(FakeRetriever(), settings, "Who won the 2031 Mars race?", 3).answer_found is False
    assert "cannot append to CITEBOT_UNANSWERED_LOG" in caplog.text


@pytest.fixture(scope="module")
def harbour_index(tmp_path_factory, encoder):
    from citebot.index.building import build
    from citebot.index.config import IndexConfig

    tmp = tmp_path_factory.mktemp("unanswered")
    src = write_articles(tmp / "src", {"0.json": {"id": "harbour", "title": "Harbour board agrees moorings",
                                                  "text": "The harbour board agreed 40 new moorings on Monday. "
                                                          "Fishermen welcomed the vote."}})
    cfg = IndexConfig(index_dir=tmp / "index")
    build([src], cfg, encoder, on_problem=print)
    return cfg.index_dir


def test_citebot_unanswered_groups_rewordings_of_questions_asked_on_the_terminal(cli, harbour_index, tmp_path):
    log = tmp_path / "unanswered.jsonl"
    env = {"CITEBOT_INDEX_DIR": str(harbour_index), "CITEBOT_UNANSWERED_LOG": str(log)}
    for question in ("Who won the 2031 Mars race?", "who won the Mars race in 2031", "Who won the 2031 Mars race?",
                     "What is the price of tea in Lhasa?"):
        code, out, _ = cli("ask", question, env=env)
        assert code == 0 and "Not found" in out
    code, out, _ = cli("ask", "How many new moorings did the harbour board agree?", env=env)
    assert code == 0 and "40 new moorings" in out
    assert len(lines(log)) == 4
    code, out, _ = cli("unanswered", "--json", env=env)
    report = json.loads(out)
    assert code == 0 and report["questions"] == 4
    mars, tea = report["groups"]
    assert (mars["question"], mars["count"], mars["wordings"]) == ("Who won the 2031 Mars race?", 3, 2)
    assert mars["reasons"] == {"period_empty": 3}  # 2031: no article from then and mars["language"] == "en"
    assert tea["count"] == 1
    code, out, _ = cli("unanswered", "--top", "1", env=env)
    assert code == 0 and out.splitlines()[0] == "3  Who won the 2031 Mars race?" and "Lhasa" not in out
    assert "last asked just now · period not indexed 3 · 2 wordings" in out


def test_since_keeps_the_recent_days_and_what_is_unset_or_empty_says_so(cli, tmp_path):
    from citebot.bot.unanswered import record

    log = tmp_path / "unanswered.jsonl"
    now = dt.datetime.now(dt.timezone.utc)
    record(log, "Who won the 2031 Mars race?", not_found("q"), now=now - dt.timedelta(days=10))
    record(log, "Who opened the Wend bridge?", not_found("q"), now=now - dt.timedelta(hours=2))
    with open(log, "a", encoding="utf-8") as f:
        f.write("not json\n")  # a damaged line is passed over
    env = {"CITEBOT_UNANSWERED_LOG": str(log)}
    code, out, _ = cli("unanswered", "--json", "--since", "7", env=env)
    assert code == 0 and [g["question"] for g in json.loads(out)["groups"]] == ["Who opened the Wend bridge?"]
    assert json.loads(cli("unanswered", "--json", env=env)[1])["questions"] == 2
    code, out, err = cli("unanswered")
    assert code == 1 and "CITEBOT_UNANSWERED_LOG" in err and len(err.strip().splitlines()) == 1
    code, out, _ = cli("unanswered", env={"CITEBOT_UNANSWERED_LOG": str(tmp_path / "none.jsonl")})
    assert code == 0 and out.startswith("nothing recorded")
