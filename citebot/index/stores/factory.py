"""The store an index lives in, chosen by CITEBOT_STORE (IndexConfig.store) and recorded in what
it writes (the manifest's `store`), so that an index is never read as another store's."""
from __future__ import annotations

from ..config import IndexConfig
from .base import IndexProblem, Store

STORES = ("local", "qdrant")


def open_store(cfg: IndexConfig) -> Store:
    kind = (cfg.store or "local").strip().lower()
    if kind == "local":
        from .local import LocalStore

        return LocalStore(cfg.index_dir, cfg.faiss_index)
    if kind == "qdrant":
        from .qdrant import QdrantStore  # imports qdrant-client only when it is used

        return QdrantStore(cfg.qdrant)
    raise IndexProblem(f"CITEBOT_STORE: unknown store '{cfg.store}' (use {' or '.join(STORES)})")
