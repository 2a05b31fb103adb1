"""`citebot index build|update|status` with the real model, FAISS and SQLite on small corpora."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from citebot.index.stores.base import IncompatibleIndex
from citebot.index.stores.local.generations import current_generation
from citebot.index.stores.local.reader import open_current
from citebot.index.text.terms import stem

from conftest import REPO, SAMPLES, change_remove_add, write_articles, counts_of


def _article(i: int, extra: str = "") -> dict:
    return {"id": f"art-{i}", "title": f"Town story {i}",
            "text": f"Story {i} begins with a meeting of the harbour board. {extra}"
                    f"The board agreed {i} new moorings for fishing boats. Residents welcomed plan {i}."}


def _snapshot(index_dir: Path) -> dict:
    """Everything a reader can see, keyed by content (chunk ids may differ between equal indexes)."""
    reader = open_current(index_dir)
    out = {}
    for article_id, (rowid, content_hash, *_) in reader.articles().items():
        text = reader.article_text(rowid)
        for cid, position, start, end, chunk_text in reader.article_chunks(rowid):
            spans = [span for span, _ in reader.sentences([cid])[cid]]
            vec = reader.vectors([cid])[0]
            out[(article_id, position)] = (text, content_hash, start, end, chunk_text, spans, vec)
    bm25 = len(reader.bm25_search([stem("moorings")], 100))
    dense = {cid for cid, _ in reader.dense_search(out[("art-2", 0)][-1], 100)}
    reader.close()
    return {"chunks": out, "bm25_moorings": bm25, "dense_hits": len(dense)}


def test_build_and_status_on_the_samples(cli, tmp_path):
    code, out, err = cli("index", "build", str(SAMPLES))
    assert code == 0, err
    assert "index built" in out
    code, out, _ = cli("index", "status", "--json")
    info = json.loads(out)
    assert info["articles"] >= 10 and info["chunks"] >= info["articles"]
    assert info["model"] == "all-MiniLM-L6-v2" and info["dimension"] == 384
    assert info["size_bytes"] > 0 and info["built_at"]
    code, out, _ = cli("index", "status")
    assert "articles:" in out and "size on disk:" in out


def test_update_after_change_removal_and_addition_equals_a_rebuild(cli, tmp_path, encoder):
    # bf16 (chosen on CPUs with native bf16) gives a passage slightly other vectors in another batch
    same = 0.9999 if encoder.dtype == "fp32" else 0.999
    src = write_articles(tmp_path / "src", {f"{i}.json": _article(i) for i in range(3)})
    assert cli("index", "build", str(src))[0] == 0
    change_remove_add(src, _article)
    code, out, err = cli("index", "update", str(src), "--json")
    assert code == 0, err
    counts = json.loads(out)
    assert counts["added"] == counts["changed"] == counts["removed"] == counts["unchanged"] == 1
    assert counts["chunks_embedded"] >= 2
    updated = _snapshot(tmp_path / "index")

    code, _, _ = cli("index", "build", str(src), env={"CITEBOT_INDEX_DIR": str(tmp_path / "fresh")})
    assert code == 0
    rebuilt = _snapshot(tmp_path / "fresh")
    assert updated["chunks"].keys() == rebuilt["chunks"].keys()
    assert {k[0] for k in updated["chunks"]} == {"art-0", "art-2", "art-9"}
    for key, (*meta, vec) in updated["chunks"].items():
        *meta2, vec2 = rebuilt["chunks"][key]
        assert meta == meta2
        assert float(np.dot(vec, vec2)) > same
    assert updated["bm25_moorings"] == rebuilt["bm25_moorings"] == 3
    assert updated["dense_hits"] == rebuilt["dense_hits"] == len(rebuilt["chunks"])  # nothing deleted is found

    code, out, _ = cli("index", "update", str(src), "--json")
    assert counts_of(out) == {"added": 0, "changed": 0, "removed": 0, "unchanged": 3, "chunks_embedded": 0}


def test_an_update_does_not_reread_files_whose_size_and_mtime_are_unchanged(cli, tmp_path):
    src = write_articles(tmp_path / "src", {f"{i}.json": _article(i) for i in range(3)})
    assert cli("index", "build", str(src))[0] == 0
    # same size, same mtime, other words: an update trusts the stamp and does not read the file
    path = src / "1.json"
    stat = path.stat()
    path.write_text(path.read_text().replace("moorings", "pontoons"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    code, out, err = cli("index", "update", str(src), "--json")
    assert code == 0, err
    assert counts_of(out) == {"added": 0, "changed": 0, "removed": 0, "unchanged": 3, "chunks_embedded": 0}
    # a new mtime: read again, found changed
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    code, out, err = cli("index", "update", str(src), "--json")
    assert json.loads(out)["changed"] == 1 and json.loads(out)["unchanged"] == 2
    code, out, _ = cli("ask", "How many pontoons did the board agree?", "--json")
    assert "pontoons" in json.loads(out)["results"][0]["extract"]


def test_an_update_writes_only_a_small_segment_and_compacts_when_they_pile_up(cli, tmp_path):
    from citebot.index.stores.local.store import MAX_SEGMENTS
    from citebot.index.stores.local.generations import SEGMENTS, read_manifest

    src = write_articles(tmp_path / "src", {f"{i}.json": _article(i) for i in range(6)})
    assert cli("index", "build", str(src))[0] == 0
    base = read_manifest(current_generation(tmp_path / "index"))["segments"][0]
    write_articles(src, {"new.json": _article(50)})
    (src / "3.json").unlink()
    assert cli("index", "update", str(src))[0] == 0
    m = read_manifest(current_generation(tmp_path / "index"))
    assert [s["name"] for s in m["segments"]][0] == base["name"], "the base segment is reused, not copied"
    assert m["segments"][1]["articles"] == 1 and len(m["segments"][0]["deleted"]) == 1
    assert m["articles"] == 6
    for i in range(MAX_SEGMENTS):
        write_articles(src, {f"more{i}.json": _article(100 + i)})
        assert cli("index", "update", str(src))[0] == 0
    m = read_manifest(current_generation(tmp_path / "index"))
    assert len(m["segments"]) <= MAX_SEGMENTS and m["articles"] == 6 + MAX_SEGMENTS
    kept = {s["name"] for s in m["segments"]}
    on_disk = {p.name for p in (tmp_path / "index" / SEGMENTS).iterdir()}
    assert kept <= on_disk and len(on_disk) <= 2 * MAX_SEGMENTS + 1  # old segments are collected


def test_a_source_with_no_readable_article_fails_and_keeps_the_index(cli, tmp_path):
    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    assert cli("index", "build", str(src))[0] == 0
    before = current_generation(tmp_path / "index")
    empty = write_articles(tmp_path / "empty", {"bad.json": "{oops", "blank.txt": "   "})
    code, out, err = cli("index", "build", str(empty))
    assert code != 0
    assert "no readable article" in err and "bad.json" in err
    assert current_generation(tmp_path / "index") == before
    assert not list((tmp_path / "index").glob(".tmp-*"))
    assert open_current(tmp_path / "index").manifest["articles"] == 1


def test_an_index_from_another_model_is_refused_with_a_rebuild_hint(cli, tmp_path):
    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    assert cli("index", "build", str(src))[0] == 0
    with pytest.raises(IncompatibleIndex, match="rebuild"):
        open_current(tmp_path / "index", model="some-other-model")
    code, _, err = cli("index", "update", str(src), env={"CITEBOT_EMBEDDING_MODEL": "some-other-model"})
    assert code != 0 and "rebuild" in err and "Traceback" not in err
    assert open_current(tmp_path / "index", model="all-MiniLM-L6-v2").manifest["articles"] == 1


def test_a_reader_keeps_serving_while_a_new_generation_is_swapped_in(cli, tmp_path):
    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    assert cli("index", "build", str(src))[0] == 0
    reader = open_current(tmp_path / "index")
    write_articles(src, {"1.json": _article(1)})
    assert cli("index", "build", str(src))[0] == 0
    assert len(reader.articles()) == 1  # the old view is intact
    assert open_current(tmp_path / "index").manifest["articles"] == 2


def test_a_build_killed_half_way_leaves_the_old_index_serving(cli, tmp_path):
    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    assert cli("index", "build", str(src))[0] == 0
    before = current_generation(tmp_path / "index")
    long_text = " ".join(f"Paragraph {i} of the long report explains harbour dues and mooring fees in detail."
                         for i in range(60))
    write_articles(src, {f"big{i}.json": {"id": f"big{i}", "title": f"Big {i}", "text": long_text} for i in range(8)})
    env = {**os.environ, "CITEBOT_INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "citebot", "index", "build", str(src)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    writing = lambda: list((tmp_path / "index" / "segments").glob(".tmp-*"))  # the new segment, half written
    lock = tmp_path / "index" / ".writer.lock"
    started = lambda: lock.exists() and lock.read_text().startswith("pid")  # the writer is at work
    while time.time() < deadline and not started() and not writing() and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert current_generation(tmp_path / "index") == before
    assert open_current(tmp_path / "index").manifest["articles"] == 1
    assert cli("index", "build", str(src))[0] == 0  # the next build clears the debris
    assert not list((tmp_path / "index").glob(".tmp-*")) and not writing()


def test_an_ivf_index_serves_a_large_segment_and_small_updates_stay_exact(cli, tmp_path):
    from citebot.index.stores.local.generations import read_manifest

    towns = ["Ashby", "Brindle", "Carrow", "Dunmore", "Elsworth", "Fenwick", "Garston", "Holloway", "Ickford",
             "Jarrow"]
    trades = ["bakery", "ferry", "library", "brewery", "forge", "mill", "school", "market", "museum", "tannery"]
    src = write_articles(tmp_path / "src", {
        f"{i}.json": {"id": f"n-{i}", "title": f"{towns[i % 10]} {trades[i // 10]} news",
                      "text": f"The {trades[i // 10]} in {towns[i % 10]} reopened after {i + 2} weeks of repairs."}
        for i in range(100)})
    env = {"CITEBOT_FAISS_INDEX": "IVF2,Flat"}
    assert cli("index", "build", str(src), env=env)[0] == 0
    m = read_manifest(current_generation(tmp_path / "index"))
    assert m["segments"][0]["faiss_index"] == "IVF2,Flat"
    code, out, err = cli("ask", "When did the Fenwick brewery reopen?", "--json", env=env)
    assert code == 0, err
    assert json.loads(out)["results"][0]["article_id"] == "n-35"

    write_articles(src, {"new.json": {"id": "n-new", "title": "Kelso harbour news",
                                      "text": "The harbour in Kelso reopened after 40 weeks of dredging."}})
    assert cli("index", "update", str(src), env=env)[0] == 0
    m = read_manifest(current_generation(tmp_path / "index"))
    assert [s["faiss_index"] for s in m["segments"]] == ["IVF2,Flat", "Flat"]  # one vector: nothing to train
    code, out, _ = cli("ask", "When did the Kelso harbour reopen?", "--json", env=env)
    assert json.loads(out)["results"][0]["article_id"] == "n-new"
