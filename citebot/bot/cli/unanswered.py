"""`citebot unanswered`: what readers asked that the archive could not answer (or only with a
caution), most asked first, rewordings grouped (bot/unanswered.py). Needs CITEBOT_UNANSWERED_LOG."""
from __future__ import annotations

import json
from typing import Optional

import typer

from .. import redact
from ..render import ago
from .common import app, fail, settings_or_exit

REASONS = {"not_relevant": "not found", "nothing_in_period": "not in the period", "period_empty": "period not indexed",
           "tentative": "tentative", "not_found": "not found"}


@app.command()
def unanswered(as_json: bool = typer.Option(False, "--json", help='Print one JSON object: {"log", "questions", '
                                            '"groups": [{"question", "count", "last_asked", "language", "reasons", '
                                            '"wordings", "terms"}]}.'),
               top: int = typer.Option(20, "--top", min=1, help="Show the N most asked."),
               since: Optional[float] = typer.Option(None, "--since", min=0, metavar="DAYS",
                                                     help="Only questions asked in the last DAYS days.")) -> None:
    """The questions most asked that got "not found" or a tentative answer, rewordings counted together."""
    from ..unanswered import group, read_entries

    settings = settings_or_exit()
    path = settings.unanswered_log
    if path is None:
        fail("no log to read: set CITEBOT_UNANSWERED_LOG=PATH, and the bot and `citebot ask` append each question "
             "they cannot answer to it")
    try:
        entries = read_entries(path, since)
    except FileNotFoundError:
        entries = []
    except OSError as e:
        fail(f"cannot read CITEBOT_UNANSWERED_LOG {path}: {e.strerror or e}")
    groups = group(entries)[:top]
    if as_json:
        typer.echo(json.dumps({"log": str(path), "questions": len(entries), "groups": [g.to_json() for g in groups]},
                              ensure_ascii=False))
        return
    if not entries:
        typer.echo(f"nothing recorded in {path}" + (f" in the last {since:g} days" if since is not None else ""))
        return
    width = len(str(groups[0].count))
    for g in groups:
        info = g.to_json()
        why = ", ".join(f"{REASONS.get(r, r)} {n}" for r, n in info["reasons"].items())
        typer.echo(redact.scrub(f"{g.count:>{width}}  {info['question']}"))
        typer.echo(f"{'':>{width}}  last asked {ago(info['last_asked'])} · {why}"
                   + (f" · {info['wordings']} wordings" if info["wordings"] > 1 else ""))
