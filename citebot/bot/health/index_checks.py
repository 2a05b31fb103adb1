"""The index, for `citebot doctor`: is it there (or the Qdrant server reachable) and readable with
these settings, is every file as it was written (`citebot index check`'s own check), and how the
recorded sources' last refresh went (`citebot index sources`' own list)."""
from __future__ import annotations

import datetime as dt

from ..render import ago
from .probe import FAIL, OK, SKIPPED, Check, Probe

STALE_REFRESHES = 3  # CITEBOT_REFRESH_MINUTES intervals without a refresh before it counts as stopped


def index_check(probe: Probe) -> Check:
    """What the answer path opens, opened the same way: a missing index, another model's or
    format's, or a server that does not answer is the one line the bot would die with."""
    from citebot.index.extras import MissingExtra
    from citebot.index.stores.base import IndexProblem, NoIndex, StoreUnavailable
    from citebot.index.stores.factory import open_store

    cfg = probe.index_config()
    try:
        with open_store(cfg) as store:
            where = store.where()
            store.open(cfg.model).close()
            info = store.status()
    except (NoIndex, StoreUnavailable, MissingExtra) as e:
        return Check("index", FAIL, str(e))
    except IndexProblem as e:  # there, but not readable as it is: the files check may name the damage
        probe.index_found = True
        return Check("index", FAIL, str(e))
    probe.index_found = True
    chunks = info.get("chunks", info.get("points"))
    built = info.get("updated_at") or info.get("built_at")
    return Check("index", OK, f"{where}: {info.get('articles')} articles, {chunks} chunks"
                              + (f", written {ago(built)}" if built else ""))


def files_check(probe: Probe) -> Check:
    from citebot.index.inspecting import check
    from citebot.index.stores.base import IndexProblem

    if not probe.index_found:
        return Check("index-files", SKIPPED, "no index to check (see the index check)")
    try:
        where, served, problems = check(probe.index_config())
    except IndexProblem as e:
        return Check("index-files", FAIL, str(e))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return Check("index-files", FAIL, f"damaged: {problems[0]}{more}: rebuild the index with "
                                          "`citebot index build PATH...`")
    what = "every file is as it was written" if probe.settings.store == "local" else "the collection matches its manifest"
    return Check("index-files", OK, f"{what} ({served})")


def _age_s(iso: str | None) -> float | None:
    try:
        then = dt.datetime.fromisoformat(iso) if iso else None
    except ValueError:
        return None
    if then is None:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.timezone.utc)
    return (dt.datetime.now(dt.timezone.utc) - then).total_seconds()


def refresh_check(probe: Probe) -> Check:
    """A source whose last refresh failed fails the check (its articles still serve, but no news
    comes from it); so does a bot refresh (CITEBOT_REFRESH_MINUTES) that stopped happening."""
    rows = probe.sources()
    if rows is None:
        return Check("refresh", SKIPPED, "the index cannot be read (see the index check)")
    if not rows:
        return Check("refresh", SKIPPED, "no recorded sources")
    failing = [r for r in rows if r["last_error"]]
    if failing:
        first = failing[0]
        return Check("refresh", FAIL, f"{len(failing)} of {len(rows)} source(s) failed their last refresh; "
                                      f"{first['location']}: {first['last_error']}")
    latest = max((r["last_refresh"] for r in rows if r["last_refresh"]), default=None)
    minutes = probe.settings.refresh_minutes
    age = _age_s(latest)
    if minutes and (age is None or age > STALE_REFRESHES * minutes * 60):
        return Check("refresh", FAIL, f"the last refresh was {ago(latest)}, though CITEBOT_REFRESH_MINUTES is "
                                      f"{minutes:g}: is the bot running?")
    items = sum(r["failed_items"] for r in rows)
    return Check("refresh", OK, f"{len(rows)} source(s), the last refreshed {ago(latest)}"
                                + (f"; {items} feed item(s) could not be read" if items else ""))
