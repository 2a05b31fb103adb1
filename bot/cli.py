"""The `citebot` command. It only parses arguments, calls index/ and prints; imports of the heavy
parts happen inside the commands so that `citebot --help` and the first answer start fast."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from .settings import SettingsError, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Answer questions over your articles with cited, verbatim extracts.")
index_app = typer.Typer(no_args_is_help=True, help="Build, update and inspect the article index.")
app.add_typer(index_app, name="index")


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def settings_or_exit():
    try:
        return load_settings()
    except SettingsError as e:
        fail(str(e), 2)


def _progress_bar():
    """A progress bar on stderr for builds longer than a moment; silent when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None, None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("embedding"), BarColumn(), TextColumn("{task.completed}/{task.total} chunks"),
                   TimeRemainingColumn(), transient=True, console=None)
    state: dict = {}

    def update(done: int, total: int) -> None:
        if total < 64:
            return
        if "task" not in state:
            bar.start()
            state["task"] = bar.add_task("embed", total=total)
        bar.update(state["task"], completed=done)

    return bar, update


def _run_build(paths: List[Path], as_json: bool, incremental: bool) -> None:
    from index.building import build, check_updatable
    from index.embedding import ModelError, load_embedder
    from index.store import IndexError_

    settings = settings_or_exit()
    cfg = settings.index_config()
    bar, progress = _progress_bar()
    try:
        if incremental:
            check_updatable(cfg)  # before the model loads: a mismatch is said at once
        embedder = load_embedder(cfg.model, cfg.dtype)
        report = build(paths, cfg, embedder, on_problem=warn, progress=progress, incremental=incremental)
    except (IndexError_, ModelError) as e:
        fail(str(e))
    finally:
        if bar is not None:
            bar.stop()
    if as_json:
        typer.echo(json.dumps(report.counts()))
        return
    verb = "updated" if incremental else "built"
    typer.echo(f"index {verb}: {report.articles} articles, {report.chunks} chunks in {cfg.index_dir} "
               f"(added {report.added}, changed {report.changed}, removed {report.removed}, "
               f"unchanged {report.unchanged}; {report.chunks_embedded} chunks embedded)")
    if report.problems:
        typer.echo(f"{len(report.problems)} file(s) or record(s) skipped: see the warnings above", err=True)


@index_app.command("build")
def index_build(paths: List[Path] = typer.Argument(..., help="Article files or folders (txt, md, html, json, jsonl)."),
                as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON.")) -> None:
    """Rebuild the index from scratch; the old one serves until the new one is complete."""
    _run_build(paths, as_json, incremental=False)


@index_app.command("update")
def index_update(paths: List[Path] = typer.Argument(..., help="The full set of article files or folders."),
                 as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON.")) -> None:
    """Re-embed only new and changed articles and drop removed ones (same result as a build)."""
    _run_build(paths, as_json, incremental=True)


@index_app.command("status")
def index_status(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """What is indexed: articles, chunks, model, build time, size on disk."""
    from index.building import status
    from index.store import IndexError_

    settings = settings_or_exit()
    try:
        info = status(settings.index_config())
    except IndexError_ as e:
        fail(str(e))
    if as_json:
        typer.echo(json.dumps(info))
        return
    for key in ("index_dir", "articles", "chunks", "model", "dtype", "faiss_index", "chunk_tokens",
                "built_at", "latest_published"):
        typer.echo(f"{key.replace('_', ' ') + ':':<18}{info[key]}")
    typer.echo(f"{'size on disk:':<18}{info['size_bytes'] / 2**20:.1f} MiB")
    if not info["compatible_with_settings"]:
        warn(f"the index was built with model '{info['model']}', the settings name another: rebuild it")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
