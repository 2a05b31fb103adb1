"""The evaluation's question sets: SQuAD-format files (articles and their questions), answerable
questions in JSONL, questions to refuse by kind, and date questions with their period."""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Question:
    text: str
    answers: list[str]
    title: str
    impossible: bool = False
    as_of: dt.date | None = None  # asked on that day: read "this week" against it, nothing later quoted


@dataclass
class DateQuestion:
    text: str
    now: dt.date
    expect: str                 # "answer" | "refuse"
    period: tuple[str, str] | None
    answer: str | None
    kind: str
    article_id: str | None = None  # the article that answers it (the newest one, for "latest")


@dataclass
class QuestionSet:
    """One named set of questions of one kind: "answerable", "refuse" or "dates"."""
    name: str
    kind: str
    questions: list = field(default_factory=list)


def squad_articles(path: Path, id_prefix: str = "") -> tuple[list[dict], list[Question]]:
    """The file's articles (each entry's paragraphs joined) and its questions. `id_prefix` keeps a
    translation's articles apart from the original's, which share their titles."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    articles, questions = [], []
    for entry in data:
        title = entry["title"].replace("_", " ")
        text = "\n\n".join(p["context"].strip() for p in entry["paragraphs"])
        articles.append({"id": id_prefix + entry["title"], "title": title, "text": text})
        for p in entry["paragraphs"]:
            for qa in p["qas"]:
                questions.append(Question(qa["question"], [a["text"] for a in qa.get("answers", [])],
                                          title, bool(qa.get("is_impossible"))))
    return articles, questions


def translated_questions(question_file: Path, answer_file: Path, own_answers: bool = False) -> list[Question]:
    """The questions of one language's SQuAD-format file with the answers and titles of another's
    (same question ids): e.g. XQuAD's Russian questions scored on the English articles. With
    `own_answers`, the question file's own answers count too (an archive holding both languages)."""
    gold = {}
    for entry in json.loads(Path(answer_file).read_text(encoding="utf-8"))["data"]:
        for p in entry["paragraphs"]:
            for qa in p["qas"]:
                gold[qa["id"]] = ([a["text"] for a in qa.get("answers", [])], entry["title"].replace("_", " "))
    out = []
    for entry in json.loads(Path(question_file).read_text(encoding="utf-8"))["data"]:
        for p in entry["paragraphs"]:
            for qa in p["qas"]:
                if qa["id"] in gold and gold[qa["id"]][0]:
                    answers, title = gold[qa["id"]]
                    own = [a["text"] for a in qa.get("answers", [])] if own_answers else []
                    out.append(Question(qa["question"].strip(), answers + own, title))
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def answerable_jsonl(path: Path) -> list[Question]:
    """Records with `title` (as in the SQuAD file), `question` and `answer`, and optionally `as_of`
    (YYYY-MM-DD: the day it was asked, e.g. a news quiz's week)."""
    return [Question(r["question"], [r["answer"]], r["title"].replace("_", " "),
                     as_of=dt.date.fromisoformat(r["as_of"]) if r.get("as_of") else None) for r in _jsonl(path)]


def refusal_questions(path: Path) -> dict[str, list[str]]:
    """Questions the archive cannot answer, by kind: JSONL records (`question`, `kind`) or plain
    lines (kind "off-topic"; `#` starts a comment)."""
    out: dict[str, list[str]] = {}
    if Path(path).suffix == ".jsonl":
        for r in _jsonl(path):
            out.setdefault(r.get("kind", "off-topic"), []).append(r["question"])
    else:
        lines = [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines()]
        out["off-topic"] = [ln for ln in lines if ln and not ln.startswith("#")]
    return out


def date_questions(path: Path) -> list[DateQuestion]:
    return [DateQuestion(r["question"], dt.date.fromisoformat(r["now"]), r["expect"],
                         tuple(r["period"]) if r.get("period") else None, r.get("answer"), r.get("kind", ""),
                         r.get("article_id"))
            for r in _jsonl(path)]


def names_year(question: str) -> bool:
    """Whether a question names a year ("the 1966 final", "in 1898")."""
    return re.search(r"\b(1[0-9]\d\d|20\d\d)s?\b", question) is not None
