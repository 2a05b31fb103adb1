"""The build's model work: articles into chunks sized in the model's tokens, chunks and their
sentences into vectors, and the model itself loaded only when something must be embedded."""
from __future__ import annotations

from typing import Callable, Union

import numpy as np

from .config import IndexConfig
from .encoders.base import PassageEncoder
from .encoders.precision import mixable, served_precision
from .records import Article, Chunk
from .stores.base import REBUILD, IncompatibleIndex
from .text.chunking import chunk_article, embedding_input
from .forked import map_forked
from .text.terms import ANALYZER

Progress = Callable[[int, int], None]  # (done, total)


def chunk_articles(articles: list[Article], encoder: PassageEncoder, cfg: IndexConfig) -> list[list[Chunk]]:
    title_counts = encoder.count_tokens([embedding_input(a.title, "") for a in articles])

    def chunks_of(i: int) -> list[Chunk]:
        room = encoder.max_tokens - 2 - title_counts[i]  # [CLS] and [SEP]
        return chunk_article(articles[i], encoder.count_tokens, max(16, min(cfg.chunk_tokens, room)), cfg.chunk_overlap)

    return map_forked(chunks_of, len(articles))  # on every core for a big build


def manifest_shape(cfg: IndexConfig, encoder: PassageEncoder, why: str | None = None) -> dict:
    """The model's side of a manifest; `why` the precision was chosen, when not the encoder's own."""
    return {"store": cfg.store, "model": cfg.model, "dimension": encoder.dimension, "max_seq_length": encoder.max_tokens,
            "dtype": encoder.dtype, "precision": getattr(encoder, "precision", encoder.dtype),
            "precision_why": why or getattr(encoder, "precision_why", None), "faiss": cfg.faiss_index, "analyzer": ANALYZER,
            **cfg.chunking()}


def check_precision(served: dict, setting: str) -> None:
    """Refuse, before anything is read, an update whose CITEBOT_EMBEDDING_DTYPE would mix int8
    vectors with fp32 or bf16 ones (encoders/precision.py: mixable); `auto` follows the index."""
    was = served_precision(served)
    if setting != "auto" and not mixable(was, setting):
        raise IncompatibleIndex(f"the index was built with {was} vectors, the settings say {setting}: {REBUILD} "
                                f"(or set CITEBOT_EMBEDDING_DTYPE to {was} or auto)")


def matching_precision(encoder: PassageEncoder, served: dict, setting: str) -> tuple[PassageEncoder, str | None]:
    """The encoder an update of `served` embeds with, and why when that is not the encoder's own
    reason: `encoder` when its vectors mix with the index's; with `auto`, the model in the index's
    precision (a measurement that now prefers int8 for an fp32 index, or the other way round, must
    not refuse the bot's quarter-hourly refresh); an encoder given explicitly that does not mix is
    refused with the rebuild hint."""
    was, new = served_precision(served), getattr(encoder, "precision", encoder.dtype)
    if mixable(was, new):
        return encoder, None
    if setting != "auto":
        raise IncompatibleIndex(f"the index was built with {was} vectors, this update embeds {new}: {REBUILD}")
    from .encoders.factory import load_encoder

    kept = load_encoder(encoder.name, was if was in ("fp32", "bf16", "int8") else "fp32")
    if not mixable(was, getattr(kept, "precision", kept.dtype)):  # int8 is not available here any more
        raise IncompatibleIndex(f"the index was built with {was} vectors, which this machine cannot make now "
                                f"({kept.precision_why}): {REBUILD}")
    return kept, f"the index's own ({was}): auto keeps it, a change needs a rebuild"


def embed(encoder: PassageEncoder, articles: list[Article], chunks: list[list[Chunk]], cfg: IndexConfig,
           progress: Progress | None) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Chunk vectors and, per chunk, its sentences' vectors (grouped by article)."""
    texts, spans = [], []
    for a, cs in zip(articles, chunks):
        for c in cs:
            text = embedding_input(a.title, c.text)
            shift = len(text) - len(c.text) - c.start  # article offset → offset in the model's input
            texts.append(text)
            spans.append([(s + shift, e + shift) for s, e in c.sentences])
    total, done = len(texts), 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    flat, sent = encoder.encode_with_sentences(texts, spans, batch_size=cfg.batch_size, progress=tick)
    out, out_sent, pos = [], [], 0
    for cs in chunks:
        out.append(flat[pos:pos + len(cs)])
        out_sent.append(sent[pos:pos + len(cs)])
        pos += len(cs)
    return out, out_sent


EncoderLike = Union[PassageEncoder, Callable[[], PassageEncoder]]


class LazyEncoder:
    """The embedding model, loaded only when something must be embedded: a refresh that finds
    nothing new (the bot's every quarter hour) or a removal never loads PyTorch."""

    def __init__(self, given: EncoderLike):
        self._given = given
        self.loaded: PassageEncoder | None = None if callable(given) and not hasattr(given, "encode_with_sentences") else given

    def get(self) -> PassageEncoder:
        if self.loaded is None:
            self.loaded = self._given()
        return self.loaded
