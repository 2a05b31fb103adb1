"""Where the local store's generations used to live, kept for the modules that still import from
here (evaluation.py's archive cache, the Telegram bot's error type). New code imports from
stores/ (base.py for the errors and records, local/generations.py for the local store's files)."""
from .stores.base import IncompatibleIndex, IndexDamaged, IndexError_, NoIndex  # noqa: F401
from .stores.local.generations import (CURRENT, FORMAT_VERSION, IndexReader, current_generation,  # noqa: F401
                                       open_current)
