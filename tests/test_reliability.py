"""Faults a user can cause or meet: each is one clear line, the right exit code, and nothing lost."""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from citebot.index.stores.local.generations import current_generation
from citebot.index.stores.local.reader import open_current

from conftest import REPO, write_articles, counts_of

pytestmark = pytest.mark.usefixtures("no_leaks")  # no token, API key or URL password in any output


def _article(i: int, extra: str = "") -> dict:
    return {"id": f"art-{i}", "title": f"Harbour story {i}",
            "text": f"Story {i}: the harbour board met on Monday. {extra}The board agreed {i} new moorings."}


def _articles(index_dir) -> set[str]:
    reader = open_current(index_dir)
    try:
        return set(reader.articles())
    finally:
        reader.close()


@pytest.fixture
def two_folders(cli, tmp_path):
    a = write_articles(tmp_path / "a", {f"{i}.json": _article(i) for i in range(2)})
    b = write_articles(tmp_path / "b", {f"{i}.json": _article(i) for i in range(2, 4)})
    assert cli("index", "build", str(a), str(b))[0] == 0
    return a, b


# --- no silent data loss ---------------------------------------------------------------------------

def test_a_mistyped_folder_removes_nothing_unless_prune_says_so(cli, tmp_path, two_folders):
    a, b = two_folders
    before = current_generation(tmp_path / "index")
    code, out, err = cli("index", "update", str(a), str(tmp_path / "bb"))
    assert code != 0 and "no such file or folder" in err and str(tmp_path / "bb") in err and "--prune" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert current_generation(tmp_path / "index") == before
    assert _articles(tmp_path / "index") == {"art-0", "art-1", "art-2", "art-3"}
    code, out, err = cli("index", "build", str(a), str(tmp_path / "bb"))
    assert code != 0 and "nothing was changed" in err
    shutil.rmtree(b)
    code, out, err = cli("index", "update", str(a), str(b), "--prune", "--json")
    assert code == 0, err
    assert json.loads(out)["removed"] == 2 and _articles(tmp_path / "index") == {"art-0", "art-1"}


def test_a_folder_that_vanishes_during_an_update_changes_nothing(cli, tmp_path, two_folders, monkeypatch):
    import citebot.index.sources.files as files

    a, b = two_folders
    write_articles(a, {"new.json": _article(9)})
    real = files.load_file

    def vanishing(path, rel, on_problem, *limits):
        shutil.rmtree(b, ignore_errors=True)  # the folder goes while the update reads
        return real(path, rel, on_problem, *limits)

    monkeypatch.setattr(files, "load_file", vanishing)
    code, out, err = cli("index", "update", str(a), str(b))
    assert code != 0 and "vanished" in err and "nothing was changed" in err
    assert _articles(tmp_path / "index") == {"art-0", "art-1", "art-2", "art-3"}


def test_a_file_that_fails_to_read_keeps_its_articles(cli, tmp_path, two_folders, monkeypatch):
    import citebot.index.sources.files as files

    a, b = two_folders
    broken = b / "2.json"
    os.utime(broken, (time.time() + 5, time.time() + 5))  # changed stamp: the update reads it again
    real = files.read_bytes

    def failing(path, limit=None):
        if os.path.abspath(path) == str(broken):
            raise OSError(5, "Input/output error")
        return real(path, limit)

    monkeypatch.setattr(files, "read_bytes", failing)
    code, out, err = cli("index", "update", str(a), str(b), "--json")
    assert code == 0, err
    assert "2.json: Input/output error, skipped (its 1 indexed article(s) kept)" in err
    assert json.loads(out)["removed"] == 0
    assert "art-2" in _articles(tmp_path / "index")


def test_duplicate_ids_are_settled_the_same_way_by_build_and_update(cli, tmp_path):
    src = write_articles(tmp_path / "src", {
        "a.json": {"id": "same", "title": "First", "text": "The first telling of the story."},
        "b.json": {"id": "same", "title": "Second", "text": "The second telling of the story."}})
    code, _, err = cli("index", "build", str(src))
    assert code == 0 and "duplicate article id 'same'" in err
    reader = open_current(tmp_path / "index")
    assert reader.article(reader.articles()["same"].rowid).title == "First"
    reader.close()
    os.utime(src / "b.json", (time.time() + 5, time.time() + 5))  # b is read again, a is not
    write_articles(src, {"c.json": {"id": "same", "title": "Third", "text": "A third telling."}})
    code, out, err = cli("index", "update", str(src), "--json")
    assert code == 0 and err.count("duplicate article id 'same'") == 2
    assert counts_of(out) == {"added": 0, "changed": 0, "removed": 0, "unchanged": 1, "chunks_embedded": 0}
    reader = open_current(tmp_path / "index")
    assert reader.article(reader.articles()["same"].rowid).title == "First"
    reader.close()


# --- one writer at a time ----------------------------------------------------------------------------

def test_a_second_writer_waits_or_is_refused_at_once(cli, tmp_path):
    from citebot.index.locking import writer_lock

    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    assert cli("index", "build", str(src))[0] == 0
    write_articles(src, {"1.json": _article(1)})
    with writer_lock(tmp_path / "index"):
        code, out, err = cli("index", "update", str(src), "--no-wait")
    assert code != 0 and "being written by pid" in err and "Traceback" not in err
    assert _articles(tmp_path / "index") == {"art-0"}

    held = threading.Event()

    def hold_briefly():
        with writer_lock(tmp_path / "index"):
            held.set()
            time.sleep(1.5)

    t = threading.Thread(target=hold_briefly)
    t.start()
    held.wait(5)
    code, out, err = cli("index", "update", str(src))
    t.join()
    assert code == 0 and "waiting for it to finish" in err
    assert _articles(tmp_path / "index") == {"art-0", "art-1"}


def test_two_concurrent_updates_both_end_cleanly_and_both_changes_are_served(cli, tmp_path):
    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    assert cli("index", "build", str(src))[0] == 0
    env = {**os.environ, "CITEBOT_INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1"}
    procs = []
    for i in (1, 2):
        write_articles(src, {f"{i}.json": _article(i)})
        procs.append(subprocess.Popen([sys.executable, "-m", "citebot", "index", "update", str(src)], env=env, cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert not any("Traceback" in err for _, err in results)
    assert _articles(tmp_path / "index") == {"art-0", "art-1", "art-2"}


# --- damaged index, disk faults -------------------------------------------------------------------

@pytest.mark.parametrize("victim", ["vectors.faiss", "bm25_docs.npy", "index.sqlite"])
def test_a_damaged_index_file_is_named_and_build_repairs_it(cli, tmp_path, victim):
    src = write_articles(tmp_path / "src", {f"{i}.json": _article(i) for i in range(3)})
    assert cli("index", "build", str(src))[0] == 0
    seg = next((tmp_path / "index" / "segments").iterdir())
    (seg / victim).write_bytes(b"")
    code, out, err = cli("ask", "How many moorings did the board agree?")
    assert code != 0 and victim in err and "index build" in err and len(err.strip().splitlines()) == 1
    code, out, err = cli("index", "check")
    assert code != 0 and victim in err
    code, out, err = cli("index", "update", str(src))
    assert code != 0 and "index build" in err and "Traceback" not in err
    assert cli("index", "build", str(src))[0] == 0
    code, out, err = cli("index", "check")
    assert code == 0 and "every file is as it was written" in out
    assert cli("ask", "How many moorings did the board agree?")[0] == 0


def test_a_changed_byte_is_found_by_index_check(cli, tmp_path):
    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    assert cli("index", "build", str(src))[0] == 0
    seg = next((tmp_path / "index" / "segments").iterdir())
    data = bytearray((seg / "bm25_weights.npy").read_bytes())
    data[-1] ^= 0xFF
    (seg / "bm25_weights.npy").write_bytes(bytes(data))
    code, out, err = cli("index", "check")
    assert code != 0 and "bm25_weights.npy" in err and "checksum" in err


def test_a_full_disk_is_one_line_and_the_old_index_serves(cli, tmp_path, monkeypatch):
    import errno

    from citebot.index.stores.local import segment_writer as segment

    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    assert cli("index", "build", str(src))[0] == 0
    before = current_generation(tmp_path / "index")
    write_articles(src, {"1.json": _article(1)})

    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(segment, "_sync_and_sum", full)
    code, out, err = cli("index", "update", str(src))
    assert code != 0 and "No space left on device" in err and "still serves" in err
    assert len(err.strip().splitlines()) == 1
    assert current_generation(tmp_path / "index") == before
    assert not list((tmp_path / "index" / "segments").glob(".tmp-*"))


def test_an_invalid_faiss_factory_string_is_refused_before_embedding(cli, tmp_path, monkeypatch):
    import citebot.index.building as building

    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    monkeypatch.setattr(building, "embed", lambda *a: pytest.fail("embedded before checking the FAISS setting"))
    code, out, err = cli("index", "build", str(src), env={"CITEBOT_FAISS_INDEX": "IVF-nonsense,Flat"})
    assert code != 0 and "CITEBOT_FAISS_INDEX" in err and len(err.strip().splitlines()) == 1


def test_a_failed_query_model_export_is_said_and_its_debris_cleared(cli, tmp_path, monkeypatch):
    import torch

    from citebot.index.encoders.onnx_query import FOLDER

    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    debris = tmp_path / "index" / FOLDER / ".tmp-killed"
    debris.mkdir(parents=True)
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no ONNX today")))
    code, out, err = cli("index", "build", str(src))
    assert code == 0 and "could not be exported (RuntimeError: no ONNX today)" in err
    assert not debris.exists() and not list((tmp_path / "index" / FOLDER).glob(".tmp-*"))
    code, out, err = cli("ask", "How many moorings?")
    assert code == 0 and "PyTorch" in err


# --- questions --------------------------------------------------------------------------------------

def test_batch_answers_every_line_whatever_its_bytes(cli, tmp_path):
    src = write_articles(tmp_path / "src", {"0.json": _article(4)})
    assert cli("index", "build", str(src))[0] == 0
    lines = b"How many moorings did the board agree?\n\xff\xfe moorings \xe9?\n\n   \nWhat is the capital of Mongolia?\n"
    code, out, err = cli("ask", "--json", input=lines)
    assert code == 0, err
    objs = [json.loads(line) for line in out.splitlines()]
    assert len(objs) == 5
    assert objs[0]["answer_found"] and "4 new moorings" in objs[0]["results"][0]["extract"]
    assert "\ufffd" in objs[1]["question"] and "not UTF-8" in objs[1]["note"]
    assert objs[2]["error"] and objs[3]["error"] and not objs[2]["answer_found"]
    assert objs[4]["answer_found"] is False
    code, out, err = cli("ask", "moorings \udcff\udcfe?", "--json")
    assert code == 0 and "\ufffd" in json.loads(out)["question"]


def test_terminal_escape_codes_in_articles_never_reach_the_terminal(cli, tmp_path):
    src = write_articles(tmp_path / "src", {"0.json": {
        "id": "esc", "title": "Harbour \x1b[2J news", "source": "Evil\x1b]0;pwned\x07 Post",
        "text": "The harbour board agreed \x1b[31m12\x1b[0m new moorings on Monday."}})
    assert cli("index", "build", str(src))[0] == 0
    code, out, _ = cli("ask", "How many new moorings did the harbour board agree?")
    assert code == 0 and "12" in out and "\x1b" not in out and "\x07" not in out
    assert "[2J" not in out and "pwned" not in out and "[31m" not in out  # whole sequences, not just ESC


def test_nan_and_inf_settings_are_refused(cli):
    for value in ("nan", "inf", "-inf"):
        code, out, err = cli("ask", "anything", env={"CITEBOT_MIN_SCORE": value})
        assert code == 2 and "CITEBOT_MIN_SCORE" in err and len(err.strip().splitlines()) == 1
