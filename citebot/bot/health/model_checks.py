"""The models, for `citebot doctor`: the question encoder the answer path uses (the index's ONNX
export, else the PyTorch model) encodes a question, and the reader loads when it is on."""
from __future__ import annotations

import time

from .probe import FAIL, OK, SKIPPED, Check, Probe


def encoder_check(probe: Probe) -> Check:
    """Loaded exactly as `make_retriever` loads it, then asked one question. Any error is the
    answer here (a broken ONNX file raises whatever onnxruntime raises), named with its type."""
    from citebot.index.encoders.onnx_query import load_query_encoder

    s = probe.settings
    notes: list[str] = []
    started = time.perf_counter()
    try:
        encoder = load_query_encoder(s.index_dir, s.embedding_model, s.embedding_dtype, notes.append)
        vector = encoder.encode_queries(["Is citebot well?"])[0]
    except Exception as e:  # noqa: BLE001 - reported as the check's failure, one line
        return Check("encoder", FAIL, f"{s.embedding_model} does not load: {type(e).__name__}: {e}")
    took = time.perf_counter() - started
    how = type(encoder).__name__
    detail = f"{s.embedding_model} ({how}) encodes a question into {len(vector)} numbers in {took:.1f} s"
    if not probe.index_found:  # "the index has no question encoder": the index check says why
        notes = []
    return Check("encoder", OK, detail + "".join(f"; {n}" for n in notes))


def reader_check(probe: Probe) -> Check:
    """The reader's files are checked against their SHA-256 as it loads (ReaderUnavailable)."""
    from citebot.index.encoders.base import ModelError
    from citebot.index.reader.model import load_reader

    s = probe.settings
    if s.reader == "off":
        return Check("reader", SKIPPED, "CITEBOT_READER=off")
    where = str(s.reader_dir) if s.reader_dir else "the one shipped with citebot"
    try:
        load_reader(str(s.reader_dir) if s.reader_dir else None)
    except Exception as e:  # noqa: BLE001 - ReaderUnavailable, or whatever onnxruntime raises: one line
        why = str(e) if isinstance(e, ModelError) else f"{type(e).__name__}: {e}"
        return Check("reader", FAIL, f"the reader ({where}) does not load: {why}")
    return Check("reader", OK, f"the reader ({where}) loads")
