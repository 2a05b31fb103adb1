"""`citebot doctor`: every part checked once, one line each, exit 0 when all pass and 1 when any
fails, for monitors (systemd, a container's HEALTHCHECK, cron). The checks live in bot/health/."""
from __future__ import annotations

import json
from typing import List, Optional

import typer

from .common import app

WIDTH = 12  # the longest check name, "index-files", and a space


@app.command()
def doctor(as_json: bool = typer.Option(False, "--json", help='Print one JSON object: {"ok": bool, "checks": '
                                        '[{"name", "ok", "skipped", "detail"}]}.'),
           skip: Optional[List[str]] = typer.Option(None, "--skip", metavar="CHECK",
                                                    help="Leave a check out (repeatable), e.g. --skip index-files "
                                                         "for a frequent probe of a large index.")) -> None:
    """Check that citebot can run: one line a check, ok / FAIL / skipped (exit 1 if any fails).

    Settings, optional parts, the index (or the Qdrant server) and its files' checksums, the
    question encoder and the reader, the bot's token (its shape) and status file, the last refresh."""
    from ..health.checks import names, run_checks

    unknown = sorted(set(skip or ()) - set(names()))
    if unknown:
        typer.echo(f"error: no check named {', '.join(unknown)} (checks: {', '.join(names())})", err=True)
        raise typer.Exit(2)
    checks = run_checks(skip=skip or ())
    ok = not any(c.failed for c in checks)
    if as_json:
        typer.echo(json.dumps({"ok": ok, "checks": [c.to_json() for c in checks]}, ensure_ascii=False))
    else:
        for c in checks:
            typer.echo(f"{c.state:<8}{c.name:<{WIDTH}}{c.detail}")
        failed = sum(c.failed for c in checks)
        typer.echo("all checks passed" if ok else f"{failed} check(s) failed")
    raise typer.Exit(0 if ok else 1)
