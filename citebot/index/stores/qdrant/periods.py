"""A period's chunks in a qdrant collection: a filter the engine applies, never a list of ids."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .reader import QdrantReader


class PeriodChunks:
    """The chunks of a period, as a filter the engine applies (an archive's period can hold
    millions of chunks: their ids are never listed); len() counts them."""

    def __init__(self, reader: "QdrantReader", flt):
        self.reader = reader
        self.filter = flt
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = self.reader.call("counting a period's chunks", "count", self.reader.collection,
                                           count_filter=self.filter, exact=True).count
        return self._count

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """The ids themselves, for a caller that intersects them with its own (listed page by page)."""
        ids = [int(p.id) for p in self.reader.scroll(self.filter, payload=False)]
        return np.asarray(ids, dtype=dtype or np.int64)
