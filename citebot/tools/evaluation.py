"""Quality, abstention and latency, measured where citebot will be used: question sets asked over
an archive of a given size (the dev articles alone, or beside thousands of distractor articles).

- Answerable sets (a SQuAD-format file's answerable questions; JSONL records with `title`,
  `question`, `answer`): a question is found at k when a gold answer appears (case- and
  whitespace-insensitive) in one of the top k extracts; the article is hit at k when its title is
  among the top k results; highlight@1 when the answer is inside the top extract's bold sentence.
- Refusal sets (off-topic questions; SQuAD's unanswerable ones): how often it says "not found".
- Date questions (`question`, `now`, `expect`, `period`, `answer`): answered from the right period,
  or honestly refused naming it; never answered from another period.
- Every extract is checked against the article text as given: it must be contiguous source text
  (whitespace aside).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..index.answer import Answer, Retriever
from .question_sets import DateQuestion, Question, QuestionSet

KS = (1, 3, 5)


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().lower()


def corpus_key(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(str(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def content_digest(path: Path) -> str:
    """What a distractor file or folder holds (names and bytes), for the cache key: a copy of the
    same corpus elsewhere, or one whose times changed, is the same archive (hashing the 24 MB
    Wikinews file takes a tenth of a second; rebuilding its index, a quarter of an hour)."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        h.update(f.relative_to(path).as_posix().encode() if f != path else b"")
        h.update(b"\0")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()[:16]


def build_code_digest() -> str:
    """A digest of the code that decides what an index holds (loading, cleaning, chunking, embedding):
    an evaluation index cached under another digest is stale (the store's FORMAT_VERSION is in its key)."""
    root = Path(__file__).resolve().parent.parent / "index"
    files = ["encoders/sentence_transformers.py", "sources/parsers.py", "sources/files.py",
             *sorted(p.relative_to(root).as_posix() for p in (root / "text").glob("*.py"))]
    h = hashlib.sha256()
    for name in files:
        h.update((root / name).read_bytes())
    return h.hexdigest()[:12]


def contiguous_in(extract: str, source: str) -> bool:
    """Whether an extract is contiguous text of its source, whitespace aside."""
    return _norm(extract) in _norm(source)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


@dataclass
class Recorder:
    """Asks questions and keeps what every set needs: latency, every extract for the splice check,
    and (for fitting the abstention model) each question's evidence and label."""
    retriever: Retriever
    k: int = 5
    sources: dict[str, str] | None = None      # article id → the text as given, for the splice check
    latencies: list[float] = field(default_factory=list)
    spliced: list[dict] = field(default_factory=list)
    extracts: int = 0
    evidence: list[dict] = field(default_factory=list)
    as_of: dt.date | None = None  # every question asked as on this day, unless it carries its own

    def ask(self, text: str, now: dt.date | None = None, as_of: dt.date | None = None) -> Answer:
        t = time.perf_counter()
        ans = self.retriever.answer(text, k=self.k, now=now, as_of=as_of or (None if now else self.as_of))
        self.latencies.append(time.perf_counter() - t)
        if self.sources is not None:
            for hit in ans.ranked:
                self.extracts += 1
                source = self.sources.get(hit.article_id)
                if source is not None and not contiguous_in(hit.extract, source):
                    self.spliced.append({"article_id": hit.article_id, "extract": hit.extract})
        return ans

    def note(self, set_name: str, question: str, ans: Answer, label: int | None) -> None:
        if ans.features:
            self.evidence.append({"set": set_name, "question": question, "label": label,
                                  "confidence": ans.confidence, **ans.features})


def evaluate_answerable(rec: Recorder, name: str, questions: list[Question],
                        progress: Callable[[], None] | None = None) -> tuple[dict, list[dict]]:
    found = {k: 0 for k in KS}
    served = {k: 0 for k in KS}
    art_hit = {1: 0, 5: 0}
    highlight1 = rr = refused = tentative = 0
    extract_lens: list[int] = []
    misses = []
    for q in questions:
        ans = rec.ask(q.text, as_of=q.as_of)
        golds = [_norm(a) for a in q.answers]
        ranked = ans.ranked[:rec.k]
        first = next((i for i, h in enumerate(ranked) if any(g in _norm(h.extract) for g in golds)), None)
        for k in KS:
            if first is not None and first < k:
                found[k] += 1
                if ans.answer_found and first < len(ans.hits):
                    served[k] += 1
        if first is not None:
            rr += 1.0 / (first + 1)
        titles = [h.title for h in ranked]
        art_hit[1] += bool(titles[:1] and titles[0] == q.title)
        art_hit[5] += q.title in titles[:5]
        highlight1 += bool(ranked and any(g in _norm(ranked[0].highlight) for g in golds))
        refused += not ans.answer_found
        tentative += ans.tentative
        extract_lens.extend(len(h.extract) for h in ranked[:1])
        rec.note(name, q.text, ans, 1 if first is not None and first < 3 else None)
        if first != 0:
            misses.append({"set": name, "question": q.text, "answers": q.answers[:2],
                           "top": ranked[0].extract if ranked else None, "refused": not ans.answer_found,
                           "highlight": ranked[0].highlight if ranked else None})
        if progress:
            progress()
    n = max(1, len(questions))
    return {"questions": len(questions),
            **{f"answer_recall@{k}": found[k] / n for k in KS},
            **{f"served_recall@{k}": served[k] / n for k in KS},
            "article_hit@1": art_hit[1] / n, "article_hit@5": art_hit[5] / n,
            "highlight_recall@1": highlight1 / n, "mrr@5": rr / n,
            "mean_extract_chars": statistics.mean(extract_lens) if extract_lens else 0.0,
            "refused": refused / n, "tentative": tentative / n}, misses


def evaluate_refusals(rec: Recorder, name: str, questions: list[str],
                      progress: Callable[[], None] | None = None) -> tuple[dict, list[dict]]:
    refused = cautioned = 0
    wrong = []
    for q in questions:
        ans = rec.ask(q)
        refused += not ans.answer_found
        cautioned += ans.tentative
        rec.note(name, q, ans, 0)
        if ans.answer_found:
            wrong.append({"set": name, "question": q, "top": ans.hits[0].extract, "title": ans.hits[0].title,
                          "confidence": round(ans.confidence, 3)})
        if progress:
            progress()
    n = max(1, len(questions))
    return {"questions": len(questions), "refused": refused / n, "refused_or_tentative": (refused + cautioned) / n}, wrong


def evaluate_dates(rec: Recorder, name: str, questions: list[DateQuestion],
                   progress: Callable[[], None] | None = None) -> tuple[dict, list[dict]]:
    """Right: an "answer" question answered from an article dated in its period with the expected
    words in the top extract (or a "latest" one answered with them), or a "refuse" question
    refused with the period named. Right article: the same, with an "answer" question counted
    right also when its top hit is the article that answers it (the period was right; the extract
    may hold the answer in other words). Another period: any hit dated outside the question's period."""
    right = right_article = other_period = named = 0
    wrong = []
    for q in questions:
        ans = rec.ask(q.text, now=q.now)
        dated = [h.extra.get("dated") for h in ans.hits]
        outside = q.period is not None and any(d and not (q.period[0] <= d <= q.period[1]) for d in dated)
        other_period += outside
        if q.expect == "refuse":
            ok = not ans.answer_found and ans.period is not None
        else:
            ok = ans.answer_found and not outside and bool(q.answer) and _norm(q.answer) in _norm(ans.hits[0].extract)
        right_article += ok or (q.expect != "refuse" and ans.answer_found and not outside
                                and q.article_id is not None and ans.hits[0].article_id == q.article_id)
        named += (not ans.answer_found and ans.period is not None)
        right += ok
        if q.expect == "refuse":
            rec.note(name, q.text, ans, 0)
        elif q.answer and any(_norm(q.answer) in _norm(h.extract) for h in ans.ranked[:3]):
            rec.note(name, q.text, ans, 1)  # news questions with their answer found: what to keep answering
        if not ok:
            wrong.append({"set": name, "question": q.text, "now": q.now.isoformat(), "expect": q.expect,
                          "period": ans.period.label if ans.period else None,
                          "top": ans.hits[0].extract if ans.hits else None,
                          "dated": dated[:1], "reason": ans.reason})
        if progress:
            progress()
    n = max(1, len(questions))
    return {"questions": len(questions), "right": right / n, "right_article": right_article / n,
            "other_period": other_period,
            "refused_naming_period": named / n}, wrong


def run_sets(rec: Recorder, sets: Iterable[QuestionSet], progress: Callable[[], None] | None = None
             ) -> tuple[dict[str, dict], list[dict]]:
    results: dict[str, dict] = {}
    misses: list[dict] = []
    for qs in sets:
        if qs.kind == "answerable":
            m, miss = evaluate_answerable(rec, qs.name, qs.questions, progress)
        elif qs.kind == "refuse":
            m, miss = evaluate_refusals(rec, qs.name, qs.questions, progress)
        else:
            m, miss = evaluate_dates(rec, qs.name, qs.questions, progress)
        results[qs.name] = {"kind": qs.kind, **m}
        misses += miss
    results["all"] = {"kind": "summary", "queries": len(rec.latencies),
                      "latency_median_ms": 1000 * statistics.median(rec.latencies) if rec.latencies else 0.0,
                      "latency_p95_ms": 1000 * _pct(rec.latencies, 0.95),
                      "extracts_checked": rec.extracts, "spliced_extracts": len(rec.spliced)}
    return results, misses


def archive_config(cfg, index_dir: Path):
    """The settings of one cached evaluation archive: its own folder and, on Qdrant, its own
    collection (and local-mode folder), so that archives of several sizes never share one."""
    from dataclasses import replace

    qdrant = replace(cfg.qdrant, collection=f"{cfg.qdrant.collection}-eval-{Path(index_dir).parent.name}",
                     path=Path(index_dir).parent / "qdrant" if cfg.qdrant.path else None)
    return replace(cfg, index_dir=Path(index_dir), qdrant=qdrant)


def build_archive(cache_root: Path, records: list[dict], distractors: list[Path], size: int | None,
                  cfg, encoder, on_problem: Callable[[str], None],
                  on_build: Callable[[str], None] | None = None, rebuild: bool = False) -> tuple[Path, dict[str, str]]:
    """The index of the dev articles beside `size` distractor articles (the first ones of the JSONL
    distractor files, in order; folders whole; None = all), built once and cached under a key of
    the corpus, the settings and the index format (a cached index built by other cleaning or
    chunking code is reported; `rebuild` builds it again). Returns its folder and, for the splice
    check, the text of every JSON-given article as given."""

    from ..index.building import build
    from ..index.stores.local.generations import FORMAT_VERSION
    from ..index.stores.factory import open_store

    sources = {r["id"]: r["text"] for r in records}
    stamp = [content_digest(p) for p in distractors]
    key = corpus_key(json.dumps(records, sort_keys=True), stamp, size, cfg.model, cfg.dtype, cfg.chunk_tokens,
                     cfg.chunk_overlap, cfg.faiss_index, FORMAT_VERSION, getattr(cfg, "store", "local"))
    folder = Path(cache_root) / key
    digest_file = folder / "code-digest"
    if rebuild and folder.exists():
        shutil.rmtree(folder)
    corpus = folder / "corpus"
    paths: list[Path] = [corpus / "dev.jsonl"]
    left = size
    lines_by_file: list[tuple[Path, list[str]]] = []
    for p in distractors:
        if p.suffix == ".jsonl":
            lines = [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
            if left is not None:
                lines, left = lines[:left], max(0, left - len(lines))
            lines_by_file.append((p, lines))
            for ln in lines:
                r = json.loads(ln)
                if r.get("id") is not None and isinstance(r.get("text"), str):
                    sources[str(r["id"])] = r["text"]
        else:
            paths.append(p)
    index_dir = folder / "index"
    if not open_store(archive_config(cfg, index_dir)).exists():
        corpus.mkdir(parents=True, exist_ok=True)
        (corpus / "dev.jsonl").write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
        for i, (p, lines) in enumerate(lines_by_file):
            (corpus / f"distractors-{i}-{p.stem}.jsonl").write_text("\n".join(lines), encoding="utf-8")
        if on_build:
            on_build(f"indexing {len(records)} dev articles and {sum(len(ls) for _, ls in lines_by_file)} "
                     f"distractor records{' and ' + ', '.join(map(str, paths[1:])) if paths[1:] else ''} "
                     f"into {index_dir}…")
        build(sorted(corpus.glob("*.jsonl")) + paths[1:], archive_config(cfg, index_dir), encoder, on_problem)
        digest_file.write_text(build_code_digest())
    elif not digest_file.exists() or digest_file.read_text() != build_code_digest():
        on_problem(f"the cached index in {index_dir} was built by other cleaning/chunking code: "
                   "run with --rebuild for figures of this code")
    return index_dir, sources
