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

from .reader_examples import Example
from .reader_natural_examples import boolq_examples, qed_examples, qed_rows, selqa_examples, timeqa_examples
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
