"""`citebot eval` on the SQuAD dev slice, and the verbatim guarantee checked over a whole run."""
import json

import pytest

from conftest import SQUAD, needs_squad

pytestmark = needs_squad


@pytest.fixture(scope="module")
def squad_retriever(tmp_path_factory):
    from index.building import build
    from index.config import IndexConfig
    from index.embedding import load_embedder
    from index.evaluation import squad_articles
    from index.answer import AnswerConfig, Retriever

    tmp = tmp_path_factory.mktemp("squad")
    records, questions = squad_articles(SQUAD)
    (tmp / "squad.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    cfg = IndexConfig(index_dir=tmp / "index")
    build([tmp / "squad.jsonl"], cfg, load_embedder(), on_problem=print)
    from index.loading import load_articles

    texts = {a.id: a.text for a in load_articles([tmp / "squad.jsonl"], print)}  # the clean text citebot quotes
    return Retriever(cfg.index_dir, load_embedder(), config=AnswerConfig(k=5)), questions, texts


def test_every_extract_of_a_whole_eval_run_is_a_verbatim_slice(squad_retriever):
    from index.evaluation import evaluate

    retriever, questions, texts = squad_retriever
    seen = []
    original = retriever.answer

    def recording(question, k=None, offset=0):
        answer = original(question, k=k, offset=offset)
        seen.extend(answer.ranked)
        return answer

    retriever.answer = recording
    result = evaluate(retriever, questions, ["What is the boiling point of liquid nitrogen?"])
    assert len(seen) >= len(questions)
    for hit in seen:
        text = texts[hit.article_id]
        assert text[hit.extract_start:hit.extract_start + len(hit.extract)] == hit.extract
        assert hit.extract[hit.highlight_start:hit.highlight_end] in hit.extract
        assert hit.highlight.strip() == hit.highlight and hit.highlight
    m = result.metrics
    # the bar, well above the plain baseline (0.848 / 0.984 / 0.711)
    assert m["answer_recall@1"] >= 0.88 and m["answer_recall@5"] >= 0.98 and m["highlight_recall@1"] >= 0.80
    assert m["mean_extract_chars"] <= 700 and m["wrongly_refused"] <= 0.05


def test_eval_command_prints_the_metrics(cli):
    code, out, err = cli("eval", str(SQUAD), "--limit", "15", "--json")
    assert code == 0, err
    m = json.loads(out)
    assert m["answerable"] == 15 and m["unanswerable"] == 15 and m["offtopic"] == 15
    for key in ("answer_recall@1", "answer_recall@3", "answer_recall@5", "article_hit@1", "article_hit@5",
                "mrr@5", "highlight_recall@1", "abstain_unanswerable", "abstain_offtopic", "wrongly_refused",
                "latency_median_ms", "latency_p95_ms"):
        assert 0 <= m[key] and (m[key] <= 1 or key.startswith("latency"))
    code, out, _ = cli("eval", str(SQUAD), "--limit", "5")
    assert "answer recall@1" in out and "latency median" in out
