"""Natural questions for the reader: question sets whose questions were written apart from the
passage (search queries, annotators who did not see the text), read in place from a reader-data
folder (`make reader-data` passes it as --natural), each file checked against the folder's
SHA256SUMS, each set used as its licence allows.

Why: a reader trained on reading-comprehension questions, which share most of their words with
the answer, learns word overlap, and then refuses a real answer asked in other words. These sets
ask as people do, and some of them give, beside the answer, the same subject without it:
- Natural Questions (QED's train questions): the gold paragraph with its sentence boundaries and
  answer span; the paragraph without its answering sentence is a near miss the data itself makes
  (same subject, the asked fact absent).
- BoolQ: yes/no search queries with the passage that answers them (no sentence marked: only the
  "answers" channel learns from them).
- SelQA: a Wikipedia section's sentences, the answering ones marked; half the questions
  paraphrased by annotators.
- TimeQA: time-bound questions ("... from 1811 to 1827?") over a whole Wikipedia page: the part
  that answers, the same subject in other periods as negatives (a year is evidence), and questions
  the page does not answer.

Sets with research-only or unclear terms are for validation only (`reader_validate`): `training_sets`
refuses them, and a test fails if one reaches the training examples.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..index.text.sentences import sentence_spans
from .reader_examples import WINDOW_WORDS, Example, passage, window_holding, windows
from .reader_sources import DEV_TITLES


@dataclass(frozen=True)
class NaturalSet:
    name: str
    files: tuple[str, ...]   # relative to the reader-data folder
    licence: str
    use: str                 # "train": may teach a shipped model; "validate": measure and choose only
    source: str              # repository @ commit


SETS = (
    NaturalSet("nq-qed", tuple(f"nq-qed/nq-train-0{i}-qed.jsonlines" for i in range(6)),
               "CC BY-SA 3.0 (Natural Questions, Wikipedia)", "train",
               "google-research-datasets/QED@71e19e085640a2032c803a839d716f0a1b526bff"),
    NaturalSet("boolq", ("boolq-dev/dev.jsonl",), "CC BY-SA 3.0 (BoolQ)", "train",
               "d-eremeev/BoolQ-Question-Answering@72c347852e309ad087cf9f57517b769712a7a2a4"),
    NaturalSet("selqa", ("selqa-dev/selqa-ass-dev.json",), "Apache-2.0 (SelQA)", "train",
               "emorynlp/selqa@fef3d6ac6944e2d4237165d90e5f859c71676bdd"),
    NaturalSet("timeqa", ("timeqa/dataset/human_train.easy.json.gzip", "timeqa/dataset/human_train.hard.json.gzip"),
               "BSD-3-Clause (TimeQA)", "train",
               "wenhuchen/Time-Sensitive-QA@38b05989070c1168b2bef3d5a2656afeeba763dc"),
    NaturalSet("nq-qed-dev", ("nq-qed/qed-dev.jsonlines",), "CC BY-SA 3.0 (NQ dev)", "validate",
               "google-research-datasets/QED@2492920337122918bbfc7d12c1268b9af796c6cf"),
    NaturalSet("wikiqa", ("wikiqa/WikiQA-train.tsv", "wikiqa/WikiQA-test.tsv"),
               "Microsoft Research data licence (research only)", "validate",
               "SiemensHalske/DataAlchemist@f00790c79ec61f60151544c92701cff36fc57957"),
    NaturalSet("mrpc", ("mrpc/msr_paraphrase_train.txt", "mrpc/msr_paraphrase_test.txt"),
               "Microsoft Research (research only)", "validate",
               "wooque/text-semantic-similarity@fe3bef5d1ad19bfdeb1a8414ab67aa95ffb19585"),
)
BY_NAME = {s.name: s for s in SETS}


class NotForTraining(ValueError):
    """A set whose licence allows validation only was asked for as training data."""


def training_sets(names: list[str] | None = None) -> list[NaturalSet]:
    """The sets a shipped model may learn from; naming a validate-only one is an error."""
    chosen = [BY_NAME[n] for n in names] if names else [s for s in SETS if s.use == "train"]
    for s in chosen:
        if s.use != "train":
            raise NotForTraining(f"{s.name} is for validation only ({s.licence})")
    return chosen


def verify(folder: Path, s: NaturalSet) -> list[Path]:
    """The set's files, each checked against the folder's SHA256SUMS (a changed file stops the run)."""
    sums = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, name = line.split(None, 1)
            sums[name.strip().removeprefix("./")] = digest
    out = []
    for f in s.files:
        p = folder / f
        if f not in sums:
            raise ValueError(f"{f} is not listed in {folder / 'SHA256SUMS'}")
        if hashlib.sha256(p.read_bytes()).hexdigest() != sums[f]:
            raise ValueError(f"{p} differs from its recorded SHA-256: not the file the recipe was written for")
        out.append(p)
    return out


# -- text as a person would write it -----------------------------------------------------------
_SPACED = re.compile(r" (?=[,.;:!?)\]%]|'s\b|n't\b|'re\b|'ll\b|'ve\b|'d\b)|(?<=[(\[$]) | (?=-- )|(?<= --) ")


def detokenize(text: str) -> tuple[str, list[int]]:
    """Text from a word tokenizer ("Baker House , built in 1794 .") as written ("Baker House, built
    in 1794."), with each old character's new offset (a removed space maps where it stood): a reader
    that saw spaced punctuation only in its positives would learn the punctuation."""
    drop = {m.start() for m in _SPACED.finditer(text)}
    drop |= {m.start() + 1 for m in re.finditer(r"``|''", text)}
    out, where, n = [], [], 0
    for i, ch in enumerate(text):
        where.append(n)
        if i in drop:
            continue
        out.append('"' if ch in "`'" and text[i:i + 2] in ("``", "''") else ch)
        n += 1
    where.append(n)
    return "".join(out), where


# -- Natural Questions (QED) --------------------------------------------------------------------
def qed_rows(paths: list[Path]) -> Iterator[dict]:
    """QED rows as (title, text, sentence spans, answer span, question), punctuation as written."""
    for p in paths:
        for line in p.open(encoding="utf-8"):
            if not line.strip():
                continue
            r = json.loads(line)
            raw = r["paragraph_text"]
            text, where = detokenize(raw)
            starts = list(r["sentence_starts"]) + [len(raw)]
            spans = [(where[a], where[b]) for a, b in zip(starts, starts[1:])]
            spans = [(a + len(text[a:b]) - len(text[a:b].lstrip()), b - (len(text[a:b]) - len(text[a:b].rstrip())))
                     for a, b in spans]
            spans = [(a, b) for a, b in spans if b > a]
            given = r.get("answer_spans") or [(a["start"], a["end"]) for group in r.get("original_nq_answers") or []
                                               for a in group[:1]]  # the dev file keeps NQ's own answers
            answers = [(where[a], where[b]) for a, b in given]
            yield {"id": str(r["example_id"]), "title": r.get("title_text") or "", "text": text, "spans": spans,
                   "answers": answers, "question": r["question_text"].strip()}


def qed_examples(rows: Iterator[dict], rng: random.Random) -> Iterator[Example]:
    """Each question: its paragraph (or a chunk-sized window of it) answers; the same paragraph
    without the sentences that hold the answer is a near miss."""
    for r in rows:
        text, spans, answers = r["text"], r["spans"], r["answers"]
        if not spans or not answers:
            continue
        q = r["question"][0].upper() + r["question"][1:]
        q = q if q.endswith("?") else q + "?"
        a0, b0 = answers[0]
        got = window_holding(text, spans, a0, rng)
        if got is None:
            continue
        t, sp, k, off = got
        span = (a0 - off, b0 - off) if b0 - off <= len(t) else None
        yield Example(q, r["title"], t, sp, 1, k, span, "nq", f"nq:{r['title']}")
        holding = {i for i, (a, b) in enumerate(spans) for x, y in answers if a < y and x < b}
        for part in _runs_without(spans, holding):
            i, j = part
            if sum(len(text[a:b].split()) for a, b in spans[i:j]) < 20:
                continue
            tt, ss = passage(text, spans, i, min(j, i + _fits(text, spans, i)))
            if any(text[x:y].lower() in tt.lower() for x, y in answers):
                continue
            yield Example(q, r["title"], tt, ss, 0, kind="nq-near-miss", article=f"nq:{r['title']}")
            break


def _runs_without(spans: list, holding: set[int]) -> list[tuple[int, int]]:
    """Contiguous runs of sentences holding no answer, longest first."""
    runs, i = [], 0
    while i < len(spans):
        if i in holding:
            i += 1
            continue
        j = i
        while j < len(spans) and j not in holding:
            j += 1
        runs.append((i, j))
        i = j
    return sorted(runs, key=lambda r: r[0] - r[1])


def _fits(text: str, spans: list, i: int) -> int:
    """How many sentences from i fit a chunk-sized window (at least one)."""
    n, words = 0, 0
    for a, b in spans[i:]:
        w = len(text[a:b].split())
        if n and words + w > WINDOW_WORDS:
            break
        n, words = n + 1, words + w
    return max(1, n)


# -- BoolQ ---------------------------------------------------------------------------------------
def boolq_examples(path: Path, rng: random.Random, max_words: int = 130) -> Iterator[Example]:
    """A yes/no query and the passage that answers it (short passages only: a window cut from a
    long one may have lost what answers)."""
    for line in path.open(encoding="utf-8"):
        if not line.strip():
            continue
        r = json.loads(line)
        text = r["passage"].replace("``", '"').replace("''", '"').strip()
        if len(text.split()) > max_words:
            continue
        q = r["question"].strip()
        q = q[0].upper() + q[1:] + ("" if q.endswith("?") else "?")
        spans = sentence_spans(text, "en")
        yield Example(q, r.get("title", ""), text, spans, 1, -1, None, "boolq", f"boolq:{r.get('title', '')}")


# -- SelQA ---------------------------------------------------------------------------------------
def selqa_examples(path: Path, rng: random.Random) -> Iterator[Example]:
    """A section's sentences joined as a passage: the window holding the answering sentence
    answers; a window of the same section without any answering sentence does not."""
    for r in json.loads(path.read_text(encoding="utf-8")):
        cands = [c.strip() for c in r["candidates"]]
        if not cands:
            continue
        text, spans, pos = "", [], 0
        for c in cands:
            spans.append((pos, pos + len(c)))
            text += c + " "
            pos += len(c) + 1
        text = text.rstrip()
        answers = set(r.get("answers") or [])
        title = f"{r.get('article', '')}: {r.get('section', '')}".strip(": ")
        kind = "selqa-paraphrase" if r.get("is_paraphrase") else "selqa"
        art = f"selqa:{r.get('article', '')}"
        ws = windows(text, spans)
        if answers:
            k = rng.choice(sorted(answers))
            holding = [(i, j) for i, j in ws if i <= k < j]
            if holding:
                i, j = rng.choice(holding)
                t, sp = passage(text, spans, i, j)
                yield Example(r["question"], title, t, sp, 1, k - i, None, kind, art)
        free = [(i, j) for i, j in ws if not any(i <= a < j for a in answers)]
        if free:
            i, j = rng.choice(free)
            t, sp = passage(text, spans, i, j)
            yield Example(r["question"], title, t, sp, 0, kind=kind + "-near-miss", article=art)


# -- TimeQA --------------------------------------------------------------------------------------
def timeqa_examples(paths: list[Path], rng: random.Random, negatives: int = 2) -> Iterator[Example]:
    """The window of the page that holds the answer, and windows of the same page that hold none
    (the same subject in other periods): the question's years decide. A question the page does
    not answer gives negatives only."""
    for p in paths:
        for line in gzip.open(p, "rt", encoding="utf-8"):
            if not line.strip():
                continue
            r = json.loads(line)
            text, where = detokenize(r["context"])
            starts = [where[a] for a, t in zip(r.get("from") or [], r.get("targets") or []) if t]
            ends = [where[b] for b, t in zip(r.get("end") or [], r.get("targets") or []) if t]
            spans = sentence_spans(text, "en")
            if not spans:
                continue
            subject = r["idx"].split("#")[0].rsplit("/", 1)[-1].replace("_", " ")
            art = f"timeqa:{subject}"
            q = r["question"].strip()
            if starts:
                got = window_holding(text, spans, starts[0], rng)
                if got is not None:
                    t, sp, k, off = got
                    span = (starts[0] - off, ends[0] - off) if ends[0] - off <= len(t) else None
                    yield Example(q, subject, t, sp, 1, k, span, "timeqa", art)
            targets = [t.lower() for t in r.get("targets") or [] if t]
            ws = [(i, j) for i, j in windows(text, spans)
                  if not any(i <= _sentence_at(spans, s) < j for s in starts)]
            ws = [w for w in ws if not any(t in text[spans[w[0]][0]:spans[w[1] - 1][1]].lower() for t in targets)]
            dated = [w for w in ws if re.search(r"\b(1[5-9]|20)\d\d\b", text[spans[w[0]][0]:spans[w[1] - 1][1]])]
            for i, j in rng.sample(dated or ws, min(negatives, len(dated or ws))):
                t, sp = passage(text, spans, i, j)
                yield Example(q, subject, t, sp, 0, kind="timeqa-other-period" if starts else "timeqa-unanswered",
                              article=art)


def _sentence_at(spans: list[tuple[int, int]], at: int) -> int:
    return next((i for i, (a, b) in enumerate(spans) if a <= at < b or at < a), len(spans) - 1)


MAKERS: dict[str, Callable[[list[Path], random.Random], Iterator[Example]]] = {
    "nq-qed": lambda paths, rng: qed_examples(qed_rows(paths), rng),
    "boolq": lambda paths, rng: boolq_examples(paths[0], rng),
    "selqa": lambda paths, rng: selqa_examples(paths[0], rng),
    "timeqa": timeqa_examples,
}


def _norm(question: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", question.lower()).strip()


def validation_questions(folder: Path) -> set[str]:
    """Every question of the validate sets that ask questions (NQ dev, NQ-open, WikiQA), normalised:
    a training question that is also one of them is dropped, so that validation stays unseen."""
    out: set[str] = set()
    for p in verify(folder, BY_NAME["nq-qed-dev"]):
        out |= {_norm(json.loads(line)["question_text"]) for line in p.open(encoding="utf-8") if line.strip()}
    for p in verify(folder, BY_NAME["wikiqa"]):
        out |= {_norm(line.split("\t")[1]) for line in p.open(encoding="utf-8").readlines()[1:] if "\t" in line}
    oracle = folder / "nq-open-oracle" / "nq-open-oracle.jsonl.gz"
    if oracle.exists():
        out |= {_norm(json.loads(line)["question"]) for line in gzip.open(oracle, "rt", encoding="utf-8") if line.strip()}
    return out


def natural_examples(folder: Path, rng: random.Random, names: list[str] | None = None) -> tuple[list[Example], dict]:
    """Every example the training sets give, less any whose question a validation set asks or whose
    article an evaluation set is about (SQuAD dev's titles, as for the other sets), and a
    record of what was used (set, licence, source, files' SHA-256 checked, examples made) for the
    model card's data summary."""
    held = validation_questions(folder)
    out: list[Example] = []
    used = {}
    for s in training_sets(names):
        made = list(MAKERS[s.name](verify(folder, s), rng))
        kept = [e for e in made if _norm(e.question) not in held
                and e.article.split(":", 1)[-1].replace(" ", "_") not in DEV_TITLES]
        used[s.name] = {"licence": s.licence, "source": s.source, "examples": len(kept),
                        "positives": sum(e.label for e in kept), "dropped": len(made) - len(kept)}
        out += kept
    return out, used
