"""The reader: how a pair is encoded, the ONNX model at answer time (tiny random weights, exported
the way training exports), the reader stage of the answer path, the shipped model's checksum, and
that no evaluation text feeds its training data."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from citebot.index.answer.read import passage_of, read_candidates
from citebot.index.answer.records import Candidate, ReaderRole
from citebot.tools.reader_data import swap
from citebot.tools.reader_examples import Example, check_no_eval_text, eval_paragraphs, read, windows
from citebot.index.reader.inputs import Passage, encode, sentence_scores
from citebot.index.reader.model import WEIGHTS, Reader, Reading, ReaderUnavailable, sha256
from citebot.index.stores.base import ChunkRow

SHARED_EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
TRAM = Passage("Tram line approved", "Councillors voted 38 to 11. The line will cost £310 million. Work starts in 2026.",
               [(0, 27), (28, 60), (61, 82)], "2025-05-02")


def tokenizer():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(WEIGHTS / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


def test_each_passage_token_knows_its_sentence_and_the_window_keeps_its_end():
    enc = encode(tokenizer(), "How much will the tram cost?", TRAM, 64)
    assert enc.sentence_of[0] == -1 and len(enc.ids) == len(enc.sentence_of) == len(enc.offsets)
    read_back = {}
    for s, (a, b) in zip(enc.sentence_of, enc.offsets):
        if s >= 0:
            read_back.setdefault(s, []).append(TRAM.text[a:b].lower())
    assert "310" in "".join(read_back[1]) and "38" in "".join(read_back[0])
    short = encode(tokenizer(), "How much will the tram cost?", TRAM, 20)
    assert len(short.ids) == 20 and short.ids[-1] == enc.ids[-1]  # still ends with [SEP]
    scores = sentence_scores([0.0] * 20, short.sentence_of, 3)
    assert scores[2] == float("-inf")  # cut off the window: never bold


@pytest.fixture(scope="module")
def tiny_reader(tmp_path_factory) -> Path:
    """A reader with tiny random weights, exported exactly as training exports one."""
    from transformers import BertConfig

    from citebot.tools.reader_export import export
    from citebot.tools.reader_train import build

    config = BertConfig(vocab_size=tokenizer().get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=256)
    out = tmp_path_factory.mktemp("reader") / "weights"
    export(build("", config), WEIGHTS / "tokenizer.json", out, 96,
           {"calibration": {"a": 1.0, "b": 0.0}, "threshold": 0.5, "sure": 0.7})
    return out


def test_tiny_reader_reads_a_batch(tiny_reader):
    reader = Reader(tiny_reader, threads=1)
    other = Passage("Ferry strike", "Ferries stopped on Monday.", [(0, 26)])
    out = reader.read("How much will the tram cost?", [TRAM, other])
    assert len(out) == 2 and len(out[0].sentences) == 3 and len(out[1].sentences) == 1
    assert all(0.0 < r.probability < 1.0 for r in out)
    assert reader.threshold == 0.5 and reader.sure == 0.7
    assert reader.read("anything", []) == []


def test_a_reader_that_does_not_match_its_checksum_is_refused(tiny_reader, tmp_path):
    import shutil

    broken = tmp_path / "w"
    shutil.copytree(tiny_reader, broken)
    with open(broken / "reader.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ReaderUnavailable, match="SHA-256"):
        Reader(broken)
    with pytest.raises(ReaderUnavailable, match="not found"):
        Reader(tmp_path / "nowhere")


def test_the_shipped_reader_loads_and_matches_its_checksum():
    meta = json.loads((WEIGHTS / "reader.json").read_text())
    assert sha256(WEIGHTS / meta["graph"]) == meta["sha256"]
    assert (WEIGHTS / meta["graph"]).stat().st_size < 32 * 2**20
    reader = Reader(WEIGHTS, threads=1)
    right, wrong = reader.read("How much will the Wendford tram line cost?",
                               [TRAM, Passage("Ferry strike", "Ferry crews walked out on Monday over pay.",
                                              [(0, 42)], "2025-03-01")])
    assert right.probability > wrong.probability
    assert right.best_sentence() == 1  # the £310 million sentence


def row(cid: int, text: str, start: int = 0) -> ChunkRow:
    return ChunkRow(cid, cid, 0, start, start + len(text), text, f"a{cid}", f"Title {cid}", None, None, None,
                    None, None)


class FakeReader:
    """Says the passage holding 'answer' answers, in its second sentence."""

    def read(self, question, passages):
        return [Reading(0.0, 0.9 if "answer" in p.text else 0.1, [0.0, 1.0][:len(p.sentences)] or [0.0])
                for p in passages]


def test_the_reader_stage_orders_by_its_verdict_and_picks_the_bold_sentence():
    a = Candidate(row(1, "Nothing here. Still nothing."), 1.0, sentences=[(0, 13), (14, 28)])
    b = Candidate(row(2, "Some words. The answer is here.", start=100), 0.9, sentences=[(100, 111), (112, 131)])
    c = Candidate(row(3, "Not read at all."), 0.5, sentences=[(0, 16)])
    a.score, b.score, c.score = 0.8, 0.7, 0.6
    assert passage_of(b).sentences == [(0, 11), (12, 31)]
    out = read_candidates(FakeReader(), "Where is the answer?", [a, b, c], top=2)
    assert [x.row.id for x in out] == [2, 1, 3]
    assert out[0].reader == pytest.approx(0.9) and out[0].score == pytest.approx(0.9)
    assert out[0].best == (112, 131) and out[0].first_stage == pytest.approx(0.7)
    assert out[2].reader is None and out[2].score == 0.0


def test_a_verifying_reader_decides_but_leaves_order_and_bold_to_the_first_stage():
    a = Candidate(row(1, "Nothing here. Still nothing."), 1.0, sentences=[(0, 13), (14, 28)])
    b = Candidate(row(2, "Some words. The answer is here.", start=100), 0.9, sentences=[(100, 111), (112, 131)])
    a.score, b.score = 0.8, 0.7
    a.best = (0, 13)
    out = read_candidates(FakeReader(), "Where is the answer?", [a, b], top=2, role=ReaderRole.VERIFY)
    assert [x.row.id for x in out] == [1, 2] and out[0].score == pytest.approx(0.8) and out[0].best == (0, 13)
    assert out[0].reader == pytest.approx(0.9)  # the best reading of those read: the archive answers
    assert out[1].reader == pytest.approx(0.9) and out[0].first_stage == pytest.approx(0.8)


def test_a_ranking_reader_reorders_by_its_logit_beside_the_first_stage_score_and_nothing_else():
    a = Candidate(row(1, "Nothing here. Still nothing."), 1.0, sentences=[(0, 13), (14, 28)])
    b = Candidate(row(2, "Some words. The answer is here.", start=100), 0.9, sentences=[(100, 111), (112, 131)])
    c = Candidate(row(3, "The answer, but never read."), 0.5, sentences=[(0, 27)])
    a.score, b.score, c.score = 0.8, 0.7, 0.6
    a.best, b.best = (0, 13), (100, 111)
    # logit(0.9) - logit(0.1) = 4.39: the reader outweighs a first-stage lead of 0.1 at weight 2 ...
    out = read_candidates(FakeReader(), "Where is the answer?", [a, b, c], top=2, role=ReaderRole.RANK, rank_weight=2.0)
    assert [x.row.id for x in out] == [2, 1, 3]
    assert [x.score for x in out] == [0.7, 0.8, 0.6] and out[0].best == (100, 111)  # first-stage scores and bold
    assert out[0].reader == pytest.approx(0.9) and out[2].reader is None and out[2].first_stage == 0.6
    # ... but not a lead of 3 at weight 2 (6 > 4.39): it corrects the first stage, it does not overrule it
    a.score, b.score = 3.7, 0.7
    out = read_candidates(FakeReader(), "Where is the answer?", [a, b], top=2, role=ReaderRole.RANK, rank_weight=2.0)
    assert [x.row.id for x in out] == [1, 2]



def test_a_ranking_reader_keeps_the_first_stages_order_inside_an_article():
    """Neighbouring chunks share a sentence: promoting the neighbour of the passage the first stage
    chose would put its extract first and hide the answer the merge of overlapping extracts drops."""
    def chunk(cid: int, article: int, text: str) -> Candidate:
        return Candidate(ChunkRow(cid, article, 0, 0, len(text), text, f"a{article}", "T", None, None, None, None,
                                  None), 1.0, sentences=[(0, len(text))])
    chosen, neighbour, other = chunk(1, 7, "The bridge closed."), chunk(2, 7, "An answer nearby."), chunk(3, 8, "No.")
    chosen.score, neighbour.score, other.score = 0.9, 0.8, 0.85
    out = read_candidates(FakeReader(), "Where is the answer?", [chosen, other, neighbour], top=3, role=ReaderRole.RANK)
    assert [x.row.id for x in out] == [1, 2, 3]  # article 7 first (its neighbour reads best), its chosen chunk first
    # the first `top` all of one article: no order to change, so nothing is read (the time of a read saved)
    class Counting(FakeReader):
        calls = 0

        def read(self, question, passages):
            Counting.calls += 1
            return super().read(question, passages)
    for c in (chosen, neighbour, other):
        c.reader = None
    out = read_candidates(Counting(), "Where is the answer?", [chosen, neighbour, other], top=2, role=ReaderRole.RANK)
    assert Counting.calls == 0 and [x.row.id for x in out] == [1, 2, 3]
    assert all(x.reader is None for x in out) and out[2].first_stage == 0.85


def test_windows_follow_sentences_and_overlap_by_one():
    text = " ".join(f"Sentence {i} has five words." for i in range(60))
    spans, pos = [], 0
    for i in range(60):
        s = f"Sentence {i} has five words."
        spans.append((pos, pos + len(s)))
        pos += len(s) + 1
    ws = windows(text, spans, words=20)
    assert ws[0] == (0, 4) and ws[1][0] == 3 and ws[-1][1] == 60


def test_a_swapped_year_is_a_question_the_passage_cannot_answer():
    import random

    q = swap("Who won the 1966 World Cup final?", "England won the 1966 final at Wembley.", random.Random(1))
    assert q is not None and "1966" not in q and q.startswith("Who won the ")


@pytest.mark.skipif(not (SHARED_EVAL / "squad2-dev-5articles.json").exists(),
                    reason="the evaluation data (shared/eval) is not beside this checkout")
def test_no_evaluation_paragraph_feeds_training():
    paragraphs = eval_paragraphs(SHARED_EVAL)
    assert len(paragraphs) > 150
    leak = Example("q", "Normans", paragraphs[0], [(0, len(paragraphs[0]))], 1)
    with pytest.raises(ValueError, match="evaluation text"):
        check_no_eval_text([leak], paragraphs)
    for name in ("train.jsonl", "valid.jsonl"):  # the assembled data, where this machine has it
        path = Path("data/reader") / name
        if path.exists():
            check_no_eval_text(read(path), paragraphs)


def test_another_reader_folder_is_a_setting(tiny_reader, monkeypatch):
    from citebot.bot.answering import answer_config
    from citebot.bot.settings import Settings

    monkeypatch.setenv("CITEBOT_READER_DIR", str(tiny_reader))
    assert answer_config(Settings(_env_file=None)).reader_dir == str(tiny_reader)
    monkeypatch.setenv("CITEBOT_READER_DIR", "")
    assert answer_config(Settings(_env_file=None)).reader_dir is None


def test_the_reader_ranks_by_default_and_each_setting_names_its_role(monkeypatch):
    from citebot.bot.answering import answer_config
    from citebot.bot.settings import Settings

    assert Settings(_env_file=None).reader == "rank"
    got = answer_config(Settings(_env_file=None))
    assert got.reader and got.reader_role == ReaderRole.RANK and not got.reader_orders and not got.reader_decides
    for word, role in (("on", ReaderRole.DECIDE), ("verify", ReaderRole.VERIFY), ("rank", ReaderRole.RANK)):
        monkeypatch.setenv("CITEBOT_READER", word)
        assert answer_config(Settings(_env_file=None)).reader_role == role
    monkeypatch.setenv("CITEBOT_READER", "off")
    assert not answer_config(Settings(_env_file=None)).reader


def test_a_reader_says_which_question_languages_it_reads(tiny_reader, tmp_path):
    """The shipped reader reads English questions (Russian and Ukrainian ones are decided by the
    first stage); a reader trained for more says so in its reader.json."""
    import shutil

    assert Reader(tiny_reader, threads=1).languages == {"en"}
    more = tmp_path / "multilingual"
    shutil.copytree(tiny_reader, more)
    meta = json.loads((more / "reader.json").read_text())
    (more / "reader.json").write_text(json.dumps({**meta, "languages": ["en", "ru", "uk"]}))
    assert Reader(more, threads=1).languages == {"en", "ru", "uk"}


def test_a_fitted_decision_combines_the_reader_with_the_first_stage(tiny_reader, tmp_path):
    import shutil

    folder = tmp_path / "combined"
    shutil.copytree(tiny_reader, folder)
    plain = Reader(folder, threads=1)
    assert plain.confidence(0.3, {"cos": 0.9}) == 0.3  # no decision: the probability decides
    meta = json.loads((folder / "reader.json").read_text())
    meta["decision"] = {"bias": -2.0, "weights": {"logit": 1.0, "cos": 4.0}}
    (folder / "reader.json").write_text(json.dumps(meta))
    combined = Reader(folder, threads=1)
    low, high = combined.confidence(0.3, {"cos": 0.2}), combined.confidence(0.3, {"cos": 0.8})
    assert 0.0 < low < high < 1.0  # the same reading, more first-stage evidence: more confident
    assert combined.confidence(0.9, {"cos": 0.2}) > low
