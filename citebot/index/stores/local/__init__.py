"""The local store: segments (SQLite, FAISS, BM25 postings) and generations in one folder."""
from .store import LocalStore  # noqa: F401
