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
def embedder():
    from index.encoders.factory import load_encoder as load_embedder

    return load_embedder()


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


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Run `citebot ...` in-process against an index in tmp_path; returns (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(tmp_path / "index"))
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict | None = None):
        result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run
