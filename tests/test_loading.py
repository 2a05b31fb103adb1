"""Every supported format loads; a bad file is named and skipped while the rest load."""
import json
import os

from citebot.index.loading import load_articles

from conftest import SAMPLES, write_articles

HTML = """<html><head><title>Pier reopens | Bay News</title><meta name="author" content="Kim Ng">
<meta property="og:site_name" content="Bay News"><meta name="date" content="2025-05-01"></head>
<body><nav>Home | Sport | Weather</nav><article><h1>Pier reopens</h1>
<p>The Victorian pier reopened on Thursday after a two-year repair costing four million pounds.</p>
<p>Visitors queued from dawn to walk to the end of the pier again.</p></article>
<footer>Copyright Bay News</footer></body></html>"""


def test_each_format_loads_with_its_metadata(tmp_path):
    folder = write_articles(tmp_path / "in", {
        "a.txt": "Bakery wins prize\n\nBy Lou Park\n\nThe corner bakery won the national sourdough prize.\n",
        "b.md": "---\ntitle: Canal cleaned\nsource: Town Post\npublished: 2025-01-09\n---\n\n"
                "Volunteers pulled [three bikes](http://x) and a sofa out of the canal.\n",
        "c.html": HTML,
        "d.json": [{"id": "d1", "title": "Night bus returns", "text": "The night bus returns on Friday.",
                    "url": "https://post.example/night-bus", "published": "07/03/2025", "author": "Al Roy"}],
        "e.jsonl": json.dumps({"id": "e1", "title": "Snow closes school", "text": "Snow closed Elm School.",
                               "source": "Town Post"}) + "\n",
        "sub/f.htm": HTML.replace("Pier reopens", "Pier closes"),
    })
    problems = []
    arts = {a.id: a for a in load_articles([folder], problems.append)}
    assert problems == []
    assert arts["a.txt"].title == "Bakery wins prize" and arts["a.txt"].author == "Lou Park"
    assert arts["b.md"].text == "Volunteers pulled three bikes and a sofa out of the canal."
    assert (arts["b.md"].source, arts["b.md"].published) == ("Town Post", "2025-01-09")
    pier = arts["c.html"]
    assert pier.title == "Pier reopens" and pier.author == "Kim Ng" and pier.source == "Bay News"
    assert pier.published == "2025-05-01"
    assert "Copyright" not in pier.text and "Home | Sport" not in pier.text
    assert "two-year repair" in pier.text
    assert arts["d1"].published == "2025-03-07" and arts["d1"].source == "post.example"
    assert arts["e1"].source == "Town Post"
    assert "sub/f.htm" in arts


def test_bad_files_are_named_and_skipped(tmp_path):
    folder = write_articles(tmp_path / "in", {
        "good.txt": "Good title\n\nA perfectly good article sentence.\n",
        "broken.json": "{not json",
        "empty.txt": "",
        "list.json": [{"id": "ok", "title": "Fine", "text": "Fine text."}, {"id": "bad", "title": "No text"}, 7],
        "lines.jsonl": '{"id": "l1", "title": "L", "text": "Line one."}\n{oops\n',
        "notes.csv": "a,b,c",
        "latin1.txt": "Caf\xe9 opens\n\nThe caf\xe9 opened on the square.\n".encode("latin-1"),
    })
    problems = []
    arts = {a.id: a for a in load_articles([folder, tmp_path / "missing.txt"], problems.append)}
    assert set(arts) == {"good.txt", "ok", "l1", "latin1.txt"}
    assert arts["latin1.txt"].text == "The café opened on the square."
    text = "\n".join(problems)
    for name in ("broken.json", "empty.txt", "list.json: item 2", "list.json: item 3", "lines.jsonl: line 2",
                 "missing.txt"):
        assert name in text, name
    assert "notes.csv" not in text  # other file types in a folder are simply not articles
    assert all("\n" not in p for p in problems)


def test_duplicate_ids_keep_the_first(tmp_path):
    folder = write_articles(tmp_path / "in", {
        "a.json": {"id": "same", "title": "First", "text": "First text."},
        "b.json": {"id": "same", "title": "Second", "text": "Second text."},
    })
    problems = []
    arts = load_articles([folder], problems.append)
    assert [a.title for a in arts] == ["First"]
    assert "duplicate article id 'same'" in problems[0]


def test_bundled_samples_all_load_cleanly():
    problems = []
    arts = load_articles([SAMPLES], problems.append)
    assert problems == []
    assert 10 <= len(arts) <= 20
    assert all(a.title and a.text for a in arts)


def test_western_text_in_latin1_is_read_as_written_and_cp1251_russian_too(tmp_path):
    folder = write_articles(tmp_path / "in", {
        "fr.txt": "Crème brûlée night\n\nThe café served crème brûlée at the Fête.\n".encode("latin-1"),
        "quotes.txt": "Smart quotes\n\n\u201cIt\u2019s open,\u201d she said \u2013 at last.\n".encode("cp1252"),
        "ru.txt": "Новости\n\nМэр открыл новый мост через реку в понедельник утром.\n".encode("cp1251"),
    })
    arts = {a.id: a for a in load_articles([folder], print)}
    assert arts["fr.txt"].text == "The café served crème brûlée at the Fête."
    assert arts["quotes.txt"].text == "\u201cIt\u2019s open,\u201d she said \u2013 at last."
    assert arts["ru.txt"].text == "Мэр открыл новый мост через реку в понедельник утром."


def test_what_is_not_a_text_file_is_refused_without_blocking(tmp_path):
    folder = write_articles(tmp_path / "in", {"photo.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
                                             "ok.txt": "Fine\n\nA fine article.\n"})
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.txt"
    zero.symlink_to("/dev/zero")
    problems = []
    arts = load_articles([folder, fifo, zero], problems.append)  # would block or never end if read
    assert [a.id for a in arts] == ["ok.txt"]
    text = "\n".join(problems)
    assert "photo.txt: binary file" in text
    assert "pipe.txt: not a regular file" in text and "zero.txt: not a regular file" in text


def test_a_file_over_the_limit_is_refused_by_what_is_read(tmp_path, monkeypatch):
    import citebot.index.sources.files as files

    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)
    folder = write_articles(tmp_path / "in", {"big.txt": "Big\n\n" + "word " * 400})
    problems = []
    assert load_articles([folder], problems.append) == []
    assert "over" in problems[0]
