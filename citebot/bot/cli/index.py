"""`citebot index build|update|add|remove|check|status|sources`: what is indexed and where it comes
from. They only parse, call citebot.index and print."""
from __future__ import annotations

import json
from typing import List, Optional

import typer

from citebot.index.build_records import Mode

from .. import redact
from ..render import ago, human_date
from .common import KEEP_DAYS, NO_WAIT, SOURCES_HELP, _progress_bar, fail, index_app, settings_or_exit, warn

@index_app.command("build")
def index_build(paths: List[str] = typer.Argument(..., help="Article files or folders (txt, md, html, json, jsonl), "
                                                            "or URLs of web pages or RSS/Atom feeds."),
                as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
                keep_days: Optional[int] = typer.Option(None, "--keep-days", min=0,
                                                        help="Leave out articles older than N days (0 = keep all)."),
                no_wait: bool = NO_WAIT) -> None:
    """Rebuild the index from scratch (these become the recorded sources); the old one serves until the
    new one is complete."""
    run_change(paths, as_json, Mode.BUILD, wait=not no_wait, keep_days=keep_days)


@index_app.command("update")
def index_update(paths: Optional[List[str]] = typer.Argument(None, help="Sources to refresh now (files, folders, "
                                                                       "URLs); none: every recorded source."),
                 as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
                 prune: bool = typer.Option(False, "--prune", help="Let a SOURCE that no longer exists drop its articles "
                                            "(without it, a missing SOURCE stops the update and changes nothing)."),
                 keep_days: Optional[int] = typer.Option(None, "--keep-days", min=0,
                                                         help="Drop articles older than N days (0 = keep all; "
                                                              "default CITEBOT_KEEP_DAYS)."),
                 no_wait: bool = NO_WAIT) -> None:
    """Re-embed only new and changed articles; a deleted file's articles go, a feed's old items stay."""
    run_change(paths or [], as_json, Mode.UPDATE, prune=prune, wait=not no_wait, keep_days=keep_days)


def on_index(what, settings=None):
    """`what(index settings)`, or the index problem it met as one line (exit 1)."""
    from citebot.index.stores.base import IndexProblem

    settings = settings or settings_or_exit()
    try:
        return what(settings.index_config())
    except IndexProblem as e:
        fail(str(e))


@index_app.command("check")
def index_check() -> None:
    """Verify the served index: every file against the sizes and checksums recorded when it was written
    (a Qdrant collection: its counts and vectors against its manifest)."""
    from citebot.index.inspecting import check

    settings = settings_or_exit()
    where, served, problems = on_index(check, settings)
    if problems:
        for line in problems:
            typer.echo(f"damaged: {line}", err=True)
        fail(f"{len(problems)} damaged part(s): rebuild the index with `citebot index build PATH...`")
    if settings.store == "local":
        typer.echo(f"index in {where}: every file is as it was written ({served})")
    else:
        typer.echo(f"index in {where}: the collection matches its manifest ({served})")


@index_app.command("status")
def index_status(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """What is indexed and where: the store, articles, chunks, model, build time, size on disk (Qdrant:
    the collection, its points and shards)."""
    from citebot.index.inspecting import status

    info = on_index(status)
    if as_json:
        typer.echo(json.dumps(info))
        return
    for key in ("store", "index_dir", "where", "collection", "generation", "points", "articles", "chunks",
                "segments", "shards", "replicas", "state", "model", "precision", "faiss_index", "chunk_tokens",
                "built_at", "updated_at", "latest_published"):
        if key in info and not (key == "generation" and info["store"] == "local") and \
                not (key == "updated_at" and info[key] is None):
            why = f" ({info['precision_why']})" if key == "precision" and info.get("precision_why") else ""
            typer.echo(f"{key.replace('_', ' ') + ':':<18}{info[key]}{why}")
    if "size_bytes" in info:
        typer.echo(f"{'size on disk:':<18}{info['size_bytes'] / 2**20:.1f} MiB")
    if not info["compatible_with_settings"]:
        warn(f"the index was built with model '{info['model']}', the settings name another: rebuild it")


def run_change(targets: List[str], as_json: bool, mode: Mode, prune: bool = False, wait: bool = True,
               keep_days: Optional[int] = None) -> None:
    """Build, update or add; the model loads only if something new must be embedded."""
    from citebot.index.building import add, build
    from citebot.index.encoders.base import ModelError
    from citebot.index.encoders.factory import load_encoder
    from citebot.index.stores.base import IndexProblem

    settings = settings_or_exit()
    cfg = settings.index_config()
    keep = settings.keep_days if keep_days is None else keep_days
    bar, progress, on_read = _progress_bar()
    try:
        model = lambda: load_encoder(cfg.model, cfg.dtype)  # noqa: E731
        common = dict(on_problem=warn, progress=progress, wait=wait, on_wait=warn, keep_days=keep,
                      fetch=settings.fetch_config(), on_read=on_read)
        if mode is Mode.ADD:
            report = add(targets, cfg, model, **common)
        else:
            report = build(targets, cfg, model, incremental=mode is Mode.UPDATE, prune=prune, **common)
    except (IndexProblem, ModelError) as e:
        fail(str(e))
    finally:
        if bar is not None:
            bar.stop()
    if report.query_model_error:
        warn(f"the question encoder could not be exported ({report.query_model_error}): questions will use the "
             "PyTorch model, which starts slower")
    not_added = mode is Mode.ADD and (any(s.error for s in report.sources) or report.unresolved)
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
        if not_added:
            raise typer.Exit(1)
        return
    if mode is Mode.ADD:
        for s in report.sources:
            typer.echo(redact.scrub(_added_line(s)))  # titles from a feed: no escape codes
    verb = {Mode.BUILD: "built", Mode.UPDATE: "updated", Mode.ADD: "updated"}[mode]
    typer.echo(f"index {verb}: {report.articles} articles, {report.chunks} chunks in {cfg.index_dir} "
               f"(added {report.added}, changed {report.changed}, removed {report.removed}, "
               f"unchanged {report.unchanged}; {report.chunks_embedded} chunks embedded"
               + (f"; {report.expired} past {keep} days dropped" if report.expired else "") + ")")
    if report.chunks_embedded and report.precision:
        typer.echo(f"embedding precision: {report.precision}"
                   + (f" ({report.precision_why})" if report.precision_why else ""))
    failed = [s for s in report.sources if s.error]
    if not_added:
        # what was asked for was not added (a URL whose body is neither a page nor a feed, a feed
        # that does not parse): a script or the bot's /add must see it in the exit code
        what = len(failed) + len(report.unresolved)
        typer.echo(f"error: {what} source(s) could not be read, and a new one is not recorded: see the warnings "
                   "above", err=True)
        raise typer.Exit(1)
    if failed:
        typer.echo(f"{len(failed)} source(s) could not be read and kept their articles: see the warnings above",
                   err=True)
    elif report.problems:
        typer.echo(f"{len(report.problems)} file(s), page(s) or record(s) skipped: see the warnings above", err=True)


def _added_line(s) -> str:
    if s.error:
        return f"{s.kind} {s.location}: not read ({s.error})"
    if s.kind == "page" and s.items:
        item = s.items[0]
        return f"page {s.location}: “{item['title']}”" + (f" · {human_date(item['published'])}" if item["published"] else "")
    title = f" “{s.title}”" if s.title else ""
    line = f"{s.kind} {s.location}{title}: {s.read} article(s) read"
    dated = sorted((i for i in s.items if i["published"]), key=lambda i: i["published"], reverse=True)
    if dated:
        line += f", the latest “{dated[0]['title']}” · {human_date(dated[0]['published'])}"
    return line


@index_app.command("add")
def index_add(sources: List[str] = typer.Argument(..., help=SOURCES_HELP),
              as_json: bool = typer.Option(False, "--json", help="Print what was added as JSON."),
              keep_days: Optional[int] = KEEP_DAYS, no_wait: bool = NO_WAIT) -> None:
    """Record sources and index them beside what is indexed; `index update` then refreshes them."""
    run_change(sources, as_json, Mode.ADD, wait=not no_wait, keep_days=keep_days)


@index_app.command("remove")
def index_remove(targets: List[str] = typer.Argument(..., help="Recorded sources (path or URL) to drop with all "
                                                               "their articles, or article ids, URLs or files."),
                 as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
                 no_wait: bool = NO_WAIT) -> None:
    """Drop sources or single articles; a removed article is not indexed again by a refresh."""
    from citebot.index.building import remove

    settings = settings_or_exit()
    report = on_index(lambda cfg: remove(targets, cfg, on_problem=warn, wait=not no_wait, on_wait=warn), settings)
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
        return
    typer.echo(f"removed {report.removed} article(s); {report.articles} remain in {settings.index_dir}")


@index_app.command("sources")
def index_sources(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Each recorded source: kind, articles, newest article, last refresh and its error."""
    from citebot.index.inspecting import list_sources

    rows = on_index(list_sources)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no recorded sources: add one with `citebot index add SOURCE...`")
        return
    for r in rows:
        state = "ok" if not r["last_error"] else f"failing: {r['last_error']}"
        if not r["last_error"] and r["failed_items"]:
            state = f"ok, {r['failed_items']} item(s) failed"
        title = f" “{r['title']}”" if r["title"] else ""
        typer.echo(redact.scrub(
            f"{r['kind']:<7}{r['articles']:>6} articles  newest {r['newest'] or '—':<10}  "
            f"refreshed {ago(r['last_refresh'])}  {state}\n        {r['location']}{title}"))
