"""What both front ends share around the answer path: building the retriever from the settings
and turning away questions that are empty or too long before they cost a search."""
from __future__ import annotations

from .settings import Settings


def check_question(question: str, max_chars: int) -> str | None:
    """A one-line hint when the question cannot be asked as it is; None when it can."""
    if not question or not question.strip():
        return "Ask a question in words, e.g. “Why was the bridge closed?”"
    if len(question) > max_chars:
        return (f"That question is {len(question):,} characters long; please ask it in at most "
                f"{max_chars:,} (one question, not a whole article).")
    return None


def answer_config(settings: Settings, **overrides):
    from index.retrieval import DEFAULT_MIN_SCORE, AnswerConfig

    min_score = settings.min_score if settings.min_score is not None else DEFAULT_MIN_SCORE
    return AnswerConfig(**{"k": settings.top_k, "min_score": min_score, **overrides})


def make_retriever(settings: Settings, **overrides):
    """Checks the index first (instant, clear message), then loads the model once."""
    from index.query_model import load_query_encoder
    from index.retrieval import Retriever
    from index.store import open_current

    open_current(settings.index_dir, settings.embedding_model).close()
    embedder = load_query_encoder(settings.index_dir, settings.embedding_model, settings.embedding_dtype)
    return Retriever(settings.index_dir, embedder, settings.embedding_model, answer_config(settings, **overrides))
