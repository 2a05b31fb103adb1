"""Asking as of a past day: a research desk going back over March, or a reproducible evaluation.
"This week" reads against that day, and nothing published after it is quoted."""
from __future__ import annotations

import json

from conftest import write_articles

ARTICLES = {
    "march.json": {"id": "march", "title": "Harbour ferry suspended after hull crack", "published": "2025-03-11",
                   "text": "The Kelmouth harbour ferry was suspended on Tuesday after inspectors found a crack in "
                           "its hull. The operator said repairs would take about three weeks.\n\nCommuters were "
                           "told to use the coastal bus route until the ferry returns."},
    "june.json": {"id": "june", "title": "Harbour ferry sold to a museum", "published": "2025-06-04",
                  "text": "The Kelmouth harbour ferry has been sold to the maritime museum for one pound. "
                          "It will be moored beside the old lighthouse as an exhibit.\n\nA new electric ferry "
                          "takes over the crossing next spring."},
}


def _ask(cli, *args):
    code, out, err = cli("ask", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_this_week_reads_against_the_day_asked_and_later_articles_are_not_quoted(cli, tmp_path, monkeypatch):
    write_articles(tmp_path / "src", ARTICLES)
    assert cli("index", "build", str(tmp_path / "src"))[0] == 0

    week = _ask(cli, "What happened to the Kelmouth harbour ferry this week?", "--as-of", "2025-03-13")
    assert week["answer_found"] and week["results"][0]["article_id"] == "march"
    assert all(r["article_id"] != "june" for r in week["results"])

    today = _ask(cli, "What happened to the Kelmouth harbour ferry this week?")  # 2025 is long past
    assert not today["answer_found"]

    # no period named: still nothing from after the day asked
    before = _ask(cli, "What happened to the Kelmouth harbour ferry?", "--as-of", "2025-04-01")
    assert before["results"] and all(r["article_id"] == "march" for r in before["results"])
    anytime = _ask(cli, "Who bought the Kelmouth harbour ferry?")
    assert anytime["results"][0]["article_id"] == "june"

    monkeypatch.setenv("CITEBOT_AS_OF", "2025-04-01")  # the setting does the same
    assert all(r["article_id"] == "march" for r in _ask(cli, "Who bought the Kelmouth harbour ferry?")["results"])


def test_a_day_that_is_not_a_date_is_one_line(cli, tmp_path):
    write_articles(tmp_path / "src", ARTICLES)
    assert cli("index", "build", str(tmp_path / "src"))[0] == 0
    code, out, err = cli("ask", "anything", "--as-of", "March 2025")
    assert code == 2 and "--as-of takes a date as YYYY-MM-DD" in err and len(err.strip().splitlines()) == 1


def test_eval_asks_a_dated_question_as_of_its_day(tmp_path):
    import datetime as dt

    from citebot.tools.evaluation import Recorder, evaluate_answerable
    from citebot.tools.question_sets import answerable_jsonl

    path = tmp_path / "quiz.jsonl"
    path.write_text(json.dumps({"title": "Ferry", "question": "What was suspended this week?", "answer": "ferry",
                                "as_of": "2025-03-13"}) + "\n" +
                    json.dumps({"title": "Ferry", "question": "Who bought it?", "answer": "museum"}) + "\n")
    questions = answerable_jsonl(path)
    assert [q.as_of for q in questions] == [dt.date(2025, 3, 13), None]

    class Asked:
        def __init__(self):
            self.seen = []

        def answer(self, text, k=5, now=None, as_of=None):
            from citebot.index.answer.records import Answer

            self.seen.append(as_of)
            return Answer(text, False, [], 0.0)

    retriever = Asked()
    evaluate_answerable(Recorder(retriever, as_of=dt.date(2025, 6, 30)), "quiz", questions)
    assert retriever.seen == [dt.date(2025, 3, 13), dt.date(2025, 6, 30)]  # its own day, else the run's
