"""Where a chunk's record used to live, kept for the modules that still import it from here
(answer/records.py); it is part of the store seam now (stores/base.py)."""
from .stores.base import ChunkRow  # noqa: F401
