"""Reading the served generation of the local store: its segments as one index (searches, rows,
texts, vectors, copies), each article asked of the segment that holds it."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ...duplicates import other_copies
from ..base import ArticleState, ChunkRow, IndexDamaged, NoIndex
from .generations import SEGMENTS, check_compatible, current_generation, damaged_message, read_manifest
from .segments import SENTENCE_DTYPE, SegmentDamaged, SegmentReader


class IndexReader:
    """Read access to one generation: its segments searched as one index. Chunk ids and article
    rowids are unique across segments. Safe to share between threads."""

    def __init__(self, gen: Path, mmap: bool = True):
        self.path = gen
        self.manifest = read_manifest(gen)
        self.segments = []
        try:
            for s in self.manifest["segments"]:
                self.segments.append(SegmentReader(gen.parent / SEGMENTS / s["name"], s.get("deleted", ()), mmap,
                                                   s.get("files")))
        except SegmentDamaged as e:
            self.close()
            raise IndexDamaged(damaged_message(gen.parent, str(e))) from None
        self._article_cache: dict[int, tuple[str, list[int]]] = {}

    def close(self) -> None:
        for seg in self.segments:
            seg.close()

    def _owner(self, article_rowid: int) -> SegmentReader:
        for seg in self.segments:
            if seg.owns_article(article_rowid):
                return seg
        raise KeyError(f"article {article_rowid} is not in this generation")

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    def doc_freq(self, terms: Sequence[str]) -> dict[str, int]:
        """term → the number of chunks holding it, over all segments."""
        out = dict.fromkeys(terms, 0)
        for seg in self.segments:
            for term, df in seg.doc_freq(terms).items():
                out[term] += df
        return out

    def dense_search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk id, cosine), best first, over all segments; `allowed`: only these chunk ids."""
        hits = [h for seg in self.segments for h in seg.dense_search(vector, k, allowed)]
        return [(cid, score) for score, cid in sorted(hits, reverse=True)[:k]]

    def bm25_search(self, terms: Sequence[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk id, score) best first for some stemmed terms (text/terms.py); higher is better."""
        if not terms:
            return []
        hits = [h for seg in self.segments for h in seg.bm25_search(terms, k, allowed)]
        return [(cid, score) for score, cid in sorted(hits, reverse=True)[:k]]

    def chunks_in_period(self, start: str, end: str, years: Sequence[int] = ()) -> np.ndarray:
        """Chunk ids a question about [start, end] may be answered from (see SegmentReader)."""
        parts = [seg.chunks_in_period(start, end, years) for seg in self.segments]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def date_range(self) -> tuple[str | None, str | None]:
        """The earliest and latest article date served (what the archive covers)."""
        found = [seg.date_range() for seg in self.segments]
        lows = [lo for lo, _ in found if lo]
        highs = [hi for _, hi in found if hi]
        return (min(lows) if lows else None, max(highs) if highs else None)

    def chunk_rows(self, ids: Iterable[int]) -> dict[int, ChunkRow]:
        ids = [int(i) for i in ids if int(i) >= 0]
        out: dict[int, ChunkRow] = {}
        for seg in self.segments:
            if len(out) == len(ids):
                break
            out.update(seg.chunk_rows([i for i in ids if i not in out]))
        return out

    def article_text(self, article_rowid: int) -> str:
        return self._article(article_rowid)[0]

    def article_gaps(self, article_rowid: int) -> list[int]:
        """Offsets in the clean text where cleaning dropped something: an extract never spans one."""
        return self._article(article_rowid)[1]

    def _article(self, article_rowid: int) -> tuple[str, list[int]]:
        found = self._article_cache.get(article_rowid)
        if found is None:
            found = self._owner(article_rowid).article_text(article_rowid)
            if len(self._article_cache) > 512:
                self._article_cache.clear()
            self._article_cache[article_rowid] = found
        return found

    def articles(self) -> dict[str, ArticleState]:
        """article id → (rowid, content hash, file, file stamp), of the articles served."""
        out: dict[str, ArticleState] = {}
        for seg in self.segments:
            out.update(seg.articles())
        return out

    def article(self, article_rowid: int):
        return self._owner(article_rowid).article(article_rowid)

    def article_chunks(self, article_rowid: int) -> list[tuple[int, int, int, int, str]]:
        return self._owner(article_rowid).article_chunks(article_rowid)

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, list[tuple[tuple[int, int], np.ndarray]]]:
        """chunk id → [((start, end) in the article, unit vector)] in text order."""
        ids = [int(i) for i in chunk_ids]
        out: dict[int, list] = {i: [] for i in ids}
        if not ids:
            return out
        for seg in self.segments:
            for cid, s, e, blob in seg.sentences(ids):
                out[cid].append(((s, e), np.frombuffer(blob, dtype=SENTENCE_DTYPE).astype(np.float32)))
        return out

    def sentence_spans_around(self, article_rowid: int, position: int, reach: int = 1) -> list[tuple[int, int]]:
        """Sentence spans of the chunks within `reach` positions of one chunk, in text order:
        what an extract may grow into beyond its own chunk."""
        return self._owner(article_rowid).sentence_spans_around(article_rowid, position, reach)

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """Chunk vectors in the order of `ids` (zeros for an id no segment has)."""
        ids = [int(i) for i in ids]
        found: dict[int, np.ndarray] = {}
        for seg in self.segments:
            if len(found) == len(ids):
                break
            found.update(seg.vectors([i for i in ids if i not in found]))
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for row, cid in enumerate(ids):
            if cid in found:
                out[row] = found[cid]
        return out

    def latest_published(self) -> str | None:
        dates = [d for d in (seg.latest_published() for seg in self.segments) if d]
        return max(dates) if dates else None

    def lsh_candidates(self, keys: Sequence[int], skip: set[int] = frozenset()):
        """Served articles sharing an LSH band key with a new article (duplicates.py)."""
        return [c for seg in self.segments for c in seg.lsh_candidates(keys, skip)] if keys else []

    def copies(self, article_ids: Sequence[str]):
        """article id → the other served copies of its story (duplicates.Copy), earliest first;
        articles with no other copy are left out. What an answer needs to show a story once
        with "also: …"."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return {}
        groups: dict[str, str] = {}
        for seg in self.segments:
            groups.update(seg.groups_of(ids))
        members: dict[str, list] = {}
        wanted = sorted(set(groups.values()))
        for seg in self.segments:
            for group, copy in seg.group_members(wanted) if wanted else ():
                members.setdefault(group, []).append(copy)
        return other_copies(groups, members)


def open_current(index_dir: Path, model: str | None = None) -> IndexReader:
    gen = current_generation(Path(index_dir))
    if gen is None:
        raise NoIndex(f"no index in {index_dir}: build one with `citebot index build PATH...`")
    manifest = read_manifest(gen)
    check_compatible(manifest, model)
    return IndexReader(gen)
