"""Plain configuration values for index/ (the front end builds them from its settings)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .embedding import DEFAULT_MODEL


@dataclass(frozen=True)
class IndexConfig:
    index_dir: Path = Path("data/index")
    model: str = DEFAULT_MODEL
    dtype: str = "auto"  # auto | fp32 | bf16
    chunk_tokens: int = 128
    chunk_overlap: int = 1  # sentences shared by neighbouring chunks
    faiss_index: str = "auto"  # auto | flat | ivf | hnsw | any FAISS factory string
    batch_size: int = 32

    def chunking(self) -> dict:
        """What must match between an index and an update of it."""
        return {"chunk_tokens": self.chunk_tokens, "chunk_overlap": self.chunk_overlap}
