"""The near-duplicate test set: copies of each wire story as outlets run them (a new dateline and
credit, boilerplate around it, a trimmed end, a local edit, only the first half) and reports of
the same events written independently (tests/near_duplicates.json), which are not copies.

A pair of documents is a true duplicate when both are versions of the same wire text."""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "near_duplicates.json"


@dataclass(frozen=True)
class Doc:
    id: str
    story: str
    wire: bool  # a version of the story's wire text (else an independent report)
    text: str


def _copies(story: str, paras: list[str]) -> dict[str, list[str]]:
    first, rest = paras[0], paras[1:]
    return {
        "dateline": [f"PORT ELVA, March 4 (Coastwire) - {first}", *rest,
                     "(Reporting by Jan Moss; Editing by Ruth Ames)"],
        "boilerplate": ["By Staff Reporter", "This story was provided by the Coastwire news agency.", *paras,
                        "Sign up for our morning newsletter to get the day's news first.",
                        "Read more: Ten things to do this weekend"],
        "trimmed": [f"SALTMARSH (Northern Press) - {first}", *rest[:3]],
        "edited": [first.replace(" on ", " late on ", 1), rest[0],
                   "The Gazette understands that local councillors were briefed earlier in the week.",
                   *rest[1:4]],
        "half": paras[:3],
    }


def documents() -> list[Doc]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    docs = []
    for s in data["stories"]:
        docs.append(Doc(f"{s['id']}/wire", s["id"], True, "\n\n".join(s["wire"])))
        for name, paras in _copies(s["id"], s["wire"]).items():
            docs.append(Doc(f"{s['id']}/{name}", s["id"], True, "\n\n".join(paras)))
        for i, paras in enumerate(s["others"]):
            docs.append(Doc(f"{s['id']}/other{i + 1}", s["id"], False, "\n\n".join(paras)))
    return docs


def is_true_pair(a: Doc, b: Doc) -> bool:
    return a.story == b.story and a.wire and b.wire


def precision_recall(docs: list[Doc], same) -> tuple[float, float, int, int]:
    """(precision, recall, true pairs, pairs predicted) of a pair predicate over all pairs."""
    tp = fp = fn = 0
    for a, b in itertools.combinations(docs, 2):
        truth, said = is_true_pair(a, b), bool(same(a, b))
        tp += truth and said
        fp += said and not truth
        fn += truth and not said
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1), tp + fn, tp + fp
