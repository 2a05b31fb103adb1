"""What every front end shares around the answer path: building the retriever from the settings,
turning away questions that are empty or too long before they cost a search, and asking (`ask`):
the one call through which a reader's question reaches the retriever, so that what the archive
could not answer is noted in one place (unanswered.py)."""
from __future__ import annotations

import datetime as dt

from .settings import READER_ROLES, Settings


def readable(text: str) -> tuple[str, str | None]:
    """The question as valid text: bytes that were not UTF-8 (kept by Python as lone surrogates in
    argv and in batch lines) become U+FFFD, with a note saying so, instead of a crash later."""
    try:
        text.encode("utf-8")
        return text, None
    except UnicodeEncodeError:
        fixed = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        fixed = fixed.encode("utf-8", "replace").decode("utf-8")  # surrogates that were not bytes
        return fixed, "the question held bytes that are not UTF-8 text; they were replaced by �"


def check_question(question: str, max_chars: int) -> str | None:
    """A one-line hint when the question cannot be asked as it is; None when it can."""
    if not question or not question.strip():
        return "Ask a question in words, e.g. “Why was the bridge closed?”"
    if len(question) > max_chars:
        return (f"That question is {len(question):,} characters long; please ask it in at most "
                f"{max_chars:,} (one question, not a whole article).")
    return None


def answer_config(settings: Settings, **overrides):
    from citebot.index.answer import AnswerConfig

    return AnswerConfig(**{"k": settings.top_k, "min_confidence": settings.min_score,
                           "reader": settings.reader != "off", "reader_role": READER_ROLES.get(settings.reader, "decide"),
                           "reader_top": settings.reader_top,
                           "reader_dir": str(settings.reader_dir) if settings.reader_dir else None, **overrides})


def make_retriever(settings: Settings, on_problem=None, **overrides):
    """Checks the index first (instant, clear message), then loads the model once; `on_problem`
    hears when questions must fall back to the slower PyTorch encoder."""
    from citebot.index.encoders.onnx_query import load_query_encoder
    from citebot.index.answer import Retriever
    from citebot.index.stores.factory import open_store

    store = open_store(settings.index_config())
    store.open(settings.embedding_model).close()
    encoder = load_query_encoder(settings.index_dir, settings.embedding_model, settings.embedding_dtype, on_problem)
    return Retriever(settings.index_dir, encoder, settings.embedding_model, answer_config(settings, **overrides),
                     store=store)


def ask(retriever, settings: Settings, question: str, k: int, offset: int = 0, focus: str | None = None,
        note: bool = True, as_of: dt.date | None = None, explain: bool = False):
    """The retriever's answer to a reader's question. A first page (offset 0) that is "not found"
    or tentative is appended to CITEBOT_UNANSWERED_LOG when that is set; `note=False` for what is
    not a finished question (inline mode: Telegram sends a query at every pause in the typing).
    A question asked as of another day (`as_of`) is not noted: it says what the archive lacked
    then, not now. `explain`: the answer carries which stage decided and on what figures."""
    answer = retriever.answer(question, k, offset, focus, as_of=as_of, explain=explain)
    if note and offset == 0 and as_of is None and settings.unanswered_log is not None:
        from .unanswered import record

        record(settings.unanswered_log, question, answer)
    return answer
