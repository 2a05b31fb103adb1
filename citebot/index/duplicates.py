"""Near-duplicate copies of one story (the same wire text with a new dateline, a credit line, a
trimmed end) grouped at index time, so that an answer can show the story once, from its earliest
copy, with "also: Source B, Source C".

Each article gets a MinHash signature (datasketch) of its word 4-shingles; LSH band keys of the
signature find candidate copies with one indexed lookup each, in the new batch and in every served
segment, so grouping costs the same at any archive size. A candidate is a copy when the estimated
share of the shorter text found in the longer one (containment, from the Jaccard estimate and the
two shingle counts) is high: a trimmed copy has a low Jaccard similarity but is wholly contained,
while two outlets' own reports of one event share only a quote or two. A new article joins the
group of its closest copy; groups are labels that never change, so immutable segments can hold
them.
"""
from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from .records import Article

SHINGLE_WORDS = 4
NUM_PERM = 128
BANDS, ROWS = 42, 3  # LSH on 126 of the min-hashes: a pair with Jaccard 0.3 is a candidate 2 times in 3,
#                     one with 0.5 almost always (a half-trimmed copy); containment below decides
MIN_CONTAINMENT = 0.7  # share of the shorter copy's shingles found in the longer one
MIN_SIZE_RATIO = 0.3  # a brief is not a copy of a feature ten times its length
_WORD = re.compile(r"\w+", re.UNICODE)


def _hash32(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=4).digest(), "little")


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[bytes]:
    words = _WORD.findall(text.lower())
    if len(words) < k:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + k]).encode() for i in range(len(words) - k + 1)}


@dataclass
class Signature:
    values: np.ndarray  # NUM_PERM uint32 min-hashes
    size: int  # distinct shingles: with the Jaccard estimate it gives containment

    def to_bytes(self) -> bytes:
        return struct.pack("<I", self.size) + self.values.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "Signature":
        return cls(np.frombuffer(blob[4:], dtype="<u4"), struct.unpack("<I", blob[:4])[0])


def signature(text: str) -> Signature:
    from datasketch import MinHash

    sh = shingles(text)
    m = MinHash(num_perm=NUM_PERM, hashfunc=_hash32)
    if sh:
        m.update_batch(list(sh))
    return Signature(np.asarray(m.hashvalues, dtype=np.uint32), len(sh))


def band_keys(sig: Signature) -> list[int]:
    """One signed 64-bit key per band (SQLite's INTEGER), the band's number mixed in."""
    if sig.size == 0:
        return []
    out = []
    for b in range(BANDS):
        part = sig.values[b * ROWS:(b + 1) * ROWS].astype("<u4").tobytes()
        out.append(int.from_bytes(hashlib.blake2b(bytes([b]) + part, digest_size=8).digest(), "little", signed=True))
    return out


def jaccard(a: Signature, b: Signature) -> float:
    return float(np.mean(a.values == b.values))


def containment(a: Signature, b: Signature) -> float:
    """Estimated share of the smaller set inside the larger: |A∩B| = J(|A|+|B|)/(1+J)."""
    if not a.size or not b.size:
        return 0.0
    j = jaccard(a, b)
    shared = j * (a.size + b.size) / (1 + j)
    return min(1.0, shared / min(a.size, b.size))


def is_copy(a: Signature, b: Signature) -> bool:
    if not a.size or not b.size or min(a.size, b.size) / max(a.size, b.size) < MIN_SIZE_RATIO:
        return False
    return containment(a, b) >= MIN_CONTAINMENT


@dataclass
class Neighbour:
    """An indexed article that shares an LSH band with a new one (a copy if `is_copy` says so)."""
    article_id: str
    group: str
    signature: Signature


Lookup = Callable[[Sequence[int]], Iterable[Neighbour]]


@dataclass
class Grouper:
    """Gives each new article its group: that of its closest copy among the indexed articles
    (`lookup`) and the articles grouped before it in this batch, else a group of its own."""
    lookup: Lookup | None = None
    _bands: dict[int, list[Neighbour]] = field(default_factory=dict)

    def assign(self, art: Article) -> str:
        sig = signature(art.text)
        keys = band_keys(sig)
        found = {c.article_id: c for c in (self.lookup(keys) if self.lookup and keys else ())}
        for key in keys:
            for c in self._bands.get(key, ()):
                found.setdefault(c.article_id, c)
        best, best_score = None, 0.0
        for c in found.values():
            if c.article_id != art.id and is_copy(sig, c.signature):
                score = containment(sig, c.signature)
                if score > best_score:
                    best, best_score = c, score
        art.signature = sig.to_bytes()
        art.dup_group = best.group if best else art.id
        me = Neighbour(art.id, art.dup_group, sig)
        for key in keys:
            self._bands.setdefault(key, []).append(me)
        return art.dup_group


def group_batch(articles: Sequence[Article], lookup: Lookup | None = None) -> None:
    """Group new articles, earliest first, so that a story's group is usually its first copy's."""
    grouper = Grouper(lookup)
    for art in sorted(articles, key=lambda a: (a.dated or a.added or "9999", a.id)):
        grouper.assign(art)


# --- what the stores give the answer path -----------------------------------------------------

@dataclass
class Copy:
    """Another copy of a hit's story, as a citation needs it."""
    article_id: str
    title: str
    source: str | None
    url: str | None
    published: str | None
    dated: str | None = None

    def as_dict(self) -> dict:
        return {"article_id": self.article_id, "title": self.title, "source": self.source, "url": self.url,
                "published": self.published}


def other_copies(groups: dict[str, str], members: dict[str, list[Copy]]) -> dict[str, list[Copy]]:
    """article id → the other copies of its story, earliest first (articles alone in their group
    left out): what both stores answer `copies()` with once they have read the groups."""
    out = {}
    for aid, group in groups.items():
        others = [c for c in members.get(group, []) if c.article_id != aid]
        if others:
            out[aid] = sorted(others, key=lambda c: (c.published or c.dated or "9999", c.article_id))
    return out
