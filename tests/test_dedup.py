"""Near-duplicate copies of one story: grouped at index time, shown once at answer time."""
from __future__ import annotations

import itertools

from citebot.index.records import Article
from citebot.index import duplicates
from citebot.index.answer.copies import collapse_duplicates

from conftest import write_articles
from dedup_cases import documents, is_true_pair, precision_recall


def _grouped(docs, dated=lambda i: None) -> dict[str, str]:
    arts = [Article(id=d.id, title=d.id, text=d.text, dated=dated(i)) for i, d in enumerate(docs)]
    duplicates.group_batch(arts)
    return {a.id: a.dup_group for a in arts}


def test_wire_copies_are_grouped_and_independent_reports_of_the_same_event_are_not():
    docs = documents()
    for dated in (lambda i: None, lambda i: f"2026-{1 + (99 - i) // 28:02d}-{1 + (99 - i) % 28:02d}"):
        group = _grouped(docs, dated)
        precision, recall, true_pairs, _ = precision_recall(docs, lambda a, b: group[a.id] == group[b.id])
        assert true_pairs == 120
        assert precision == 1.0 and recall >= 0.95, (precision, recall)
    sigs = {d.id: duplicates.signature(d.text) for d in docs}
    for a, b in itertools.combinations(docs, 2):
        if a.story == b.story and not is_true_pair(a, b):  # the hard cases: the same event, other words
            assert not duplicates.is_copy(sigs[a.id], sigs[b.id]), (a.id, b.id)


def test_signatures_survive_a_round_trip_and_empty_text_matches_nothing():
    sig = duplicates.signature("The Kestrel Bridge was closed on Tuesday after engineers found a crack.")
    assert duplicates.jaccard(sig, duplicates.Signature.from_bytes(sig.to_bytes())) == 1.0
    empty = duplicates.signature("")
    assert duplicates.band_keys(empty) == [] and not duplicates.is_copy(sig, empty)


def _doc(story: str, name: str) -> str:
    return next(d.text for d in documents() if d.id == f"{story}/{name}")


def test_an_answer_shows_a_story_once_from_its_earliest_copy_with_the_others_as_also(cli, tmp_path, encoder):
    from citebot.bot.answering import make_retriever
    from citebot.bot.settings import load_settings
    from citebot.index.stores.local.reader import open_current

    src = write_articles(tmp_path / "src", {
        "gazette.json": {"id": "gazette", "title": "Kestrel Bridge shut after crack found", "source": "Aln Gazette",
                         "published": "2026-03-03", "text": _doc("bridge", "boilerplate")},
        "wire.json": {"id": "wire", "title": "Kestrel Bridge closed for six weeks", "source": "Coastwire",
                      "published": "2026-03-02", "text": _doc("bridge", "wire")},
        "own.json": {"id": "own", "title": "Queues on the ring road", "source": "Aln Echo",
                     "published": "2026-03-02", "text": _doc("bridge", "other1")}})
    assert cli("index", "build", str(src))[0] == 0
    later = write_articles(tmp_path / "later", {  # a copy arriving later is matched against the served segments
        "press.json": {"id": "press", "title": "Bridge closed", "source": "Northern Press", "published": "2026-03-04",
                       "text": _doc("bridge", "trimmed")}})
    code, _, err = cli("index", "add", str(later))
    assert code == 0, err
    reader = open_current(tmp_path / "index")
    copies = reader.copies(["wire", "own", "press"])
    assert [c.article_id for c in copies["wire"]] == ["gazette", "press"]
    assert [c.article_id for c in copies["press"]] == ["wire", "gazette"]  # earliest first
    assert "own" not in copies  # another outlet's own report is its own story
    reader.close()

    retriever = make_retriever(load_settings(index_dir=tmp_path / "index"))
    answer = retriever.answer("How long will the Kestrel Bridge stay closed?", k=5)
    hits = answer.hits  # the answer path collapses the copies that compete for the top
    shown = [h.article_id for h in hits]
    assert len([a for a in shown if a in ("wire", "gazette", "press")]) == 1
    story = next(h for h in hits if h.article_id in ("wire", "gazette", "press"))
    assert story.article_id == "wire"  # the earliest copy
    assert collapse_duplicates(list(hits), retriever.reader()) == hits  # nothing left to merge
    also = story.extra["also"]
    assert {a["source"] for a in also} == {"Aln Gazette", "Northern Press", "Coastwire"} - {story.source}
    assert set(also[0]) == {"article_id", "title", "source", "url", "published"}
