"""Scraped-page furniture goes; every sentence of the article stays, once; metadata is lifted."""
from citebot.index.text.cleaning import clean_article_text
from citebot.index.text.dates import to_iso_date

from conftest import SEED_ARTICLE, needs_seed


@needs_seed
def test_seed_article_is_cleaned_to_its_sentences_and_metadata():
    c = clean_article_text(SEED_ARTICLE.read_text(encoding="utf-8"))
    assert c.title == "Putin placed on back foot as Ukraine launches SECOND incursion into Russian territory"
    assert c.author == "Jack Walters"
    assert c.published == "2024-08-28"
    for noise in ("REUTERS", "Reuters", "By Jack Walters", "Published", "Updated", "09:08",
                  "LATEST DEVELOPMENTS", "You may like", "ZelenskyVolodymyr", "regionUkrainian"):
        assert noise not in c.text, noise
    assert c.title not in c.text
    for sentence in ("He told Ukrainian TV that Kyiv now controls 500 square miles of Russian soil.",
                     "The ex-Soviet state is fighting back after Russia launched its invasion in February 2022",
                     "Zelensky has also defended his decision to send troops into Russia.",
                     "trust only official sources of information."):
        assert c.text.count(sentence) == 1, sentence
    assert c.text.rstrip().endswith("we believe that the main goal will be reached.\u201d")


def test_glued_captions_credits_and_trailers_are_dropped():
    raw = ("Mayor opens new harbour wall\n\nBy Ada Quinn\n\nPublished: 03/02/2025\n\n"
           "The mayor opened the new harbour wall on Monday.\n\n"
           "Crowds at the harbourCrowds at the harbour Getty Images\n\nAFP via Getty Images\n\n"
           "It cost 12 million pounds and took two years.\n\nMost read\nSomething else entirely.\n")
    c = clean_article_text(raw)
    assert c.text == "The mayor opened the new harbour wall on Monday.\n\nIt cost 12 million pounds and took two years."
    assert (c.title, c.author, c.published) == ("Mayor opens new harbour wall", "Ada Quinn", "2025-02-03")


def test_hard_wrapped_lines_join_into_one_paragraph():
    raw = "Title here\n\nThe committee met for the first time since the\nelection and agreed a budget.\n"
    assert clean_article_text(raw).text == "The committee met for the first time since the election and agreed a budget."


def test_repeated_paragraphs_are_kept_once():
    raw = "T\n\nSame paragraph twice.\n\nSame paragraph twice.\n\nAnother one."
    assert clean_article_text(raw).text == "Same paragraph twice.\n\nAnother one."


def test_dates_are_read_day_first_and_returned_as_iso():
    assert to_iso_date("28/08/2024") == "2024-08-28"
    assert to_iso_date("2024-08-28T09:08:00+01:00") == "2024-08-28"
    assert to_iso_date("3 March 2025") == "2025-03-03"
    assert to_iso_date("no date here") is None
    assert to_iso_date(None) is None


def test_a_line_inside_a_paragraph_is_never_dropped_and_drops_are_recorded():
    raw = "T\n\nThe gas hydrogen peroxide (H\n2O\n2) is a liquid.\n\nREUTERS\n\nThe next paragraph."
    c = clean_article_text(raw)
    assert c.text == "The gas hydrogen peroxide (H 2O 2) is a liquid.\n\nThe next paragraph."
    assert c.gaps == [c.text.index("The next")]  # a caption was dropped between them


def test_cleaning_a_long_repetitive_line_takes_linear_time():
    import time

    def cost(n: int) -> float:
        line = "Crowds at the harbour " * n
        t = time.perf_counter()
        clean_article_text("Title\n\n" + line + "\n\n" + "[" * (n * 20) + "\n")
        return time.perf_counter() - t

    cost(100)
    short, long = cost(2_000), cost(20_000)  # 44 kB and 440 kB lines, measured in one run
    assert long < 30 * short + 0.05, (short, long)  # quadratic would be ~100x


def test_control_characters_and_lone_surrogates_are_removed():
    c = clean_article_text("Title\x1b[2J\n\nThe board \x1b[31mmet\x1b[0m on Monday \ud800today.")
    assert c.title == "Title" and c.text == "The board met on Monday ?today."  # whole escape sequences go
