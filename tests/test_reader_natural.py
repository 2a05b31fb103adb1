"""The natural question sets of the reader's recipe: text as written, positives and the near misses
the data makes, licences deciding what may teach a shipped model, checksums, and no validation
question or evaluation text among the training examples."""
from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from citebot.tools.reader_examples import check_no_eval_text, eval_paragraphs
from citebot.tools.reader_natural import (BY_NAME, SETS, NotForTraining, natural_examples, training_sets,
                                          validation_questions, verify)
from citebot.tools.reader_natural_examples import detokenize, qed_examples
from citebot.tools.reader_sources import DEV_TITLES

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
READER_DATA = SHARED / "reader-data"


def test_tokenized_text_reads_as_written_and_offsets_follow():
    raw = "The house , built in 1794 ( by ``Thomas'' Beall ) , is Laird 's ."
    text, where = detokenize(raw)
    assert text == 'The house, built in 1794 (by "Thomas" Beall), is Laird\'s.'
    at = raw.index("1794")
    assert text[where[at]:where[at + 4]] == "1794"
    assert text[where[raw.index("Beall")]:where[raw.index("Beall") + 5]] == "Beall"


def test_a_nq_paragraph_gives_its_answer_and_a_near_miss_without_it():
    text = ("Webbed toes is the common name for syndactyly affecting the feet. It is characterised by the fusion "
            "of two or more digits of the feet. This is normal in many birds, such as ducks; amphibians, such as "
            "frogs; and mammals, such as kangaroos. In humans it is considered unusual, occurring in approximately "
            "one in 2,000 to 2,500 live births.")
    starts = [0, text.index("It is"), text.index("This is"), text.index("In humans")]
    spans = [(a, b - 1 if b < len(text) else b) for a, b in zip(starts, starts[1:] + [len(text)])]
    a = text.index("syndactyly")
    row = {"id": "1", "title": "Webbed toes", "text": text, "spans": spans, "answers": [(a, a + 29)],
           "question": "what is the medical term for webbed toes"}
    made = list(qed_examples(iter([row]), random.Random(1)))
    positive, near = made
    assert positive.label == 1 and positive.question == "What is the medical term for webbed toes?"
    assert positive.text[slice(*positive.answer_span)] == "syndactyly affecting the feet"
    assert "syndactyly" in positive.text[slice(*positive.sentences[positive.answer_sentence])]
    assert near.label == 0 and near.kind == "nq-near-miss" and "syndactyly" not in near.text
    assert "kangaroos" in near.text  # the same subject, the asked fact absent


def test_sets_for_validation_only_never_teach_a_shipped_model():
    assert {s.use for s in training_sets()} == {"train"}
    for name in ("wikiqa", "mrpc", "nq-qed-dev"):
        with pytest.raises(NotForTraining, match="validation only"):
            training_sets([name])
    assert all(s.licence and s.source and s.use in ("train", "validate") for s in SETS)


def test_a_file_that_is_not_the_recorded_one_stops_the_recipe(tmp_path):
    (tmp_path / "boolq-dev").mkdir()
    f = tmp_path / "boolq-dev" / "dev.jsonl"
    f.write_text('{"question": "is it", "passage": "It is.", "answer": true}\n')
    (tmp_path / "SHA256SUMS").write_text(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  ./boolq-dev/dev.jsonl\n")
    assert verify(tmp_path, BY_NAME["boolq"]) == [f]
    f.write_text('{"question": "is it not", "passage": "It is.", "answer": true}\n')
    with pytest.raises(ValueError, match="SHA-256"):
        verify(tmp_path, BY_NAME["boolq"])


@pytest.mark.skipif(not (READER_DATA / "SHA256SUMS").exists(), reason="the reader-data sets are not beside the repository")
def test_training_examples_hold_no_validation_question_and_no_evaluation_text():
    examples, used = natural_examples(READER_DATA, random.Random(13))
    assert set(used) == {s.name for s in SETS if s.use == "train"}
    held = validation_questions(READER_DATA)
    norm = lambda q: " ".join("".join(c if c.isalnum() else " " for c in q.lower()).split())
    assert not [e.question for e in examples if norm(e.question) in held]
    assert not [e for e in examples if e.article.split(":", 1)[-1].replace(" ", "_") in DEV_TITLES]
    assert {e.label for e in examples} == {0, 1} and sum(e.label for e in examples) > 10000
    if (SHARED / "eval").exists():
        check_no_eval_text(examples, eval_paragraphs(SHARED / "eval"))
    # every positive that names its answer holds it where it says
    for e in examples:
        if e.label and e.answer_span:
            assert 0 <= e.answer_span[0] < e.answer_span[1] <= len(e.text)
    json.dumps(used)
