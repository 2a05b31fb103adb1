"""What every command shares: the typer apps, one-line errors and warnings (secrets scrubbed),
the settings, the progress bar, common options, the retriever."""
from __future__ import annotations

import sys

import typer

from .. import redact
from ..answering import make_retriever
from ..settings import SettingsError, load_settings

# No rich tracebacks with local variables: a local may hold the bot token.
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Answer questions over your articles with cited, verbatim extracts.")
index_app = typer.Typer(no_args_is_help=True, help="Build, update and inspect the article index.")
app.add_typer(index_app, name="index")


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {redact.scrub(message)}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    typer.echo(f"warning: {redact.scrub(message)}", err=True)


def settings_or_exit():
    try:
        return load_settings(on_warning=warn)
    except SettingsError as e:
        fail(str(e), 2)


def _progress_bar():
    """Progress on stderr for builds longer than a moment: articles read (an archive export is
    read for minutes), then chunks embedded with the time left. Silent when stderr is not a
    terminal. Returns the bar (to stop), the embedding callback and the articles-read callback."""
    if not sys.stderr.isatty():
        return None, None, None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
                   TimeRemainingColumn(), transient=True, console=None)
    state: dict = {}

    def read(n: int) -> None:
        if n < 200 or n % 100:
            return
        if "read" not in state:
            bar.start()
            state["read"] = bar.add_task("reading", total=None, count="")
        bar.update(state["read"], count=f"{n:,} articles")

    def update(done: int, total: int) -> None:
        if total < 64:
            return
        if "task" not in state:
            bar.start()
            if "read" in state:
                bar.update(state["read"], visible=False)
            state["task"] = bar.add_task("embedding", total=total, count="")
        bar.update(state["task"], completed=done, count=f"{done:,}/{total:,} chunks")

    return bar, update, read


def parse_day(text: str, option: str):
    """A YYYY-MM-DD option's date, or one line naming the option."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} takes a date as YYYY-MM-DD, not {text!r}", 2)


NO_WAIT = typer.Option(False, "--no-wait", help="Fail at once if another citebot is writing the index.")

KEEP_DAYS = typer.Option(None, "--keep-days", min=0, help="Drop articles older than N days (0 = keep all; "
                                                          "default CITEBOT_KEEP_DAYS).")
SOURCES_HELP = "Files, folders, or URLs of web pages or RSS/Atom feeds."


def extra_or_exit(extra: str, *modules: str) -> None:
    """Stop with the one line naming the extra to install when one of `modules` is missing (exit 2)."""
    from citebot.index.extras import MissingExtra, require

    try:
        for module in modules:
            require(module, extra)
    except MissingExtra as e:
        fail(str(e), 2)


def retriever_or_exit(settings, **overrides):
    from citebot.index.encoders.base import ModelError
    from citebot.index.stores.base import IndexProblem

    try:
        return make_retriever(settings, on_problem=warn, **overrides)
    except (IndexProblem, ModelError) as e:
        fail(str(e))
