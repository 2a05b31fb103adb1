"""Candidate searches beyond the first dense + lexical one: the archive's last weeks and months
for "the latest", the whole archive for a question whose year may be what it asks about, and the
best passage outside an asked period (then the subject is there, from another time)."""
from __future__ import annotations

import datetime as dt

import numpy as np

from ..encoders.cosines import IDENTITY, CosineScale
from ..stores.base import StoreReader
from .fusion import fuse
from .records import AnswerConfig, Fusion, Period

# "latest": besides the whole archive, its last month, four months and year are searched, so that
# the newest relevant story is scored even when older ones on the subject outrank it everywhere
RECENT_WINDOWS = (30, 120, 365)
RECENT_CANDIDATES = 10
ANYWHERE_CANDIDATES = 20  # for a question naming a year: the archive's best, searched without the period


def narrow(allowed: np.ndarray | None, scope: np.ndarray | None) -> np.ndarray | None:
    """The chunks both allow (None: no limit)."""
    if scope is None:
        return allowed
    return scope if allowed is None else np.intersect1d(np.asarray(allowed, dtype=np.int64), scope)


def in_period(reader: StoreReader, period: Period | None, scope: np.ndarray | None) -> np.ndarray | None:
    """The chunks a search may return: those of the period (dated in it, or naming its year),
    within `scope` when given; None: any."""
    return narrow(None if period is None else
                  reader.chunks_in_period(period.start, period.end, () if period.relative else period.years), scope)


AS_OF_DEPTH = 3  # how much deeper the searches reach when later articles are dropped after them


def published_by(reader: StoreReader, hits: list[tuple[int, float]], as_of: dt.date) -> list[tuple[int, float]]:
    """The hits whose article is not dated after `as_of` (undated ones stay)."""
    rows = reader.chunk_rows([cid for cid, _ in hits])
    last = as_of.isoformat()
    return [(cid, sc) for cid, sc in hits if cid in rows and not ((rows[cid].dated or "")[:10] > last)]


def recent(cfg: AnswerConfig, reader: StoreReader, qv: np.ndarray, bm25_terms: list[str], now: dt.date | None,
           scope: np.ndarray | None) -> list[tuple[int, float]]:
    """The best candidates of the archive's most recent weeks and months (RECENT_WINDOWS, back
    from its newest article or from now, whichever is earlier), each window fused on its own."""
    newest = reader.date_range()[1]
    today = (now or dt.date.today()).isoformat()
    anchor = dt.date.fromisoformat(min(newest, today) if newest else today)
    out: dict[int, float] = {}
    for days in RECENT_WINDOWS:
        allowed = narrow(reader.chunks_in_period((anchor - dt.timedelta(days=days)).isoformat(),
                                                  anchor.isoformat()), scope)
        if not len(allowed):
            continue
        dense = reader.dense_search(qv, RECENT_CANDIDATES, allowed) if cfg.fusion != Fusion.BM25 else []
        lexical = (reader.bm25_search(bm25_terms, RECENT_CANDIDATES, allowed)
                   if cfg.fusion != Fusion.DENSE else [])
        for cid, sc in fuse(dense, lexical, cfg.fusion, cfg.rrf_k, cfg.dense_weight)[:RECENT_CANDIDATES]:
            out.setdefault(cid, sc)
    return list(out.items())

def anywhere(cfg: AnswerConfig, reader: StoreReader, qv: np.ndarray, bm25_terms: list[str],
             scope: np.ndarray | None) -> list[tuple[int, float]]:
    """The best candidates of the whole archive, fused, for a question whose period filter
    would hide an undated passage that answers it without naming the year."""
    dense = reader.dense_search(qv, ANYWHERE_CANDIDATES, scope) if cfg.fusion != Fusion.BM25 else []
    lexical = reader.bm25_search(bm25_terms, ANYWHERE_CANDIDATES, scope) if cfg.fusion != Fusion.DENSE else []
    return fuse(dense, lexical, cfg.fusion, cfg.rrf_k, cfg.dense_weight)[:ANYWHERE_CANDIDATES]

def outside_period(cfg: AnswerConfig, reader: StoreReader, qv: np.ndarray, period: Period,
                    dense: list[tuple[int, float]], scope: np.ndarray | None,
                    cosines: CosineScale = IDENTITY) -> str | None:
    """The date of the archive's best passage for the question when it lies outside the asked
    period and beats every passage inside it by `period_gap` in cosine, else None. Then the
    subject is in the archive, but from another time: "What damage did the fire do to Notre
    Dame in 2020?" finds the April 2019 fire far above anything of 2020 (measured on the date
    questions at 12,641 articles: every answerable one within 0.07 but one, every one to
    refuse 0.14 or more). The gap is on the default model's scale (`cosines`)."""
    if cfg.fusion == Fusion.BM25:
        return None
    best = reader.dense_search(qv, 1, scope)
    if not best:
        return None
    cid, cos = best[0]
    inside = dense[0][1] if dense else 0.0
    if cosines(cos) - cosines(inside) < cfg.period_gap:
        return None
    row = reader.chunk_rows([cid]).get(cid)
    if row is None or not row.dated or period.start <= row.dated <= period.end:
        return None
    return row.dated
