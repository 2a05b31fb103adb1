"""How an extract reads on each front end: verbatim words, the bold sentence, and a paragraph break
shown as one (a standfirst without a full stop must not run into the next paragraph)."""
from __future__ import annotations

from citebot.bot.render import answer_to_json, answer_to_text, paragraphs
from citebot.bot.telegram.rendering import answer_messages
from citebot.index.answer.records import Answer
from citebot.index.records import Hit

EXTRACT = ("Councillors voted 38 to 11 after a debate that ran past midnight\n\n"
           "The scheme is expected to cost £310 million.  Work starts in spring.")


def hit() -> Hit:
    start = EXTRACT.index("The scheme")
    end = EXTRACT.index("Work") - 2
    return Hit(article_id="tram", chunk_id=1, title="Tram approved", source="Gazette", url="https://example.org/t",
               published="2025-05-12", path=None, score=0.9, extract=EXTRACT, highlight_start=start,
               highlight_end=end, extract_start=0, extra={})


def test_paragraphs_keep_breaks_and_collapse_other_whitespace():
    assert paragraphs("a  b\n\n  c\td") == "a b\nc d"
    assert paragraphs("end of one\n", "   ") == "end of one\n   "


def test_a_paragraph_break_shows_in_the_terminal_in_telegram_and_in_json():
    answer = Answer("How much will the tram cost?", True, [hit()], 0.9)
    text = answer_to_text(answer)
    assert "past midnight\n   **The scheme is expected to cost £310 million.**  Work" not in text  # one space
    assert "past midnight\n   **The scheme is expected to cost £310 million.** Work starts in spring." in text
    html = answer_messages(answer)[0]
    assert "past midnight\n<b>The scheme is expected to cost £310 million.</b> Work" in html
    assert answer_to_json(answer)["results"][0]["extract"] == EXTRACT  # the text as quoted
