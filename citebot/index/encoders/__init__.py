"""Embedding models behind one protocol (base.py), made by name (factory.py)."""
from .base import ModelError, PassageEncoder, QueryEncoder  # noqa: F401
from .factory import family, load_encoder  # noqa: F401
from .sentence_transformers import DEFAULT_MODEL  # noqa: F401
