"""Reworded questions for the reader's training: synonyms of a word's dominant sense only, the
answering passage's words swapped out, and never a reworded answer without its near misses."""
import random

from citebot.tools.reader_paraphrase import WordNet, inflect, reword, reworded_copies

# A made-up WordNet in the database's own format: "forebear"/"ancestor" share their dominant noun
# sense; "plane" is mostly an aircraft, and its rare verb sense is shared with "shave", whose own
# dominant sense is another one.
INDEX = {
    "noun": ["forebear n 1 1 @ 1 1 00000001", "ancestor n 1 1 @ 1 1 00000001",
             "plane n 1 1 @ 1 1 00000002", "airliner n 1 1 @ 1 1 00000002",
             "raid n 1 1 @ 1 1 00000003", "foray n 1 1 @ 1 1 00000003"],
    "verb": ["plane v 1 1 @ 1 1 00000010", "shave v 2 1 @ 2 2 00000011 00000010",
             "come v 1 1 @ 1 1 00000012", "arrive v 1 1 @ 1 1 00000012"],
    "adj": [],
}
DATA = {
    "noun": ["00000001 03 n 02 forebear 0 ancestor 0 000 | one from whom a person is descended",
             "00000002 06 n 02 plane 0 airliner 0 000 | an aircraft",
             "00000003 04 n 02 raid 0 foray 0 000 | a sudden attack"],
    "verb": ["00000010 35 v 02 plane 0 shave 0 000 | cut with a plane",
             "00000011 29 v 01 shave 0 000 | remove body hair",
             "00000012 38 v 02 come 0 arrive 0 000 | reach a place"],
    "adj": [],
}
COUNTS = ["forebear%1:18:00:: 1 5", "ancestor%1:18:00:: 1 9", "plane%1:06:01:: 1 21",
          "plane%2:35:00:: 1 2", "shave%2:29:00:: 1 6", "shave%2:35:00:: 2 1", "airliner%1:06:00:: 1 4",
          "raid%1:04:00:: 1 4", "foray%1:04:00:: 1 3", "come%2:38:00:: 1 40", "arrive%2:38:00:: 1 30"]


def wordnet(tmp_path) -> WordNet:
    for pos in ("noun", "verb", "adj"):
        (tmp_path / f"index.{pos}").write_text("  licence header\n" + "\n".join(INDEX[pos]) + "\n")
        (tmp_path / f"data.{pos}").write_text("  licence header\n" + "\n".join(DATA[pos]) + "\n")
    (tmp_path / "noun.exc").write_text("")
    (tmp_path / "cntlist.rev").write_text("\n".join(COUNTS) + "\n")
    return WordNet(tmp_path)


def test_synonyms_of_the_dominant_sense_only(tmp_path):
    wn = wordnet(tmp_path)
    assert wn.synonyms("forebears") == ["ancestors"]  # the plural put back on the synonym
    assert wn.synonyms("plane") == ["airliner"]       # the noun (21 tagged) over the verb (2): never "shave"
    assert wn.synonyms("unknownword") == []
    assert inflect("ancestor", "noun", "s") == "ancestors"
    assert inflect("arrive", "verb", "ed") == "arrived"


def test_reword_swaps_the_words_the_passage_shares(tmp_path):
    wn = wordnet(tmp_path)
    passage = "The raids were led by their forebears, who came by plane."
    q = reword("Who were the forebears that led the raids?", passage, wn, random.Random(1), most=3)
    assert q is not None and "Who" in q and "led" in q
    assert "forebears" not in q or "raids" not in q
    assert set(q.split()) & {"ancestors", "forays", "ancestors,", "forays?"}
    # a question sharing no swappable word with its passage is left alone
    assert reword("Who led them?", passage, wn, random.Random(1)) is None


def test_reworded_answers_come_with_their_near_misses(tmp_path):
    wn = wordnet(tmp_path)
    text = "Their forebears crossed the sea."
    examples = [
        {"question": "Where did the forebears cross?", "text": text, "label": 1, "kind": "nq"},
        {"question": "Where did the forebears cross?", "text": "Their forebears farmed.", "label": 0,
         "kind": "nq-near-miss"},
        {"question": "Which forebears sailed?", "text": text, "label": 1, "kind": "nq"},  # no negative beside it
    ]
    out = reworded_copies(examples, wn, random.Random(3), limit=10)
    assert sorted(e["label"] for e in out) == [0, 1]
    assert {e["question"] for e in out} == {"Where did the ancestors cross?"}
    assert {e["kind"] for e in out} == {"nq-reworded", "nq-near-miss-reworded"}
