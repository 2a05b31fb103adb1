"""What the qdrant store keeps: the kinds of points, their ids (from the content, so writing a
version twice changes nothing), their payloads, and the filters that pick them out."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Sequence

import numpy as np

from ...records import Article, Chunk
from ...duplicates import Signature, band_keys

FORMAT_VERSION = 1  # the layout of points and payloads below
DENSE, SPARSE = "dense", "bm25"
CHUNK, ARTICLE, TERM, MANIFEST = "chunk", "article", "term", "manifest"
MANIFEST_ID = 1  # hashed ids are >= 2**32, so they never meet it
SENTENCE_DTYPE = np.float16  # as the local store keeps them
CHUNK_DTYPE = np.float16  # what reranking reads, as the local store keeps it (the engine searches float32)
PAYLOAD_INDEXES = {  # what filters and ordering need indexed on a server (local mode scans)
    "kind": "keyword", "article_id": "keyword", "article_rowid": "integer", "position": "integer",
    "source": "keyword", "source_key": "keyword", "published": "datetime", "dated": "datetime",
    "years": "integer", "dup_group": "keyword", "lsh": "integer",
}
CHUNK_PAYLOAD = ["article_rowid", "article_id", "title", "source", "author", "published", "url", "path", "dated",
                 "position", "start", "end", "text", "sentences", "sentence_vectors"]



# -- ids and values ---------------------------------------------------------------------------------

def _hashed_id(*parts: str) -> int:
    """A 63-bit id (an int64 for numpy, an unsigned id for Qdrant) from the content, at least 2**32."""
    value = int.from_bytes(hashlib.blake2b("\0".join(parts).encode("utf-8"), digest_size=8).digest(), "little")
    return (value & (2**63 - 1)) | 2**32


def article_rowid(article: Article) -> int:
    """Each version of an article has its own id, so a new one can be written before the old goes."""
    return _hashed_id("article", article.id, article.content_hash)


def chunk_id(article: Article, position: int) -> int:
    return _hashed_id("chunk", article.id, article.content_hash, str(position))


def term_index(term: str) -> int:
    """A stem's dimension of the sparse vector (32 bits: two stems rarely share one)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


def term_point(index: int) -> int:
    return _hashed_id("term", str(index))


def to_datetime(date: str | None) -> str | None:
    """An ISO date as the RFC 3339 datetime Qdrant's datetime index and range filters take."""
    if not date:
        return None
    try:
        return dt.date.fromisoformat(date[:10]).isoformat() + "T00:00:00Z"
    except ValueError:
        return None


def from_datetime(value: str | None) -> str | None:
    return value[:10] if value else None


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data else None


def unb64(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text else None


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def article_payload(art: Article, rowid: int, chunks: Sequence[Chunk]) -> dict:
    """Its text, and each chunk's sentence spans by position: what an extract may grow into."""
    signature = Signature.from_bytes(art.signature) if art.signature else None
    return {"kind": ARTICLE, "article_rowid": rowid, "article_id": art.id, "title": art.title, "source": art.source,
            "author": art.author, "url": art.url, "path": art.path, "published": to_datetime(art.published),
            "dated": to_datetime(art.dated), "years": list(art.years), "text": art.text,
            "content_hash": art.content_hash, "origin": art.origin, "stamp": art.stamp, "gaps": list(art.gaps),
            "source_key": art.source_key, "added": art.added, "dup_group": art.dup_group,
            "signature": _b64(art.signature), "lsh": [int(k) for k in band_keys(signature)] if signature else [],
            "chunks": len(chunks), "chunk_sentences": _sentences_by_position(chunks)}


def _sentences_by_position(chunks: Sequence[Chunk]) -> list[list[list[int]]]:
    out: list[list[list[int]]] = [[] for _ in range(1 + max((c.position for c in chunks), default=-1))]
    for c in chunks:
        out[c.position] = [[int(s), int(e)] for s, e in c.sentences]
    return out


def chunk_payload(art: Article, rowid: int, chunk: Chunk, sentence_vectors) -> dict:
    svecs = np.asarray(sentence_vectors, dtype=SENTENCE_DTYPE) if len(chunk.sentences) else None
    return {"kind": CHUNK, "article_rowid": rowid, "article_id": art.id, "title": art.title, "source": art.source,
            "source_key": art.source_key, "author": art.author, "url": art.url, "path": art.path,
            "published": to_datetime(art.published), "dated": to_datetime(art.dated), "years": list(art.years),
            "position": chunk.position, "start": chunk.start, "end": chunk.end, "text": chunk.text,
            "sentences": [[int(s), int(e)] for s, e in chunk.sentences],
            "sentence_vectors": _b64(svecs.tobytes()) if svecs is not None else None}


def kind_is(kind: str):
    from qdrant_client import models as m

    return m.FieldCondition(key="kind", match=m.MatchValue(value=kind))


def chunks_of(rowids: Sequence[int]):
    from qdrant_client import models as m

    return m.Filter(must=[kind_is(CHUNK), m.FieldCondition(key="article_rowid",
                                                         match=m.MatchAny(any=[int(r) for r in rowids]))])



def kind_filter(kind: str):
    from qdrant_client import models as m

    return m.Filter(must=[kind_is(kind)])

