"""What the index holds, for people: its status, a check of every file, the recorded sources with
how fresh each is (`citebot index status|check|sources`, the bot's /sources)."""
from __future__ import annotations

import contextlib

from .config import IndexConfig
from .sources import registry
from .stores.base import NoIndex
from .stores.factory import open_store


def status(cfg: IndexConfig) -> dict:
    with open_store(cfg) as store:
        info = store.status()
    return {**info, "compatible_with_settings": info.get("model") == cfg.model}


def check(cfg: IndexConfig) -> tuple[str, str, list[str]]:
    """(where the index is, which version is served, every damaged part of it: one line each)."""
    with open_store(cfg) as store:
        return store.where(), store.pointer() or "", store.check()


def list_sources(cfg: IndexConfig) -> list[dict]:
    """Each recorded source with its kind, articles served, newest article date, and how its
    last refresh went (`citebot index sources`, the bot's /sources)."""
    with open_store(cfg) as store:
        if not store.exists():
            raise NoIndex(f"no index in {store.where()}: build one with `citebot index build PATH...` "
                          "or add a source with `citebot index add SOURCE...`")
        with contextlib.closing(store.open()) as reader:
            served = reader.articles()
            specs = registry.recorded(reader.manifest)
    counts: dict[str | None, int] = {}
    newest: dict[str | None, str] = {}
    for st in served.values():
        counts[st.source_key] = counts.get(st.source_key, 0) + 1
        if st.dated and st.dated > newest.get(st.source_key, ""):
            newest[st.source_key] = st.dated
    status = registry.read_status(cfg.index_dir)
    out = []
    for spec in specs:
        st = status.get(spec.location, registry.SourceStatus())
        out.append({"kind": spec.kind.value, "location": spec.location, "title": spec.title,
                    "policy": spec.policy.value, "articles": counts.get(spec.location, 0),
                    "newest": newest.get(spec.location), "added": spec.added, "last_refresh": st.refreshed,
                    "last_ok": st.ok, "last_error": st.error, "failed_items": st.failed_items,
                    "removed_by_hand": len(spec.excluded)})
    return out
