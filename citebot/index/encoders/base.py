"""What the rest of citebot asks of an embedding model, whatever its family.

A build needs a *passage encoder*: token counts (chunks are sized in the model's own tokens),
chunk vectors and a vector for each sentence of a chunk (the answer path scores sentences by
them). The answer path needs only a *query encoder*. Prefixes a model expects ("query: ",
"passage: ") are the encoder's business: callers pass plain text.
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

Progress = Callable[[int], None]  # how many texts a batch finished


class ModelError(RuntimeError):
    """The embedding model named in the settings cannot be loaded."""


@runtime_checkable
class QueryEncoder(Protocol):
    name: str  # as in the settings and the index manifest
    dimension: int
    dtype: str

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (float32) of questions, in order."""


@runtime_checkable
class PassageEncoder(QueryEncoder, Protocol):
    max_tokens: int  # the model's input limit, in its tokens, counting the specials (and a prefix)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text as a passage, without what the encoder adds (specials, prefix)."""

    def encode_with_sentences(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                              batch_size: int = 32, progress: Progress | None = None
                              ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Unit chunk vectors, and for each text a unit vector per (start, end) character span."""
