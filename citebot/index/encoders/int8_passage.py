"""Passages in int8 through onnxruntime: the sentence-transformers model exported to ONNX with its
token vectors as the output, its weights quantised to int8 (dynamic quantisation: activations are
scaled per batch as it runs), run without PyTorch. Where a CPU has int8 units (VNNI, AMX-INT8) but
no fast bf16, this can be the quickest way to embed a build; precision.py measures whether it is.

The chunk vector (mean of the token vectors) and the sentence vectors (mean over each sentence's
tokens, `_pool_spans`) are computed from the token vectors exactly as
`SentenceTransformerEncoder.encode_with_sentences` does. The export is made once per model and
machine, in the user's cache, and kept only when its chunk vectors agree with the fp32 model's on
fixed texts (min cosine >= MIN_COSINE): anything else is an `Int8Unavailable` with its reason.

    <user cache>/citebot/passage-int8/<key>/model.onnx, tokenizer.json, meta.json
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .base import ModelError
from .machine_cache import cache_dir, usable_cores, version
from .sentence_transformers import _pool_spans, resolve_model

FOLDER = "passage-int8"
MIN_COSINE = 0.99  # chunk vectors against fp32 on _CHECK_TEXTS; bf16 agrees to ~0.999
_CHECK_TEXTS = [
    "How much Russian territory does Kyiv control?",
    "Council approves tram line. The city council voted 31 to 12 on Tuesday to build a tram line from "
    "the station to the university, ending a decade of argument over the route and its cost.",
    "Storm closes harbour. Ferries to the islands were cancelled for a second day as winds of up to 90 "
    "miles an hour battered the coast. The harbour master said the port would reopen on Friday "
    "if the forecast held. " * 3,
    "Prices rose 3.2 percent in the year to March, the statistics office said, driven by food and energy. "
    "Economists had expected 3.0 percent. The central bank meets next week and is expected to hold "
    "interest rates where they are, though two members voted for a cut last month.",
]


class Int8Unavailable(ModelError):
    """The int8 encoder cannot be made or loaded here (the message says why); fp32 serves instead."""


def export_dir(model: str) -> Path:
    """One export per model, exporter and runtime: a new torch or onnxruntime makes a new one."""
    key = f"{model}|{resolve_model(model)}|torch {version('torch')}|onnxruntime {version('onnxruntime')}"
    return cache_dir() / FOLDER / hashlib.sha256(key.encode()).hexdigest()[:16]


class Int8PassageEncoder:
    """The passage encoder the build uses (encoders/base.py: PassageEncoder), in int8."""

    precision_why: str | None = None

    def __init__(self, folder: Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((folder / "meta.json").read_text())
        self.name = meta["model"]
        self.dimension = int(meta["dimension"])
        self.max_tokens = int(meta["max_tokens"])
        self.dtype = self.precision = "int8"
        self.agreement = {"min": meta.get("min_cosine"), "mean": meta.get("mean_cosine")}
        self.inputs = meta["inputs"]
        self._counter = Tokenizer.from_file(str(folder / "tokenizer.json"))  # whole texts, no specials
        self._counter.no_truncation()
        self._counter.no_padding()
        self._inputs = Tokenizer.from_file(str(folder / "tokenizer.json"))  # model inputs, with specials
        self._inputs.enable_truncation(self.max_tokens)
        self._inputs.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or usable_cores()
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"])

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text without [CLS]/[SEP]: the same counts as the fp32 encoder's tokenizer."""
        if not texts:
            return []
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def encode_with_sentences(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                              batch_size: int = 32, progress: Callable[[int], None] | None = None
                              ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Unit chunk vectors (mean of the token vectors, as the model's pooling does), and a unit
        vector per (start, end) character span of each text.

        One text per run, unpadded: dynamic quantisation scales a run's activations by the largest
        in it, so in a batch a passage's vector would depend on its neighbours (cosine 0.995 to
        itself alone) and an update would not equal a rebuild. Alone, each vector is the text's
        own, and no work goes into padding (as fast as batches of 32 here). `batch_size` only
        paces `progress`."""
        dim = self.dimension
        out = np.zeros((len(texts), dim), dtype=np.float32)
        sent_out: list[np.ndarray] = [np.zeros((0, dim), dtype=np.float32)] * len(texts)
        for b in range(0, len(texts), batch_size):
            encs = self._inputs.encode_batch(list(texts[b:b + batch_size]))  # tokenised in parallel
            for i, enc in enumerate(encs, start=b):
                arrays = {"input_ids": enc.ids, "attention_mask": enc.attention_mask, "token_type_ids": enc.type_ids}
                feed = {name: np.asarray([arrays[name]], dtype=np.int64) for name in self.inputs}
                tokens = self.session.run(None, feed)[0][0].astype(np.float32, copy=False)
                out[i] = tokens.mean(axis=0)
                mask = np.ones(len(enc.ids), dtype=bool)
                sent_out[i] = _pool_spans(tokens, np.asarray(enc.offsets).reshape(-1, 2), mask, spans[i], dim)
            if progress:
                progress(len(encs))
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out, sent_out

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self.encode_with_sentences(texts, [[] for _ in texts], batch_size, progress)[0]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)


def load_int8_encoder(model: str) -> Int8PassageEncoder:
    """The int8 encoder of `model`, exported and checked first if this machine has none yet."""
    folder = export_dir(model)
    if not (folder / "meta.json").exists():
        export_int8(model, folder)
    try:
        return Int8PassageEncoder(folder)
    except Exception as e:
        raise Int8Unavailable(f"the int8 model in {folder} does not load ({_reason(e)})") from None


def export_int8(model_name: str, folder: Path) -> None:
    """Export, quantise and check `model_name` into `folder` (written whole or not at all)."""
    try:
        import onnxruntime.quantization  # noqa: F401
    except ImportError as e:
        raise Int8Unavailable(f"int8 needs onnxruntime's quantisation, which does not import ({_reason(e)})") from None
    from .sentence_transformers import SentenceTransformerEncoder

    for stale in folder.parent.glob(".tmp-*") if folder.parent.exists() else ():
        shutil.rmtree(stale, ignore_errors=True)  # what a killed export left
    tmp = folder.parent / f".tmp-{uuid.uuid4().hex[:8]}"
    try:
        reference = SentenceTransformerEncoder(model_name, "fp32")
        _check_shape(reference.model)
        tmp.mkdir(parents=True)
        names = _export_fp32(reference, tmp / "fp32.onnx")
        _quantise(tmp / "fp32.onnx", tmp / "model.onnx")
        (tmp / "fp32.onnx").unlink()
        tok = reference.tokenizer
        tok.backend_tokenizer.save(str(tmp / "tokenizer.json"))
        meta = {"model": model_name, "dimension": reference.dimension, "max_tokens": reference.max_tokens,
                "inputs": names}
        (tmp / "meta.json").write_text(json.dumps(meta))
        spans = [[(0, len(t))] for t in _CHECK_TEXTS]
        ref, _ = reference.encode_with_sentences(_CHECK_TEXTS, spans)
        got, _ = Int8PassageEncoder(tmp, threads=1).encode_with_sentences(_CHECK_TEXTS, spans)
        cos = np.sum(ref * got, axis=1)
        if float(cos.min()) < MIN_COSINE:
            raise Int8Unavailable(f"int8 chunk vectors agree with fp32 only to a cosine of {cos.min():.3f} "
                                  f"({MIN_COSINE} needed)")
        meta.update(min_cosine=round(float(cos.min()), 5), mean_cosine=round(float(cos.mean()), 5))
        (tmp / "meta.json").write_text(json.dumps(meta))
        if folder.exists():
            shutil.rmtree(folder)  # an incomplete export (no meta.json) from an older run
        try:
            os.replace(tmp, folder)
        except OSError:
            if not (folder / "meta.json").exists():  # else another process finished the same export first
                raise
    except Int8Unavailable:
        raise
    except Exception as e:  # any failure only costs speed: the build runs in fp32 or bf16
        raise Int8Unavailable(f"the int8 export failed ({_reason(e)})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_shape(st) -> None:
    """Only a transformer with mean pooling (and a normalisation) is computed here exactly."""
    kinds = [type(m).__name__ for m in st]
    pooling = getattr(st[1], "pooling_mode", None) if len(kinds) > 1 else None
    if kinds[:2] != ["Transformer", "Pooling"] or pooling != "mean" or any(k != "Normalize" for k in kinds[2:]):
        raise Int8Unavailable(f"int8 is made for mean-pooled models; this one is {' + '.join(kinds)} "
                              f"(pooling {pooling})")


def _export_fp32(encoder, path: Path) -> list[str]:
    """The transformer alone, token vectors out; returns the input names it takes."""
    import warnings

    import torch

    transformer = encoder.model[0]
    sample = encoder.tokenizer(["hello world", "a longer second text"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class TokenVectors(torch.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, *tensors):
            return self.module(dict(zip(names, tensors)))["token_embeddings"]

    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about shapes the export keeps dynamic
        torch.onnx.export(TokenVectors(transformer).eval(), tuple(sample[n] for n in names), str(path),
                          input_names=names, output_names=["token_embeddings"],
                          dynamic_axes={**axes, "token_embeddings": {0: "batch", 1: "tokens"}},
                          opset_version=17, dynamo=False)
    return names


def _quantise(source: Path, target: Path) -> None:
    """int8 weights, one scale per output channel, for the weight products only; the feed-forward
    output projections stay fp32. On MiniLM (probe texts, 2026-12-07) one scale per tensor agreed
    with fp32 to a min cosine of 0.936; per channel 0.990 (mean 0.994); per channel with those
    projections (their inputs come out of GELU with the widest ranges) kept fp32 0.995 (0.997)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    keep = [n.name for n in graph.node if n.op_type == "MatMul" and "/output/dense" in n.name
            and "/attention/" not in n.name]
    was = logging.root.manager.disable
    logging.disable(logging.WARNING)  # "consider pre-processing": advice for static quantisation of images
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_exclude=keep, extra_options={"MatMulConstBOnly": True})
    finally:
        logging.disable(was)


def _reason(e: BaseException) -> str:
    text = str(e).splitlines()[0][:200] if str(e) else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
