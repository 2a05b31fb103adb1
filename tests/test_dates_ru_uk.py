"""Russian and Ukrainian time words become the same periods as English ones (dates_ru_uk.py)."""
import datetime as dt

import pytest

from citebot.index.answer.question import parse_question

NOW = dt.date(2025, 12, 15)  # a Monday


@pytest.mark.parametrize("question, start, end", [
    ("Как проголосовали депутаты за трамвай в мае 2025 года?", "2025-05-01", "2025-05-31"),
    ("Як проголосували депутати за трамвай у травні 2025 року?", "2025-05-01", "2025-05-31"),
    ("Кто выиграл марафон в апреле?", "2025-04-01", "2025-04-30"),
    ("Хто виграв марафон у квітні?", "2025-04-01", "2025-04-30"),
    ("Что произошло на прошлой неделе?", "2025-12-08", "2025-12-14"),
    ("Що сталося з мостом минулого тижня?", "2025-12-08", "2025-12-14"),
    ("Что было в прошлом месяце?", "2025-11-01", "2025-11-30"),
    ("Що було минулого місяця?", "2025-11-01", "2025-11-30"),
    ("Що відбулося торік?", "2024-01-01", "2024-12-31"),
    ("Что было в этом году?", "2025-01-01", "2025-12-31"),
    ("Что случилось три дня назад?", "2025-12-12", "2025-12-12"),
    ("Що було два тижні тому?", "2025-12-01", "2025-12-07"),
    ("Что случилось за последние 10 дней?", "2025-12-05", "2025-12-15"),
    ("Какая погода была вчера?", "2025-12-14", "2025-12-14"),
    ("Що відбулося 12 квітня 2025 року?", "2025-04-12", "2025-04-12"),
    ("Что изменилось с марта?", "2025-03-01", "2025-12-15"),
    ("Що змінилося з 3 березня 2025 року?", "2025-03-03", "2025-12-15"),
    ("Кто победил на выборах в 2004 году?", "2004-01-01", "2004-12-31"),
    ("Які рекорди були у 1990-х?", "1990-01-01", "1999-12-31"),
])
def test_periods(question, start, end):
    q = parse_question(question, NOW)
    assert q.language in ("ru", "uk")
    assert q.period is not None, question
    assert (q.period.start, q.period.end) == (start, end)


def test_month_words_leave_the_question():
    q = parse_question("Сколько будет стоить трамвай в мае 2025 года?", NOW)
    assert "мае" not in q.rest and "трамвай" in q.rest
    assert q.period.label == "май 2025"


@pytest.mark.parametrize("question", ["Кто такой Май?", "Сколько людей живёт в Мае?", "Сколько стоит проезд на трамвае?",
                                      "Що таке травлення?"])
def test_no_period(question):
    assert parse_question(question, NOW).period is None


def test_latest_news():
    for question in ("Какие последние новости о мосте?", "Що нового про музей?", "Останні новини про пором?"):
        q = parse_question(question, NOW)
        assert q.dates.recency and q.dates.news, question
