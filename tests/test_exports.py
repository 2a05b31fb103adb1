"""Archive exports: a JSON Lines file or a JSON array of articles, of any size, read one article
at a time, with the size limit on each article and each broken record named and skipped."""
from __future__ import annotations

import json

from conftest import counts_of

from citebot.index.sources.files import MAX_FILE_BYTES, load_file


def _record(i: int, words: int = 40) -> str:
    text = " ".join(f"Harbour{i} council report sentence {j}." for j in range(words))
    return json.dumps({"id": f"a{i}", "title": f"Report {i}", "text": text, "published": "2025-03-01"})


def test_a_jsonl_export_over_the_old_file_limit_is_indexed_with_its_bad_line_named(cli, tmp_path):
    export = tmp_path / "export.jsonl"
    padding = " " * (1 << 20)  # whitespace lines: bytes past the old 50 MB limit, no articles to embed
    with export.open("w", encoding="utf-8") as fh:
        fh.write(_record(1) + "\n")
        fh.write("{not json\n")
        for _ in range(MAX_FILE_BYTES // len(padding) + 2):
            fh.write(padding + "\n")
        fh.write(_record(2) + "\n")
        fh.write(json.dumps({"id": "huge", "title": "Too long", "text": "word " * (3 * 2**20 // 5)}) + "\n")
    assert export.stat().st_size > MAX_FILE_BYTES
    code, out, err = cli("index", "build", str(export), "--json", env={"CITEBOT_MAX_ARTICLE_MB": "1"})
    assert code == 0, err
    assert counts_of(out, "added")["added"] == 2
    assert "export.jsonl: line 2: invalid JSON, skipped" in err
    assert f"export.jsonl: line {MAX_FILE_BYTES // len(padding) + 6}: article over 1 MB, skipped" in err
    assert "over 50 MB" not in err


def test_a_json_array_is_read_item_by_item_and_a_broken_end_keeps_what_came_before(tmp_path):
    problems: list[str] = []
    whole = tmp_path / "list.json"
    whole.write_text(json.dumps([json.loads(_record(i)) for i in range(3)] + [{"id": "x", "text": ""}]))
    assert [a.id for a in load_file(whole, "list.json", problems.append)] == ["a0", "a1", "a2"]
    assert problems == ["list.json: item 4: article has no 'text', skipped"]
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"exported": "2025-03-02", "articles": [json.loads(_record(7))]}))
    assert [a.id for a in load_file(wrapped, "wrapped.json", problems.append)] == ["a7"]
    single = tmp_path / "one.json"
    single.write_text(_record(9))
    assert [a.id for a in load_file(single, "one.json", problems.append)] == ["a9"]
    cut = tmp_path / "cut.json"
    cut.write_text("[" + _record(1) + ", " + _record(2)[:30])
    problems.clear()
    assert [a.id for a in load_file(cut, "cut.json", problems.append)] == ["a1"]
    assert len(problems) == 1 and problems[0].startswith("cut.json: item 2: invalid JSON")
    assert "\n" not in problems[0]
