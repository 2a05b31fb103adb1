"""Optional parts: what a user may leave out (`pip install citebot` without `[telegram]`, ...) and
the one-line error that names the extra to install when a part is asked for without it."""
from __future__ import annotations

import importlib
from types import ModuleType

EXTRAS = {
    "telegram": "the Telegram bot",
    "qdrant": "the qdrant store (CITEBOT_STORE=qdrant)",
    "multilingual": "multilingual-e5-small and Russian/Ukrainian sentence splitting",
    "feeds": "RSS and Atom feeds",
    "web": "the web page and HTTP API (citebot serve)",
}


class MissingExtra(ImportError):
    """A part of citebot was asked for whose optional dependencies are not installed."""


def require(module: str, extra: str) -> ModuleType:
    """`module`, imported; or MissingExtra saying which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{EXTRAS[extra]} needs the optional part citebot[{extra}] "
                           f"(pip install 'citebot[{extra}]')") from None


def available(module: str) -> bool:
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False
