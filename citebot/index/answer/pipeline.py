"""The one answer path: question → period and terms → dense + lexical candidates (within the
period) → fusion → sentence scoring and highlight → extracts → answer or an honest "not found".

Front ends call `Retriever.answer()` and only render what it returns. Each stage is a function of
its own module (fusion, scoring, cues, compose, abstain, dates) with tests on fixed vectors; this
module only moves data between them and the store.
"""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..stores.bm25 import idf
from ..records import Hit
from .copies import collapse_duplicates
from ..config import IndexConfig
from ..stores.base import Store
from ..stores.base import StoreReader
from ..stores.factory import open_store
from ..text.languages import detect
from ..text.terms import stems
from .abstain import Evidence, evidence, load_model, model_file
from .compose import is_cut, lead_sentence, overlaps, window
from .fusion import fuse
from .question import Question, parse_question
from .read import read_candidates
from . import reference
from .records import Answer, AnswerConfig, Candidate, Fusion, Period
from .reference import Reference
from .scoring import best_sentence, chunk_score, highlight, score_sentences

COMMON_TERM_SHARE = 0.1  # a word in more than this share of the chunks is left out of BM25
COMMON_TERM_FLOOR = 5000  # ...but summing this many postings is cheap, so small indexes keep every word
MAX_BM25_TERMS = 8
AGREE_TOP = 10
DUPLICATE_SLACK = 4
# "latest": besides the whole archive, its last month, four months and year are searched, so that
# the newest relevant story is scored even when older ones on the subject outrank it everywhere
RECENT_WINDOWS = (30, 120, 365)
RECENT_CANDIDATES = 10
# the answer's timings (seconds), the same keys on every return (Answer.timings)
TIMING_KEYS = ("period", "embed", "dense", "bm25", "rerank", "reader", "compose")
ANYWHERE_CANDIDATES = 20  # for a question naming a year: the archive's best, searched without the period


class Retriever:
    """Holds the question encoder and the serving index; notices a new generation and switches to it."""

    def __init__(self, index_dir: Path, encoder, model: str | None = None,
                 config: AnswerConfig = AnswerConfig(), store: Store | None = None):
        self.index_dir = Path(index_dir)
        self.store = store if store is not None else open_store(IndexConfig(index_dir=self.index_dir))
        self.encoder = encoder
        self.model = model if model is not None else encoder.name
        self.config = config
        self.abstention = load_model(model_file(self.model))
        self.reading = None
        if config.reader:
            from ..reader.model import load_reader

            self.reading = load_reader(config.reader_dir)  # ReaderUnavailable (a ModelError) when broken
        # (threshold, sure) of each decider: the reader's probability, or the abstention model's
        own = config.min_confidence
        self.decide_first_stage = (own if own is not None else self.abstention.threshold, config.sure_confidence)
        self.decide_reader = (own if own is not None else self.reading.threshold, self.reading.sure) \
            if self.reading is not None else None
        self._reader: StoreReader | None = None
        self._pointer: str | None = None
        self._df: dict[str, int] = {}
        self._reference: Reference | None = None
        import faiss

        # One question is one search: FAISS's OpenMP threads only fight the question encoder's and
        # other chats' threads for the cores (a 100k-chunk exact search took 44 ms with 2 OpenMP
        # threads after an ONNX run, 13 ms with 1). Concurrency comes from the front end instead.
        faiss.omp_set_num_threads(1)

    # -- the serving index ------------------------------------------------------------------
    def reader(self) -> StoreReader:
        """The served version (a generation, a collection behind an alias); its pointer is re-read
        cheaply on every question so index builds in another process are picked up without a restart."""
        pointer = self.store.pointer()
        if self._reader is None or pointer != self._pointer:
            reader = self.store.open(self.model)  # NoIndex / IncompatibleIndex / IndexDamaged / StoreUnavailable
            self._reader, self._pointer, self._df, self._reference = reader, pointer, {}, None
            self._n_chunks = max(1, int(reader.manifest.get("chunks") or 1))
        return self._reader

    def reference(self) -> Reference:
        """What unrelated questions reach in the served version (reference.py): read from beside
        the index, or measured now (about a second) and kept there for the next process. Measured
        with the first stage alone (`_first_stage_best`), which never needs the reference itself."""
        self.reader()
        if self._reference is None:
            version = str(self._pointer or "unversioned")
            found = reference.load(self.index_dir, version)
            if found is None:
                found = reference.measure(self._first_stage_best)
                reference.save(self.index_dir, version, found)
            self._reference = found
        return self._reference

    def _first_stage_best(self, text: str) -> tuple[float, float, float] | None:
        """The relevance, best-sentence cosine and chunk cosine of the first stage's best passage
        for a question (what the reference measures: the reader is not asked)."""
        q = parse_question(text)
        reader = self.reader()
        allowed = self._in_period(reader, q.period, None)
        if allowed is not None and not len(allowed):
            return None
        qv = self.encoder.encode_queries([text])[0]
        depth = max(self.config.rerank_depth, 1) if self.config.rerank else 5  # as answer(k=1) reaches
        cands = self._first_stage(q, reader, qv, allowed, None, None, depth, {}).cands
        if not cands:
            return None
        best = cands[0] if self.config.rerank else max(cands, key=lambda c: c.score)
        return best.score, best.best_cos, best.dense

    def _df_of(self, reader: StoreReader, terms: list[str]) -> dict[str, int]:
        missing = [t for t in terms if t not in self._df]
        if missing:
            self._df.update(reader.doc_freq(missing))
        return {t: self._df[t] for t in terms}

    def _idf_of(self, reader: StoreReader, terms: list[str]) -> dict[str, float]:
        return {t: idf(self._n_chunks, df) for t, df in self._df_of(reader, terms).items()}

    def _bm25_terms(self, reader: StoreReader, terms: list[str]) -> list[str]:
        """The question's stems worth a BM25 lookup: the rarest few, and none found in more than
        COMMON_TERM_SHARE of the chunks: each adds its whole posting list to the sum, so one
        common word would cost a large archive time for little information (when only common
        words are left, dense search answers alone)."""
        df = self._df_of(reader, terms)
        limit = max(COMMON_TERM_FLOOR, int(COMMON_TERM_SHARE * self._n_chunks))
        rare = sorted((st for st in df if 0 < df[st] <= limit), key=lambda st: df[st])
        return rare[:MAX_BM25_TERMS]

    # -- the answer path ------------------------------------------------------------------
    def answer(self, question: str | Question, k: int | None = None, offset: int = 0, focus: str | None = None,
               now: dt.date | None = None, within: Sequence[int] | np.ndarray | None = None) -> Answer:
        """`question`: as asked, or already parsed (question.py). `focus`: for a follow-up asked
        together with the previous question, the follow-up's own words, which then decide the
        highlighted sentence. `now`: what "last week" is relative to (today by default).
        `within`: answer from these chunks only (following a topic: is there news of it among the
        articles just indexed?), judged by the same scoring and abstention as any answer."""
        cfg = self.config
        k = k or cfg.k
        q = question if isinstance(question, Question) else parse_question(question, now, focus)
        period = q.period
        scope = None if within is None else np.asarray(within, dtype=np.int64)
        timings = dict.fromkeys(TIMING_KEYS, 0.0)  # every key on every return: 0 for a stage that did not run
        t = time.perf_counter()
        reader = self.reader()
        allowed = self._in_period(reader, period, scope)
        timings["period"] = time.perf_counter() - t
        if period is not None and not len(allowed):  # the archive holds nothing from then at all
            return Answer(q.text, False, [], 0.0, period=period, reason="period_empty", timings=timings)

        t = time.perf_counter()
        qv = self.encoder.encode_queries([q.text])[0]  # a model's question prefix is the encoder's business
        timings["embed"] = time.perf_counter() - t
        # the reader knows English (its vocabulary and training): other questions are decided by the first stage
        reading = self.reading if self.reading is not None and q.language == "en" else None
        depth = max(cfg.rerank_depth, offset + k) if cfg.rerank else offset + k + 4
        got = self._first_stage(q, reader, qv, allowed, scope, reading, depth, timings, now)
        cands, dense = got.cands, got.dense
        t = time.perf_counter()
        if reading is not None:  # it reads the question as asked, its year included
            cands = read_candidates(reading, q.focus or q.text, cands, cfg.reader_top)
        timings["reader"] = time.perf_counter() - t

        t = time.perf_counter()
        # a few more than asked for: copies of one wire story merge into one hit ("also: …"); for
        # "latest", all: the newest relevant story may rank anywhere among them
        want = offset + k + DUPLICATE_SLACK
        asked = set(q.terms)
        subject = (lambda sentence: bool(asked & stems(sentence, q.language))) if q.dates.news else None
        ranked = collapse_duplicates(self._compose(reader, cands, len(cands) if q.dates.recency else want,
                                                   subject), reader)
        timings["compose"] = time.perf_counter() - t
        if not ranked:
            return Answer(q.text, False, [], 0.0, timings=timings, period=period,
                          reason="nothing_in_period" if period else "not_relevant")
        best = cands[0] if cfg.rerank or reading is not None else max(cands, key=lambda c: c.score)
        # (with the reader deciding, the evidence is only reported, so the archive's reference is
        # not measured for it)
        ev = self._evidence(q, reader, best, cands, ranked[0], dense, got.support.get(best.row.article_rowid, 0.0),
                            reference.NEUTRAL if reading is not None else self.reference())
        confidence = best.reader if best.reader is not None else self.abstention.probability(ev)
        threshold, sure_at = self.decide_reader if best.reader is not None else self.decide_first_stage
        found = confidence >= threshold
        sure = confidence >= sure_at and bool(best.row.dated)
        # a sure, dated in-period answer stands whatever lies outside the period: no search for it
        elsewhere = self._outside_period(reader, qv, period, dense, scope) if period is not None and not (
            found and sure) else None
        if elsewhere is not None:  # a tentative or undated in-period match is likelier another story
            found = False
        floor = cfg.relative_floor * ranked[0].score  # later hits must still be relevant
        # "latest": the newest story on a subject often only mentions it (the arrest warrants months
        # after an assassination): one that names the question's rarest word counts as relevant too
        idf_q = got.idf_q
        rarest = max(idf_q, key=idf_q.get) if q.dates.recency and idf_q else None
        hits = [h for h in ranked if h.score >= floor
                or rarest is not None and rarest in stems(h.extract + " " + h.title, q.language)] if found else []
        if q.dates.recency:  # every relevant hit, newest first (undated ones last)
            hits.sort(key=lambda h: h.extra.get("dated") or "", reverse=True)
        hits = hits[offset:offset + k]
        reason = None if found else ("nothing_in_period" if period else "not_relevant")
        answered = found and bool(hits)
        return Answer(q.text, answered, hits, ranked[0].score, ranked, timings, confidence, period,
                      reason, {**ev.as_dict(), "chunk_cos": best.dense, "first_stage": best.first_stage,
                               "reader": -1.0 if best.reader is None else best.reader},
                      tentative=answered and confidence < sure_at,
                      elsewhere=None if answered else elsewhere)

    def _in_period(self, reader: StoreReader, period: Period | None, scope: np.ndarray | None) -> np.ndarray | None:
        """The chunks a search may return: those of the period (dated in it, or naming its year),
        within `scope` when given; None: any."""
        allowed = None
        if period is not None:
            allowed = reader.chunks_in_period(period.start, period.end, () if period.relative else period.years)
        return _narrow(allowed, scope)

    def _first_stage(self, q: Question, reader: StoreReader, qv: np.ndarray, allowed: np.ndarray | None,
                     scope: np.ndarray | None, reading, depth: int, timings: dict,
                     now: dt.date | None = None) -> _FirstStage:
        """Candidates from dense and lexical search (within `allowed`), fused, scored by their best
        sentence and reranked: everything before the reader."""
        cfg = self.config
        period = q.period
        t = time.perf_counter()
        dense: list[tuple[int, float]] = []
        if cfg.fusion in (Fusion.RRF, Fusion.DENSE):
            dense = reader.dense_search(qv, cfg.dense_candidates, allowed)
        timings["dense"] = time.perf_counter() - t
        t = time.perf_counter()
        lexical: list[tuple[int, float]] = []
        bm25_terms = self._bm25_terms(reader, list(q.terms))
        if cfg.fusion in (Fusion.RRF, Fusion.BM25):
            lexical = reader.bm25_search(bm25_terms, cfg.candidates, allowed)
        timings["bm25"] = time.perf_counter() - t

        t = time.perf_counter()
        fused = fuse(dense, lexical, cfg.fusion, cfg.rrf_k, cfg.dense_weight)
        top = fused[:depth]
        if q.dates.recency and period is None:
            seen = {cid for cid, _ in top}
            top += [(cid, sc) for cid, sc in self._recent(reader, qv, bm25_terms, now, scope) if cid not in seen]
        # A year in a question is often what it asks about ("What did Curie discover in 1898?"),
        # not when the answer was published: with the reader to judge, undated passages are read
        # though they do not repeat the year. A dated story from another time stays out.
        undated_too = reading is not None and period is not None and not period.relative
        if undated_too:
            seen = {cid for cid, _ in top}
            top += [(cid, sc) for cid, sc in self._anywhere(reader, qv, bm25_terms, scope) if cid not in seen]
        rows = reader.chunk_rows([cid for cid, _ in top])
        dense_rank = {cid: r for r, (cid, _) in enumerate(dense)}
        lexical_rank = {cid: r for r, (cid, _) in enumerate(lexical)}
        cands = [Candidate(rows[cid], score, dense_rank.get(cid), lexical_rank.get(cid)) for cid, score in top
                 if cid in rows and (placed_in_period(rows[cid], period) or undated_too and not rows[cid].dated)]
        idf_q = self._idf_of(reader, list(q.focus_terms))
        self._score(reader, q, qv, idf_q, cands)
        support = article_support(reader.chunk_rows([cid for cid, _ in dense]).values()) if dense else {}
        if cfg.article_weight:
            for c in cands:
                c.score += cfg.article_weight * support.get(c.row.article_rowid, 0.0)
        if cfg.rerank:
            cands.sort(key=lambda c: -c.score)
        timings["rerank"] = time.perf_counter() - t
        return _FirstStage(cands, dense, idf_q, support)

    def _score(self, reader: StoreReader, q: Question, qv: np.ndarray, idf_q: dict[str, float],
               cands: list[Candidate]) -> None:
        """Each candidate's relevance and its best sentence, the highlight (scoring.py)."""
        cfg = self.config
        if not cands:
            return
        ids = [c.row.id for c in cands]
        chunk_vecs = reader.vectors(ids)
        sents = reader.sentences(ids)
        for c, cv in zip(cands, chunk_vecs):
            c.dense = float(cv @ qv)
            spans = sents.get(c.row.id) or [((c.row.start, c.row.end), cv)]
            c.sentences = [sp for sp, _ in spans]
            text = reader.article_text(c.row.article_rowid)
            scores = score_sentences(q.focus_text, qv, text, spans, idf_q, cfg.picker, q.kind, cfg.lexical_weight,
                                     cfg.cue_weight, q.language)
            best = best_sentence(scores)
            c.best_cos, c.best_lex, c.best_cue = best.cos, best.lex, best.cue
            c.score = chunk_score(c.dense, best, cfg.sentence_weight, cfg.lexical_weight, cfg.cue_weight)
            c.best = highlight(scores, cfg.highlight_cue_weight - cfg.cue_weight).span

    def _recent(self, reader: StoreReader, qv: np.ndarray, bm25_terms: list[str], now: dt.date | None,
                scope: np.ndarray | None) -> list[tuple[int, float]]:
        """The best candidates of the archive's most recent weeks and months (RECENT_WINDOWS, back
        from its newest article or from now, whichever is earlier), each window fused on its own."""
        cfg = self.config
        newest = reader.date_range()[1]
        today = (now or dt.date.today()).isoformat()
        anchor = dt.date.fromisoformat(min(newest, today) if newest else today)
        out: dict[int, float] = {}
        for days in RECENT_WINDOWS:
            allowed = _narrow(reader.chunks_in_period((anchor - dt.timedelta(days=days)).isoformat(),
                                                      anchor.isoformat()), scope)
            if not len(allowed):
                continue
            dense = reader.dense_search(qv, RECENT_CANDIDATES, allowed) if cfg.fusion != Fusion.BM25 else []
            lexical = (reader.bm25_search(bm25_terms, RECENT_CANDIDATES, allowed)
                       if cfg.fusion != Fusion.DENSE else [])
            for cid, sc in fuse(dense, lexical, cfg.fusion, cfg.rrf_k, cfg.dense_weight)[:RECENT_CANDIDATES]:
                out.setdefault(cid, sc)
        return list(out.items())

    def _anywhere(self, reader: StoreReader, qv: np.ndarray, bm25_terms: list[str],
                  scope: np.ndarray | None) -> list[tuple[int, float]]:
        """The best candidates of the whole archive, fused, for a question whose period filter
        would hide an undated passage that answers it without naming the year."""
        cfg = self.config
        dense = reader.dense_search(qv, ANYWHERE_CANDIDATES, scope) if cfg.fusion != Fusion.BM25 else []
        lexical = reader.bm25_search(bm25_terms, ANYWHERE_CANDIDATES, scope) if cfg.fusion != Fusion.DENSE else []
        return fuse(dense, lexical, cfg.fusion, cfg.rrf_k, cfg.dense_weight)[:ANYWHERE_CANDIDATES]

    def _outside_period(self, reader: StoreReader, qv: np.ndarray, period: Period,
                        dense: list[tuple[int, float]], scope: np.ndarray | None) -> str | None:
        """The date of the archive's best passage for the question when it lies outside the asked
        period and beats every passage inside it by `period_gap` in cosine, else None. Then the
        subject is in the archive, but from another time: "What damage did the fire do to Notre
        Dame in 2020?" finds the April 2019 fire far above anything of 2020 (measured on the date
        questions at 12,641 articles: every answerable one within 0.07 but one, every one to
        refuse 0.14 or more)."""
        if self.config.fusion == Fusion.BM25:
            return None
        best = reader.dense_search(qv, 1, scope)
        if not best:
            return None
        cid, cos = best[0]
        inside = dense[0][1] if dense else 0.0
        if cos - inside < self.config.period_gap:
            return None
        row = reader.chunk_rows([cid]).get(cid)
        if row is None or not row.dated or period.start <= row.dated <= period.end:
            return None
        return row.dated

    def _evidence(self, q: Question, reader: StoreReader, best: Candidate, cands: list[Candidate],
                  hit: Hit, dense: list[tuple[int, float]], support: float, ref: Reference) -> Evidence:
        second = next((c.score for c in cands[1:] if c.row.article_rowid != best.row.article_rowid), None)
        return evidence(q.rest, self._idf_of(reader, list(q.terms)), hit.extract, hit.title, best.score, best.best_cos,
                        best.dense, [s for _, s in dense],
                        best.dense_rank is not None and best.dense_rank < AGREE_TOP,
                        best.bm25_rank is not None and best.bm25_rank < AGREE_TOP, best.best_lex, second, support,
                        ref, q.language != detect(hit.extract), q.language, q.names)

    def _compose(self, reader: StoreReader, cands: list[Candidate], limit: int,
                 subject: Callable[[str], bool] | None = None) -> list[Hit]:
        """Extracts around each candidate's best sentence (compose.py); a candidate whose extract
        overlaps one already shown from the same article is merged into it (dropped). `subject`
        given: the question asks for the news itself ("the latest on X"), so each article is quoted
        once, from its first sentence about the subject (`subject` tells one)."""
        shown: dict[int, list[tuple[int, int]]] = {}
        hits: list[Hit] = []
        for c in cands:
            if len(hits) >= limit:
                break
            rowid = c.row.article_rowid
            if subject is not None and rowid in shown:
                continue
            text = reader.article_text(rowid)
            spans = reader.sentence_spans_around(rowid, 0 if subject is not None else c.row.position) or c.sentences
            best = lead_sentence(text, spans, subject) if subject is not None else c.best
            ws, we = window(best, spans, self.config.extract_chars, reader.article_gaps(rowid))
            if overlaps((ws, we), shown.get(rowid, [])):
                continue
            shown.setdefault(rowid, []).append((ws, we))
            bs, be = best
            cut_start, cut_end = is_cut(text, ws, we)
            hits.append(Hit(
                article_id=c.row.article_id, chunk_id=c.row.id, title=c.row.title, source=c.row.source,
                url=c.row.url, published=c.row.published, path=c.row.path, score=round(c.score, 4),
                extract=text[ws:we], highlight_start=bs - ws, highlight_end=be - ws, extract_start=ws,
                extra={"author": c.row.author, "cut_start": cut_start, "cut_end": cut_end, "dated": c.row.dated}))
        return hits


def placed_in_period(row, period: Period | None) -> bool:
    """Whether a passage may answer for the question's period. A dated article was placed by the
    store's filter. An undated one is searched when it names one of the period's years anywhere,
    but quoted only from a passage that names it: "the 1994 earthquake" in an encyclopedia article
    is found by its own paragraph, not by a list of dates three screens away."""
    if period is None or row.dated or not period.years:
        return True
    return any(str(y) in row.text for y in period.years)


def article_support(rows) -> dict[int, float]:
    """For each article, the share of the dense candidates that are its chunks: a question about
    an article's subject finds several of its passages, an unrelated article's lucky passage is
    alone (paraphrase-dev at 2,000 distractors: answer recall@5 0.787 -> 0.825 with weight 0.3)."""
    counts: dict[int, int] = {}
    for row in rows:
        counts[row.article_rowid] = counts.get(row.article_rowid, 0) + 1
    total = max(1, sum(counts.values()))
    return {a: n / total for a, n in counts.items()}



@dataclass
class _FirstStage:
    cands: list[Candidate]               # reranked, best first
    dense: list[tuple[int, float]]       # the dense search's (chunk id, cosine), best first
    idf_q: dict[str, float]              # the bold-sentence words' idf in this archive
    support: dict[int, float]            # article rowid -> its share of the dense candidates


def _narrow(allowed: np.ndarray | None, scope: np.ndarray | None) -> np.ndarray | None:
    """The chunks both allow (None: no limit)."""
    if scope is None:
        return allowed
    return scope if allowed is None else np.intersect1d(np.asarray(allowed, dtype=np.int64), scope)
