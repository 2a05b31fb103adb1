"""`citebot ask`: one question, piped questions, or a chat on the terminal."""
from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from ..answering import ask as ask_retriever, check_question, readable
from .common import app, fail, parse_day, retriever_or_exit, settings_or_exit


def _ask_one(retriever, settings, question: str, k: int, as_json: bool, markup: bool, offset: int = 0,
             explain: bool = False):
    """Answer and print one question; returns the answer (None when the question was turned away)."""
    from citebot.index.stores.base import IndexProblem

    from ..render import answer_to_json, answer_to_text, explanation_lines

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
        answer = ask_retriever(retriever, settings, question.strip(), k, offset, as_of=settings.as_of, explain=explain)
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
    if explain and not as_json and answer.explanation is not None:
        typer.echo("\n" + "\n".join(explanation_lines(answer.explanation)))
    return answer


def _chat(retriever, settings, k: int, as_json: bool, explain: bool = False) -> None:
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
            _ask_one(retriever, settings, last, k, as_json, markup=True, offset=offset, explain=explain)
            continue
        if line.lower() in ("quit", "exit"):
            break
        answer = _ask_one(retriever, settings, line, k, as_json, markup=True, explain=explain)
        if answer is not None:
            last, offset = line, 0
        typer.echo("")


@app.command()
def ask(question: Optional[str] = typer.Argument(None, help="The question; omit it for a chat, or pipe questions in."),
        k: Optional[int] = typer.Option(None, "-k", min=1, max=20, help="Number of extracts (default CITEBOT_TOP_K)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object: question, answer_found, results "
                                     "(rank, score, title, source, url, published, extract, highlight...)."),
        as_of: Optional[str] = typer.Option(None, "--as-of", metavar="YYYY-MM-DD",
                                            help="Answer as on that day: 'this week', 'yesterday' and 'latest' read "
                                            "against it, and nothing published after it is quoted (default "
                                            "CITEBOT_AS_OF, else today)."),
        explain: bool = typer.Option(False, "--explain", help="Also show how the answer was reached: the question as "
                                     "parsed, the candidates' dense, BM25, fused and reader scores, the decision "
                                     "against its threshold, and which stage decided (in --json: an \"explain\" "
                                     "object).")) -> None:
    """Cited, verbatim extracts that answer QUESTION (one-shot, batch from stdin, or chat)."""
    settings = settings_or_exit()
    if as_of is not None:
        settings.as_of = parse_day(as_of, "--as-of")
    k = k or settings.top_k
    if question is not None:
        retriever = retriever_or_exit(settings)
        _ask_one(retriever, settings, question, k, as_json, markup=sys.stdout.isatty(), explain=explain)
        return
    retriever = retriever_or_exit(settings)
    if sys.stdin.isatty():
        _chat(retriever, settings, k, as_json, explain)
        return
    first = True
    for raw in sys.stdin.buffer:  # batch: one question per line in, one answer out, whatever the bytes
        line = raw.rstrip(b"\r\n").decode("utf-8", errors="surrogateescape")
        if not as_json and not first:
            typer.echo("")
        first = False
        _ask_one(retriever, settings, line, k, as_json, markup=False, explain=explain)
        sys.stdout.flush()
