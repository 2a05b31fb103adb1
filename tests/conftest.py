"""Shared fixtures: the real model (loaded once), small corpora written by the tests, the CLI."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "examples" / "articles"
SHARED = REPO.parent / "shared"
SEED_ARTICLE = SHARED / "articles" / "000_b36d12bb6663df96.txt"
SEED_QUESTIONS = SHARED / "eval" / "seed-questions.jsonl"
SQUAD = SHARED / "eval" / "squad2-dev-5articles.json"

needs_seed = pytest.mark.skipif(not SEED_ARTICLE.exists(), reason="../shared/articles is absent (a newcomer's clone)")
needs_squad = pytest.mark.skipif(not SQUAD.exists(), reason="../shared/eval is absent (a newcomer's clone)")


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch, tmp_path):
    """Tests never read the developer's .env or environment settings."""
    for key in list(os.environ):
        if key.startswith("CITEBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def encoder():
    from citebot.index.encoders.factory import load_encoder

    return load_encoder()


def counts_of(stdout: str, *keys: str) -> dict:
    """The counts of a `citebot index ... --json` report (its declared form: build_records.py)."""
    report = json.loads(stdout)
    assert report["schema"] == "citebot.build-report/1"
    return {k: report[k] for k in keys or ("added", "changed", "removed", "unchanged", "chunks_embedded")}


def write_articles(folder: Path, articles: dict[str, dict | str]) -> Path:
    """Write {relative name: JSON-able object, text or bytes} under folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in articles.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, (dict, list)):
            path.write_text(json.dumps(content), encoding="utf-8")
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def change_remove_add(src: Path, article) -> None:
    """The update every store is tested with: article 0 changed, 1 removed, 9 added (`article(i,
    extra="")` makes article i of a test's own corpus)."""
    (src / "0.json").write_text(json.dumps(article(0, extra="The vote was close. ")))
    (src / "1.json").unlink()
    write_articles(src, {"9.json": article(9)})


# six short stories on one topic: a follow or a question about the Wend floods meets several
FLOOD_ARTICLES = {f"flood{i}.json": {"id": f"flood-{i}", "title": f"Wend floods: day {i}",
                                     "text": f"On day {i} of the Wend floods, the river flooded {place}. "
                                             f"Volunteers filled sandbags as the Wend flood water rose again."}
                  for i, place in enumerate(["Quay Lane", "the mill", "the cricket ground", "Tanner's Row",
                                             "the station car park", "the old brewery"])}


# Secrets the reliability tests hand to citebot (a bot token, a Qdrant API key, a password in a URL
# setting): `no_leaks` fails a test whose output shows any of them, in any spelling.
LEAK_TOKEN = "123456789:AAHleakTOKENleakTOKENleakTOKEN_0123"
LEAK_API_KEY = "qdrant-key-LEAK-5f3a9c0d"
LEAK_PASSWORD = "pw-LEAK-7d1e2b"


def spellings(secret: str) -> set[str]:
    """How a secret may come back: as is, percent-encoded (either case, once or twice), as a
    form value, and a bot token's secret half alone."""
    from urllib.parse import quote, quote_plus

    once = quote(secret, safe="")
    out = {secret, once, once.lower(), quote_plus(secret), quote(once, safe="")}
    if ":" in secret and secret.split(":")[0].isdigit():
        out.add(secret.partition(":")[2])
    return out


class Outputs:
    """Everything a test saw citebot print, checked for secrets when the test ends."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.secrets: list[str] = [LEAK_TOKEN, LEAK_API_KEY, LEAK_PASSWORD]

    def add(self, *texts: str | bytes) -> None:
        for t in texts:
            self.texts.append(t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t or ""))

    def leaks(self) -> list[str]:
        return [f"{spelling!r} in {text[max(0, text.find(spelling) - 80):text.find(spelling) + 80]!r}"
                for secret in self.secrets for spelling in spellings(secret)
                for text in self.texts if spelling in text]


@pytest.fixture
def no_leaks(capsys, caplog):
    """The one check that no token, API key or URL password reaches any output of a test: what
    the `cli` fixture returned, what a test adds (a subprocess's output), and everything captured
    (capsys, caplog). Use it module-wide with `pytestmark = pytest.mark.usefixtures("no_leaks")`."""
    seen = Outputs()
    yield seen
    out, err = capsys.readouterr()
    seen.add(out, err, caplog.text)
    leaks = seen.leaks()
    assert not leaks, "a secret reached the output: " + "; ".join(leaks[:5])


@pytest.fixture
def cli(monkeypatch, tmp_path, request):
    """Run `citebot ...` in-process against an index in tmp_path; returns (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from citebot.bot.cli import app

    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(tmp_path / "index"))
    runner = CliRunner()
    seen = request.getfixturevalue("no_leaks") if "no_leaks" in request.fixturenames else None

    def run(*args: str, input: str | None = None, env: dict | None = None):
        result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        if seen is not None:
            seen.add(result.stdout, result.stderr)
        return result.exit_code, result.stdout, result.stderr

    return run
