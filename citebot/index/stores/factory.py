"""The store an index lives in, chosen by CITEBOT_STORE (IndexConfig.store) and recorded in what
it writes (the manifest's `store`), so that an index is never read as another store's."""
from __future__ import annotations

import importlib

from ..config import IndexConfig
from .base import IndexProblem, Store

# CITEBOT_STORE -> (its package, its class): a store is one package here and one line below; each is
# imported only when chosen (qdrant-client loads only for the qdrant store)
STORES = {
    "local": (".local", "LocalStore"),
    "qdrant": (".qdrant", "QdrantStore"),
}


def open_store(cfg: IndexConfig) -> Store:
    kind = (cfg.store or "local").strip().lower()
    if kind not in STORES:
        raise IndexProblem(f"CITEBOT_STORE: unknown store '{cfg.store}' (use {' or '.join(STORES)})")
    package, name = STORES[kind]
    return getattr(importlib.import_module(package, __package__), name).from_config(cfg)
