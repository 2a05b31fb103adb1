"""The one answer path: question → dense + BM25 candidates → fusion → sentence-level rerank →
verbatim extracts around the best sentence, or an honest "not found".

Front ends call `Retriever.answer()` and only render what it returns.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .embedding import Embedder
from .records import Hit
from .store import CURRENT, ChunkRow, IndexReader, open_current
from .lexical import idf
from .terms import query_terms, stems

# Calibrated with `citebot eval` (README "Answer quality"): off-topic questions score below it,
# answerable ones above it.
DEFAULT_MIN_SCORE = 0.52
COMMON_TERM_SHARE = 0.1  # a word in more than this share of the chunks is left out of BM25
COMMON_TERM_FLOOR = 5000  # ...but summing this many postings is cheap, so small indexes keep every word
MAX_BM25_TERMS = 8


@dataclass(frozen=True)
class AnswerConfig:
    k: int = 3
    candidates: int = 40        # taken from each of dense and BM25 search
    rerank_depth: int = 20      # fused candidates whose sentences are scored
    fusion: str = "rrf"         # rrf | dense | bm25
    rrf_k: int = 60
    rerank: bool = True
    picker: str = "hybrid"      # hybrid | dense | lexical | first: how the best sentence is chosen
    lexical_weight: float = 1.0  # weight of question-word overlap beside cosine, for sentences
    sentence_weight: float = 2.0  # weight of the best sentence beside the chunk, when reranking
    extract_chars: int = 700    # sentences around the best one are added up to this length
    min_score: float = DEFAULT_MIN_SCORE
    relative_floor: float = 0.5  # a hit scoring under this share of the best one is noise


@dataclass
class Candidate:
    row: ChunkRow
    fused: float
    dense: float = 0.0
    score: float = 0.0
    best: tuple[int, int] | None = None  # best sentence span in the article text
    sentences: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Answer:
    question: str
    answer_found: bool
    hits: list[Hit]
    score: float
    ranked: list[Hit] = field(default_factory=list)  # all composed hits, also when not found
    timings: dict[str, float] = field(default_factory=dict)


class Retriever:
    """Holds the model and the serving index; notices a new generation and switches to it."""

    def __init__(self, index_dir: Path, embedder: Embedder, model: str | None = None,
                 config: AnswerConfig = AnswerConfig()):
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self.model = model if model is not None else embedder.name
        self.config = config
        self._reader: IndexReader | None = None
        self._pointer: str | None = None
        self._df: dict[str, int] = {}
        import faiss

        # One question is one search: FAISS's OpenMP threads only fight the question encoder's and
        # other chats' threads for the cores (a 100k-chunk exact search took 44 ms with 2 OpenMP
        # threads after an ONNX run, 13 ms with 1). Concurrency comes from the front end instead.
        faiss.omp_set_num_threads(1)

    # -- the serving index ------------------------------------------------------------------
    def reader(self) -> IndexReader:
        """The current generation; re-read cheaply on every question so index builds in another
        process are picked up without a restart."""
        try:
            pointer = (self.index_dir / CURRENT).read_text().strip()
        except OSError:
            pointer = None
        if self._reader is None or pointer != self._pointer:
            reader = open_current(self.index_dir, self.model)  # raises NoIndex / IncompatibleIndex
            self._reader, self._pointer, self._df = reader, pointer, {}
            self._n_chunks = max(1, int(reader.manifest.get("chunks") or 1))
        return self._reader

    def _df_of(self, reader: IndexReader, terms: list[str]) -> dict[str, int]:
        missing = [t for t in terms if t not in self._df]
        if missing:
            self._df.update(reader.doc_freq(missing))
        return {t: self._df[t] for t in terms}

    def _idf_of(self, reader: IndexReader, terms: list[str]) -> dict[str, float]:
        return {t: idf(self._n_chunks, df) for t, df in self._df_of(reader, terms).items()}

    def _bm25_terms(self, reader: IndexReader, terms: list[str]) -> list[str]:
        """The question's stems worth a BM25 lookup: the rarest few, and none found in more than
        COMMON_TERM_SHARE of the chunks: each adds its whole posting list to the sum, so one
        common word would cost a large archive time for little information (when only common
        words are left, dense search answers alone)."""
        df = self._df_of(reader, terms)
        limit = max(COMMON_TERM_FLOOR, int(COMMON_TERM_SHARE * self._n_chunks))
        rare = sorted((st for st in df if 0 < df[st] <= limit), key=lambda st: df[st])
        return rare[:MAX_BM25_TERMS]

    # -- the answer path ------------------------------------------------------------------
    def answer(self, question: str, k: int | None = None, offset: int = 0, focus: str | None = None) -> Answer:
        """`focus`: for a follow-up asked together with the previous question, the follow-up's
        own words, which then decide the highlighted sentence."""
        cfg = self.config
        k = k or cfg.k
        timings: dict[str, float] = {}
        t = time.perf_counter()
        reader = self.reader()
        qv = self.embedder.encode([question])[0]
        timings["embed"] = time.perf_counter() - t

        t = time.perf_counter()
        qterms = query_terms(question)
        dense_ids: list[int] = []
        if cfg.fusion in ("rrf", "dense"):
            dense_ids = [cid for _, cid in reader.dense_search(qv, cfg.candidates)]
        timings["dense"] = time.perf_counter() - t
        t = time.perf_counter()
        bm25_ids: list[int] = []
        if cfg.fusion in ("rrf", "bm25"):
            bm25_ids = [cid for cid, _ in reader.bm25_search(self._bm25_terms(reader, qterms), cfg.candidates)]
        timings["bm25"] = time.perf_counter() - t

        t = time.perf_counter()
        fused: dict[int, float] = {}
        for ranking in (dense_ids, bm25_ids):
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (cfg.rrf_k + rank + 1)
        order = sorted(fused, key=lambda c: -fused[c])
        depth = max(cfg.rerank_depth, offset + k) if cfg.rerank else offset + k + 4
        top = order[:depth]
        rows = reader.chunk_rows(top)
        cands = [Candidate(rows[c], fused[c]) for c in top if c in rows]
        self._score(reader, qv, query_terms(focus) if focus else qterms, cands)
        if cfg.rerank:
            cands.sort(key=lambda c: -c.score)
        timings["rerank"] = time.perf_counter() - t

        t = time.perf_counter()
        ranked = self._compose(reader, cands, offset + k)
        timings["compose"] = time.perf_counter() - t
        best = ranked[0].score if ranked else 0.0
        found = bool(ranked) and best >= cfg.min_score
        floor = max(cfg.min_score, cfg.relative_floor * best)  # later hits must still be relevant
        hits = [h for h in ranked[offset:offset + k] if h.score >= floor] if found else []
        return Answer(question, found and bool(hits), hits, best, ranked, timings)

    def _score(self, reader: IndexReader, qv: np.ndarray, qterms: list[str], cands: list[Candidate]) -> None:
        """Each candidate's relevance: chunk cosine plus its best sentence (cosine in context and
        question-word overlap weighted by rarity); and that best sentence, the highlight."""
        cfg = self.config
        if not cands:
            return
        ids = [c.row.id for c in cands]
        chunk_vecs = reader.vectors(ids)
        sents = reader.sentences(ids)
        idf = self._idf_of(reader, qterms)
        total_idf = sum(idf.values()) or 1.0
        for c, cv in zip(cands, chunk_vecs):
            c.dense = float(cv @ qv)
            spans = sents.get(c.row.id) or [((c.row.start, c.row.end), cv)]
            c.sentences = [sp for sp, _ in spans]
            text = reader.article_text(c.row.article_rowid)
            best_score, best_span = -1e9, spans[0][0]
            for pos, (span, sv) in enumerate(spans):
                cos = float(sv @ qv)
                have = stems(text[span[0]:span[1]])
                lex = sum(w for term, w in idf.items() if term in have) / total_idf
                if cfg.picker == "dense":
                    s = cos
                elif cfg.picker == "lexical":
                    s = lex + 1e-3 * cos
                elif cfg.picker == "first":
                    s = -pos
                else:
                    s = cos + cfg.lexical_weight * lex
                if s > best_score:
                    best_score, best_span = s, span
                    best_cos, best_lex = cos, lex
            c.best = best_span
            sentence_part = best_cos + cfg.lexical_weight * best_lex
            c.score = (c.dense + cfg.sentence_weight * sentence_part) / (1 + cfg.sentence_weight)

    def _compose(self, reader: IndexReader, cands: list[Candidate], limit: int) -> list[Hit]:
        """Extracts trimmed to whole sentences around the best one; a candidate whose extract
        overlaps one already shown from the same article is merged into it (dropped)."""
        shown: dict[int, list[tuple[int, int]]] = {}
        hits: list[Hit] = []
        for c in cands:
            if len(hits) >= limit:
                break
            text = reader.article_text(c.row.article_rowid)
            ws, we = self._window(c, reader.sentence_spans_around(c.row.article_rowid, c.row.position)
                                  or c.sentences, reader.article_gaps(c.row.article_rowid))
            if any(ws < e and s < we for s, e in shown.get(c.row.article_rowid, [])):
                continue
            shown.setdefault(c.row.article_rowid, []).append((ws, we))
            bs, be = c.best
            hits.append(Hit(
                article_id=c.row.article_id, chunk_id=c.row.id, title=c.row.title, source=c.row.source,
                url=c.row.url, published=c.row.published, path=c.row.path, score=round(c.score, 4),
                extract=text[ws:we], highlight_start=bs - ws, highlight_end=be - ws, extract_start=ws,
                extra={"author": c.row.author,
                       "cut_start": ws > 0 and not text[:ws].endswith("\n"),
                       "cut_end": we < len(text) and not text[we:].startswith("\n")}))
        return hits

    def _window(self, c: Candidate, spans: list[tuple[int, int]], gaps: list[int] = ()) -> tuple[int, int]:
        """Whole sentences around the best one, alternately before and after, within the budget,
        never across a place where cleaning dropped something (the quote would splice the source)."""
        lo_gap = max((g for g in gaps if g <= c.best[0]), default=0)
        hi_gap = min((g for g in gaps if g > c.best[0]), default=float("inf"))
        spans = [sp for sp in spans if lo_gap <= sp[0] < hi_gap]
        if c.best not in spans:
            spans = sorted(set(spans) | {c.best})
        b = spans.index(c.best)
        lo = hi = b
        budget = self.config.extract_chars
        grew = True
        while grew:
            grew = False
            for step in (-1, 1):
                j = lo - 1 if step < 0 else hi + 1
                if 0 <= j < len(spans):
                    new_lo, new_hi = min(lo, j), max(hi, j)
                    if spans[new_hi][1] - spans[new_lo][0] <= budget:
                        lo, hi, grew = new_lo, new_hi, True
        return spans[lo][0], spans[hi][1]
