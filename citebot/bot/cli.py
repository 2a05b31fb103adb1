"""The `citebot` command. It only parses arguments, calls index/ and prints; imports of the heavy
parts happen inside the commands so that `citebot --help` and the first answer start fast."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from . import redact
from .answering import check_question, make_retriever, readable
from .settings import SettingsError, load_settings

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


NO_WAIT = typer.Option(False, "--no-wait", help="Fail at once if another citebot is writing the index.")


@index_app.command("build")
def index_build(paths: List[str] = typer.Argument(..., help="Article files or folders (txt, md, html, json, jsonl), "
                                                            "or URLs of web pages or RSS/Atom feeds."),
                as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
                keep_days: Optional[int] = typer.Option(None, "--keep-days", min=0,
                                                        help="Leave out articles older than N days (0 = keep all)."),
                no_wait: bool = NO_WAIT) -> None:
    """Rebuild the index from scratch (these become the recorded sources); the old one serves until the
    new one is complete."""
    from citebot.index.build_records import Mode

    from .cli_sources import run_change

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
    from citebot.index.build_records import Mode

    from .cli_sources import run_change

    run_change(paths or [], as_json, Mode.UPDATE, prune=prune, wait=not no_wait, keep_days=keep_days)


@index_app.command("check")
def index_check() -> None:
    """Verify the served index: every file against the sizes and checksums recorded when it was written
    (a Qdrant collection: its counts and vectors against its manifest)."""
    from citebot.index.building import check
    from citebot.index.stores.base import IndexProblem

    settings = settings_or_exit()
    try:
        where, served, problems = check(settings.index_config())
    except IndexProblem as e:
        fail(str(e))
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
    from citebot.index.building import status
    from citebot.index.stores.base import IndexProblem

    settings = settings_or_exit()
    try:
        info = status(settings.index_config())
    except IndexProblem as e:
        fail(str(e))
    if as_json:
        typer.echo(json.dumps(info))
        return
    for key in ("store", "index_dir", "where", "collection", "generation", "points", "articles", "chunks",
                "segments", "shards", "replicas", "state", "model", "dtype", "faiss_index", "chunk_tokens", "built_at",
                "updated_at", "latest_published"):
        if key in info and not (key == "generation" and info["store"] == "local") and \
                not (key == "updated_at" and info[key] is None):
            typer.echo(f"{key.replace('_', ' ') + ':':<18}{info[key]}")
    if "size_bytes" in info:
        typer.echo(f"{'size on disk:':<18}{info['size_bytes'] / 2**20:.1f} MiB")
    if not info["compatible_with_settings"]:
        warn(f"the index was built with model '{info['model']}', the settings name another: rebuild it")


def _retriever_or_exit(settings, **overrides):
    from citebot.index.encoders.base import ModelError
    from citebot.index.stores.base import IndexProblem

    try:
        return make_retriever(settings, on_problem=warn, **overrides)
    except (IndexProblem, ModelError) as e:
        fail(str(e))


def _ask_one(retriever, settings, question: str, k: int, as_json: bool, markup: bool, offset: int = 0):
    """Answer and print one question; returns the answer (None when the question was turned away)."""
    from citebot.index.stores.base import IndexProblem

    from .render import answer_to_json, answer_to_text

    question, note = readable(question)
    hint = check_question(question, settings.max_question_chars)
    if hint:
        if as_json:
            typer.echo(json.dumps({"question": question, "answer_found": False, "results": [], "error": hint},
                                  ensure_ascii=False))
        else:
            typer.echo(hint)
        return None
    try:
        answer = retriever.answer(question.strip(), k=k, offset=offset)
    except IndexProblem as e:
        fail(str(e))
    if offset and not answer.hits and not as_json:
        typer.echo("No more results for that question.")
    elif as_json:
        obj = answer_to_json(answer, offset)
        if note:
            obj["note"] = note
        typer.echo(json.dumps(obj, ensure_ascii=False))
    elif markup:
        from rich.console import Console

        Console(highlight=False).print(answer_to_text(answer, offset, markup=True))
    else:
        typer.echo(answer_to_text(answer, offset))
    return answer


def _chat(retriever, settings, k: int, as_json: bool) -> None:
    """Interactive chat: history with the arrow keys, `more` for the next results, Ctrl-D to leave."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import InMemoryHistory

    session = PromptSession(history=InMemoryHistory())
    typer.echo("Ask a question about the indexed articles. `more` shows the next results; Ctrl-D leaves.")
    last, offset = None, 0
    while True:
        try:
            line = session.prompt("? ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        line = line.strip()
        if line.lower() in ("more", "m", "next"):
            if last is None:
                typer.echo("Ask a question first.")
                continue
            offset += k
            _ask_one(retriever, settings, last, k, as_json, markup=True, offset=offset)
            continue
        if line.lower() in ("quit", "exit"):
            break
        answer = _ask_one(retriever, settings, line, k, as_json, markup=True)
        if answer is not None:
            last, offset = line, 0
        typer.echo("")


@app.command()
def ask(question: Optional[str] = typer.Argument(None, help="The question; omit it for a chat, or pipe questions in."),
        k: Optional[int] = typer.Option(None, "-k", min=1, max=20, help="Number of extracts (default CITEBOT_TOP_K)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object: question, answer_found, results "
                                     "(rank, score, title, source, url, published, extract, highlight...).")) -> None:
    """Cited, verbatim extracts that answer QUESTION (one-shot, batch from stdin, or chat)."""
    settings = settings_or_exit()
    k = k or settings.top_k
    if question is not None:
        retriever = _retriever_or_exit(settings)
        _ask_one(retriever, settings, question, k, as_json, markup=sys.stdout.isatty())
        return
    retriever = _retriever_or_exit(settings)
    if sys.stdin.isatty():
        _chat(retriever, settings, k, as_json)
        return
    first = True
    for raw in sys.stdin.buffer:  # batch: one question per line in, one answer out, whatever the bytes
        line = raw.rstrip(b"\r\n").decode("utf-8", errors="surrogateescape")
        if not as_json and not first:
            typer.echo("")
        first = False
        _ask_one(retriever, settings, line, k, as_json, markup=False)
        sys.stdout.flush()


def _sizes(text: str) -> list[int | None]:
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("all", ""):
            out.append(None)
        elif part.isdigit():
            out.append(int(part))
        else:
            raise typer.BadParameter(f"'{part}' is not a number of distractor articles or 'all'")
    return out


@app.command("eval")
def eval_(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A SQuAD-format JSON file: its "
                                      "articles are indexed, its questions asked."),
          questions: List[Path] = typer.Option([], "--questions", exists=True, dir_okay=False,
                                               help="More answerable questions over those articles (JSONL: "
                                                    "title, question, answer)."),
          offtopic: List[Path] = typer.Option([], "--offtopic", exists=True, dir_okay=False,
                                              help="Questions to refuse (JSONL with question and kind, or one per "
                                                   "line; the repo's examples/eval/offtopic-*.jsonl)."),
          dates: List[Path] = typer.Option([], "--dates", exists=True, dir_okay=False,
                                           help="Date questions (JSONL), asked over the largest archive; "
                                                "each file is its own row."),
          distractors: List[Path] = typer.Option([], "--distractors", exists=True,
                                                 help="Article files/folders indexed beside the file's articles."),
          sizes: str = typer.Option("all", help="Distractor records to index from the JSONL distractor files, "
                                                "comma-separated: e.g. 0,2000,all (each size is its own index)."),
          as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
          rebuild: bool = typer.Option(False, "--rebuild", help="Build the cached evaluation indexes again."),
          limit: int = typer.Option(0, help="Ask only the first N questions of each set (0 = all)."),
          misses: Optional[Path] = typer.Option(None, help="Write missed and wrongly answered questions here (JSONL)."),
          features: Optional[Path] = typer.Option(None, help="Write each question's abstention evidence here "
                                                             "(JSONL, for bench/fit_abstention.py)."),
          fusion: Optional[str] = typer.Option(None, help="rrf | dense | bm25"),
          rerank: bool = typer.Option(True, help="Rerank candidates by their best sentence."),
          reader: Optional[bool] = typer.Option(None, "--reader/--no-reader",
                                                help="The reader stage (default: CITEBOT_READER)."),
          reader_top: Optional[int] = typer.Option(None, help="Candidates the reader reads."),
          picker: Optional[str] = typer.Option(None, help="Best-sentence picker: hybrid | dense | lexical | first"),
          lexical_weight: Optional[float] = typer.Option(None, help="Weight of question-word overlap."),
          cue_weight: Optional[float] = typer.Option(None, help="Weight of the answer-type cue."),
          sentence_weight: Optional[float] = typer.Option(None, help="Weight of the best sentence in reranking."),
          dense_weight: Optional[float] = typer.Option(None, help="Weight of the dense ranking in fusion."),
          article_weight: Optional[float] = typer.Option(None, help="Weight of an article's support in reranking."),
          dense_candidates: Optional[int] = typer.Option(None, help="Dense candidates per question."),
          extract_chars: Optional[int] = typer.Option(None, help="Extract length budget."),
          rerank_depth: Optional[int] = typer.Option(None, help="Fused candidates scored by sentence."),
          min_confidence: Optional[float] = typer.Option(None, help="Abstention threshold (0-1).")) -> None:
    """Answer recall, highlights, article hits, refusals, dates and latency, at one or more archive sizes."""
    from citebot.index.encoders.factory import load_encoder
    from citebot.tools.evaluation import (QuestionSet, Recorder, answerable_jsonl, archive_config, build_archive, date_questions,
                                  names_year, refusal_questions, run_sets, squad_articles)
    from citebot.index.stores.base import IndexProblem

    settings = settings_or_exit()
    cfg = settings.index_config()
    try:
        records, squad = squad_articles(file)
    except (ValueError, KeyError) as e:
        fail(f"{file}: not a SQuAD-format file ({e})")
    cut = (lambda xs: xs[:limit]) if limit else (lambda xs: xs)
    sets = [QuestionSet(file.stem, "answerable", cut([q for q in squad if not q.impossible and q.answers])),
            QuestionSet(f"{file.stem} unanswerable", "refuse", cut([q.text for q in squad if q.impossible])),
            # a year in a question is often what it asks about, not when the answer was published
            QuestionSet(f"{file.stem} naming a year", "answerable",
                        cut([q for q in squad if not q.impossible and q.answers and names_year(q.text)]))]
    for path in questions:
        sets.append(QuestionSet(path.stem, "answerable", cut(answerable_jsonl(path))))
    for path in offtopic:
        for kind, qs in refusal_questions(path).items():
            sets.append(QuestionSet(f"{path.stem}: {kind}", "refuse", cut(qs)))
    date_sets = [QuestionSet(path.stem, "dates", cut(date_questions(path))) for path in dates]
    overrides = {k: v for k, v in dict(fusion=fusion, rerank=rerank, picker=picker, lexical_weight=lexical_weight,
                                       cue_weight=cue_weight, sentence_weight=sentence_weight,
                                       dense_weight=dense_weight, article_weight=article_weight,
                                       dense_candidates=dense_candidates,
                                       extract_chars=extract_chars, rerank_depth=rerank_depth,
                                       min_confidence=min_confidence, reader=reader,
                                       reader_top=reader_top).items() if v is not None}
    from citebot.index.answer import AnswerConfig

    try:
        AnswerConfig(**overrides)  # a mistyped mode is said before minutes of indexing
    except ValueError as e:
        fail(str(e))
    encoder = load_encoder(cfg.model, cfg.dtype)
    table: dict[str, dict] = {}
    all_misses: list[dict] = []
    all_features: list[dict] = []
    size_list = _sizes(sizes) if distractors else [0]
    for i, size in enumerate(size_list):
        try:
            index_dir, sources = build_archive(Path("data") / "eval-cache", records, distractors, size, cfg,
                                               encoder, warn, on_build=lambda m: typer.echo(m, err=True),
                                               rebuild=rebuild)
        except IndexProblem as e:
            fail(str(e))
        arch = archive_config(cfg, index_dir)
        retriever = _retriever_or_exit(settings.model_copy(update={
            "index_dir": index_dir, "qdrant_collection": arch.qdrant.collection, "qdrant_path": arch.qdrant.path}),
            k=5, **overrides)
        label = f"{retriever.reader().manifest['articles']:,} articles"
        rec = Recorder(retriever, sources=sources)
        run = sets + (date_sets if i == len(size_list) - 1 else [])
        results, missed = run_sets(rec, run)
        table[label] = results
        all_misses += [{"size": label, **m} for m in missed]
        all_features += [{"size": label, **f} for f in rec.evidence]
    if misses:
        misses.write_text("\n".join(json.dumps(m, ensure_ascii=False) for m in all_misses), encoding="utf-8")
    if features:
        features.write_text("\n".join(json.dumps(f, ensure_ascii=False) for f in all_features), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(table))
        return
    from .render import eval_table

    eval_table(table, f"citebot eval: {file.name}")


@app.command()
def bot() -> None:
    """Run the Telegram bot (long polling; a webhook when CITEBOT_TELEGRAM_WEBHOOK_URL is set)."""
    from citebot.index.extras import MissingExtra, require

    try:
        require("telegram", "telegram")
    except MissingExtra as e:
        fail(str(e), 2)
    from .telegram import BotStartError, TokenError, read_token, run

    settings = settings_or_exit()
    try:
        token = read_token(settings, on_warning=warn)
    except TokenError as e:
        fail(str(e), 2)
    redact.setup_logging()
    retriever = _retriever_or_exit(settings)
    try:
        run(settings, retriever, token)
    except BotStartError as e:
        fail(str(e), 2)


from . import cli_sources  # noqa: E402,F401  (registers index add, remove and sources)


def main() -> None:
    from citebot.index.extras import MissingExtra

    try:
        app()
    except MissingExtra as e:  # an optional part asked for and not installed: the line names it
        sys.stderr.write(f"error: {e}\n")
        sys.exit(2)
    except Exception as e:  # a bug, not a user's fault: shown whole, but never with a secret in it
        import traceback

        sys.stderr.write(redact.scrub("".join(traceback.format_exception(e))))
        sys.stderr.write("error: citebot failed unexpectedly (above); please report it\n")
        sys.exit(70)


if __name__ == "__main__":
    main()
