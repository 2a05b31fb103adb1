"""`citebot eval` on the SQuAD dev slice beside real distractor articles, and the verbatim
guarantee checked over a whole run: every extract is contiguous text of the article as given."""
import json

import pytest

from conftest import REPO, SHARED, SQUAD, needs_squad

pytestmark = needs_squad
WIKINEWS = SHARED / "eval" / "wikinews-en.jsonl"
PARAPHRASE = SHARED / "eval" / "paraphrase-dev.jsonl"
DISTRACTORS = 150  # a slice of the archive: enough real news text to meet its cleaning edge cases


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.factory import load_encoder
    from citebot.tools.evaluation import build_archive
    from citebot.tools.question_sets import squad_articles

    if not WIKINEWS.exists():
        pytest.skip("../shared/eval/wikinews-en.jsonl is absent")
    tmp = tmp_path_factory.mktemp("archive")
    records, questions = squad_articles(SQUAD)
    index_dir, sources = build_archive(tmp, records, [WIKINEWS], DISTRACTORS, IndexConfig(), load_encoder(), print)
    return index_dir, sources, questions


def test_every_extract_of_a_whole_eval_run_is_contiguous_source_text(archive):
    from citebot.index.answer import AnswerConfig, Retriever
    from citebot.index.encoders.factory import load_encoder
    from citebot.tools.evaluation import Recorder, run_sets
    from citebot.tools.question_sets import QuestionSet, answerable_jsonl

    index_dir, sources, questions = archive
    rec = Recorder(Retriever(index_dir, load_encoder(), config=AnswerConfig(k=5)), sources=sources)
    sets = [QuestionSet("squad", "answerable", [q for q in questions if not q.impossible]),
            QuestionSet("unanswerable", "refuse", [q.text for q in questions if q.impossible][:300]),
            QuestionSet("paraphrase", "answerable", answerable_jsonl(PARAPHRASE) if PARAPHRASE.exists() else [])]
    results, _ = run_sets(rec, sets)
    assert rec.extracts >= 5 * len(questions) // 2
    assert rec.spliced == [], rec.spliced[:3]
    m = results["squad"]
    assert m["answer_recall@1"] >= 0.88 and m["answer_recall@5"] >= 0.97 and m["highlight_recall@1"] >= 0.80
    assert m["mean_extract_chars"] <= 700 and m["refused"] <= 0.05


def test_eval_command_prints_one_table_for_every_set_and_size(cli, tmp_path):
    offtopic = tmp_path / "off.jsonl"
    offtopic.write_text("\n".join(json.dumps({"question": q, "kind": k}) for q, k in [
        ("How many moons does Neptune have?", "absent"), ("Who painted the Sistine Chapel ceiling?", "absent"),
        ("Who won the Normans' 2019 rugby final?", "date-bound")]))
    code, out, err = cli("eval", str(SQUAD), "--limit", "6", "--offtopic", str(offtopic), "--json")
    assert code == 0, err
    table = json.loads(out)
    (size, results), = table.items()
    assert set(results) == {"squad2-dev-5articles", "squad2-dev-5articles unanswerable",
                            "squad2-dev-5articles naming a year", "off: absent", "off: date-bound", "all"}
    m = results["squad2-dev-5articles"]
    assert m["questions"] == 6
    for key in ("answer_recall@1", "answer_recall@3", "answer_recall@5", "article_hit@1", "article_hit@5",
                "mrr@5", "highlight_recall@1", "refused"):
        assert 0 <= m[key] <= 1
    assert results["off: absent"]["questions"] == 2 and results["all"]["spliced_extracts"] == 0
    dev, held_out = (REPO / "examples" / "eval" / f"{name}.jsonl" for name in ("date-questions", "date-questions-test"))
    code, out, err = cli("eval", str(SQUAD), "--limit", "2", "--offtopic", str(offtopic), "--dates", str(dev),
                         "--dates", str(held_out), "--json")
    assert code == 0, err
    (_, results), = json.loads(out).items()
    assert results["date-questions"]["questions"] == results["date-questions-test"]["questions"] == 2
    code, out, _ = cli("eval", str(SQUAD), "--limit", "3", "--offtopic", str(offtopic))
    assert "r@1" in out and "spliced extracts 0" in out
    code, out, err = cli("eval", str(SQUAD), "--limit", "3", "--fusion", "rff")
    assert code != 0 and "unknown fusion 'rff'" in err
