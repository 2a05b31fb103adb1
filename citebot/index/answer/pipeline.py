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
from typing import Sequence

import numpy as np

from ..stores.bm25 import idf
from ..records import Hit
from .copies import collapse_duplicates
from ..config import IndexConfig
from ..encoders.cosines import cosine_scale
from ..stores.base import Store, StoreReader
from ..stores.factory import open_store
from ..text.languages import detect
from ..text.terms import stems
from .abstain import Evidence, evidence, load_model, logit, model_file
from .candidates import AS_OF_DEPTH, anywhere, in_period, outside_period, published_by, recent
from .compose import article_support, compose_hits, placed_in_period
from .fusion import fuse
from .question import Question, parse_question
from .read import read_candidates, verdict_basis
from . import explain as explaining, reference
from .records import Answer, AnswerConfig, Candidate, FirstStage, Fusion
from .reference import Reference
from .scoring import score_candidates

COMMON_TERM_SHARE = 0.1  # a word in more than this share of the chunks is left out of BM25
COMMON_TERM_FLOOR = 5000  # ...but summing this many postings is cheap, so small indexes keep every word
MAX_BM25_TERMS = 8
AGREE_TOP = 10
DUPLICATE_SLACK = 4
# the answer's timings (seconds), the same keys on every return (Answer.timings)
TIMING_KEYS = ("period", "embed", "dense", "bm25", "rerank", "reader", "compose")


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
        self.cosines = cosine_scale(self.model)  # its cosines on the scale the weights were set on
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
        allowed = in_period(reader, q.period, None)
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
               now: dt.date | None = None, within: Sequence[int] | np.ndarray | None = None,
               as_of: dt.date | None = None, explain: bool = False) -> Answer:
        """`question`: as asked, or already parsed (question.py). `focus`: for a follow-up asked
        together with the previous question, the follow-up's own words, which then decide the
        highlighted sentence. `now`: what "last week" is relative to (today by default).
        `within`: answer from these chunks only (following a topic: is there news of it among the
        articles just indexed?), judged by the same scoring and abstention as any answer.
        `as_of`: answer as on that day: "this week" and "latest" read against it, and no article
        dated after it is quoted (an undated one is: its date is unknown). `explain`: the answer
        carries its explanation (explain.py): which stage decided, and the figures it decided on."""
        cfg = self.config
        k = k or cfg.k
        now = as_of or now
        q = question if isinstance(question, Question) else parse_question(question, now, focus)
        period = q.period
        scope = None if within is None else np.asarray(within, dtype=np.int64)
        timings = dict.fromkeys(TIMING_KEYS, 0.0)  # every key on every return: 0 for a stage that did not run
        t = time.perf_counter()
        reader = self.reader()
        allowed = in_period(reader, period, scope)
        timings["period"] = time.perf_counter() - t
        if period is not None and not len(allowed):  # the archive holds nothing from then at all
            return explaining.explained(Answer(q.text, False, [], 0.0, period=period, reason="period_empty",
                                               timings=timings), explain, q)

        t = time.perf_counter()
        qv = self.encoder.encode_queries([q.text])[0]  # a model's question prefix is the encoder's business
        timings["embed"] = time.perf_counter() - t
        # a reader reads the languages it was trained on (the shipped one: English); the first stage decides the rest
        reading = self.reading if self.reading is not None and q.language in self.reading.languages else None
        depth = max(cfg.rerank_depth, offset + k) if cfg.rerank else offset + k + 4
        got = self._first_stage(q, reader, qv, allowed, scope, reading, depth, timings, now, as_of)
        cands, dense = got.cands, got.dense
        first_order = list(cands)  # the first stage's, for its verdict when the reader only ranks
        t = time.perf_counter()
        if reading is not None:  # it reads the question as asked, its year included
            cands = read_candidates(reading, q.focus or q.text, cands, cfg.reader_top, cfg.reader_role,
                                    cfg.reader_rank_weight)
        timings["reader"] = time.perf_counter() - t
        decides = reading is not None and cfg.reader_decides

        t = time.perf_counter()
        # a few more than asked for: copies of one wire story merge into one hit ("also: …"); for
        # "latest", all: the newest relevant story may rank anywhere among them
        want = offset + k + DUPLICATE_SLACK
        asked = set(q.terms)
        subject = (lambda sentence: bool(asked & stems(sentence, q.language))) if q.dates.news else None
        ranked = collapse_duplicates(compose_hits(reader, cands, len(cands) if q.dates.recency else want, cfg.extract_chars,
                                                   subject), reader)
        timings["compose"] = time.perf_counter() - t
        if not ranked:
            return explaining.explained(Answer(q.text, False, [], 0.0, timings=timings, period=period, reason=(
                "nothing_in_period" if period else "not_relevant")), explain, q, got, cands)
        best, judged = verdict_basis(cands, first_order, cfg.rerank, reading is not None, decides)
        top_hit = ranked[0] if judged is cands else next((h for h in ranked if h.chunk_id == best.row.id), None) \
            or compose_hits(reader, [best], 1, cfg.extract_chars, subject)[0]
        # (with the reader ordering, the first stage's evidence is only reported, so the archive's
        # reference is not measured for it; a verifying reader may weigh the first stage's verdict)
        ev = self._evidence(q, reader, best, judged, top_hit, dense, got.support.get(best.row.article_rowid, 0.0),
                            reference.NEUTRAL if reading is not None and cfg.reader_orders else self.reference())
        first_stage = self.abstention.probability(ev)
        confidence = self.reading.confidence(best.reader, {**ev.as_dict(), "abstain": logit(first_stage)}) \
            if decides else first_stage
        threshold, sure_at = self.decide_reader if decides else self.decide_first_stage
        found = confidence >= threshold
        sure = confidence >= sure_at and bool(best.row.dated)
        # a sure, dated in-period answer stands whatever lies outside the period: no search for it
        elsewhere = outside_period(cfg, reader, qv, period, dense, scope, self.cosines) if period is not None and not (
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
        answer = Answer(q.text, answered, hits, ranked[0].score, ranked, timings, confidence, period,
                        reason, {**ev.as_dict(), "chunk_cos": best.dense, "first_stage": best.first_stage,
                                 "abstain": logit(first_stage), "reader": -1.0 if best.reader is None else best.reader},
                        tentative=answered and confidence < sure_at,
                        elsewhere=None if answered else elsewhere)
        if not explain:  # the figures of the decision are gathered only for an explanation
            return answer
        decision = explaining.decision_part(decides, confidence, threshold, sure_at, answered,
                                            answer.tentative, {**ev.as_dict(), "abstain": logit(first_stage)})
        return explaining.explained(answer, explain, q, got, cands, decision, elsewhere)

    def _first_stage(self, q: Question, reader: StoreReader, qv: np.ndarray, allowed: np.ndarray | None,
                     scope: np.ndarray | None, reading, depth: int, timings: dict,
                     now: dt.date | None = None, as_of: dt.date | None = None) -> FirstStage:
        """Candidates from dense and lexical search (within `allowed`), fused, scored by their best
        sentence and reranked: everything before the reader. With `as_of`, both searches reach
        deeper and drop what is dated after it (a filter every store can apply, at no cost to a
        question asked as of today)."""
        cfg = self.config
        period = q.period
        deeper = AS_OF_DEPTH if as_of is not None else 1
        t = time.perf_counter()
        dense: list[tuple[int, float]] = []
        if cfg.fusion in (Fusion.RRF, Fusion.DENSE):
            dense = reader.dense_search(qv, cfg.dense_candidates * deeper, allowed)
        timings["dense"] = time.perf_counter() - t
        t = time.perf_counter()
        lexical: list[tuple[int, float]] = []
        bm25_terms = self._bm25_terms(reader, list(q.terms))
        if cfg.fusion in (Fusion.RRF, Fusion.BM25):
            lexical = reader.bm25_search(bm25_terms, cfg.candidates * deeper, allowed)
        timings["bm25"] = time.perf_counter() - t
        if as_of is not None:
            dense = published_by(reader, dense, as_of)[:cfg.dense_candidates]
            lexical = published_by(reader, lexical, as_of)[:cfg.candidates]

        t = time.perf_counter()
        fused = fuse(dense, lexical, cfg.fusion, cfg.rrf_k, cfg.dense_weight)
        top = fused[:depth]
        if q.dates.recency and period is None:
            seen = {cid for cid, _ in top}
            top += [(cid, sc) for cid, sc in recent(cfg, reader, qv, bm25_terms, now, scope) if cid not in seen]
        # A year in a question is often what it asks about ("What did Curie discover in 1898?"),
        # not when the answer was published: with the reader to judge, undated passages are read
        # though they do not repeat the year. A dated story from another time stays out.
        undated_too = reading is not None and cfg.reader_orders and period is not None and not period.relative
        if undated_too:
            seen = {cid for cid, _ in top}
            top += [(cid, sc) for cid, sc in anywhere(cfg, reader, qv, bm25_terms, scope) if cid not in seen]
        if as_of is not None:
            top = published_by(reader, top, as_of)
        rows = reader.chunk_rows([cid for cid, _ in top])
        dense_rank = {cid: r for r, (cid, _) in enumerate(dense)}
        lexical_rank = {cid: r for r, (cid, _) in enumerate(lexical)}
        cands = [Candidate(rows[cid], score, dense_rank.get(cid), lexical_rank.get(cid)) for cid, score in top
                 if cid in rows and (placed_in_period(rows[cid], period) or undated_too and not rows[cid].dated)]
        idf_q = self._idf_of(reader, list(q.focus_terms))
        score_candidates(cfg, reader, q, qv, idf_q, cands, self.cosines)
        support = article_support(reader.chunk_rows([cid for cid, _ in dense]).values()) if dense else {}
        if cfg.article_weight:
            for c in cands:
                c.score += cfg.article_weight * support.get(c.row.article_rowid, 0.0)
        if cfg.rerank:
            cands.sort(key=lambda c: -c.score)
        timings["rerank"] = time.perf_counter() - t
        return FirstStage(cands, dense, idf_q, support, lexical, bm25_terms)

    def _evidence(self, q: Question, reader: StoreReader, best: Candidate, cands: list[Candidate],
                  hit: Hit, dense: list[tuple[int, float]], support: float, ref: Reference) -> Evidence:
        second = next((c.score for c in cands[1:] if c.row.article_rowid != best.row.article_rowid), None)
        return evidence(q.rest, self._idf_of(reader, list(q.terms)), hit.extract, hit.title, best.score, best.best_cos,
                        best.dense, [s for _, s in dense],
                        best.dense_rank is not None and best.dense_rank < AGREE_TOP,
                        best.bm25_rank is not None and best.bm25_rank < AGREE_TOP, best.best_lex, second, support,
                        ref, q.language != detect(hit.extract), q.language, q.names)
