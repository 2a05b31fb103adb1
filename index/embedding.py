"""Old import path: the encoders live in index/encoders/ (this module stays for code that imports
`load_embedder`, `Embedder` or `ModelError` from here)."""
from __future__ import annotations

from .encoders.base import ModelError  # noqa: F401
from .encoders.factory import load_encoder
from .encoders.sentence_transformers import (DEFAULT_MODEL, Embedder, SentenceTransformerEncoder,  # noqa: F401
                                             choose_dtype, cpu_has_fast_bf16, resolve_model)


def load_embedder(name: str = DEFAULT_MODEL, dtype: str = "auto"):
    """The encoder for `name`, once per process (encoders/factory.py)."""
    return load_encoder(name, dtype)
