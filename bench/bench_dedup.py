"""Near-duplicate detection on the written test set (tests/dedup_cases.py): precision and recall
over all pairs for MinHash (as citebot groups at index time: LSH candidates, containment check,
closest copy's group) and for 64-bit simhash at several Hamming distances. Seconds to run; no
model.

    .venv/bin/python bench/bench_dedup.py [--smoke]

It is toy-sized already: --smoke (what the tests run) is the same run, accepted like every bench's."""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dedup_cases import documents, precision_recall  # noqa: E402

from citebot.index.records import Article  # noqa: E402
from citebot.index import duplicates


def simhash(features: dict[bytes, int]) -> int:
    """Charikar's 64-bit simhash of weighted features."""
    weights = [0] * 64
    for feature, weight in features.items():
        h = int.from_bytes(hashlib.blake2b(feature, digest_size=8).digest(), "little")
        for bit in range(64):
            weights[bit] += weight if h >> bit & 1 else -weight
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def word_counts(text: str) -> dict[bytes, int]:
    return dict(Counter(w.encode() for w in re.findall(r"\w+", text.lower())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="the same run (it takes seconds already)")
    ap.parse_args()
    docs = documents()
    print(f"{len(docs)} documents, 8 stories: 6 versions of each wire text, 9 independent reports")
    for order, dated in (("in id order", lambda i: None), ("reversed", lambda i: f"2026-{1 + (len(docs) - i) // 28:02d}-"
                                                                                    f"{1 + (len(docs) - i) % 28:02d}")):
        arts = [Article(id=d.id, title=d.id, text=d.text, dated=dated(i)) for i, d in enumerate(docs)]
        duplicates.group_batch(arts)
        group = {a.id: a.dup_group for a in arts}
        p, r, true, said = precision_recall(docs, lambda a, b: group[a.id] == group[b.id])
        print(f"MinHash + LSH, grouped {order:<12}  precision {p:.3f}  recall {r:.3f}  ({true} true pairs, {said} said)")
    sigs = {d.id: duplicates.signature(d.text) for d in docs}
    p, r, true, said = precision_recall(docs, lambda a, b: duplicates.is_copy(sigs[a.id], sigs[b.id]))
    print(f"MinHash containment, every pair       precision {p:.3f}  recall {r:.3f}  ({said} said)")
    for t in (0.5, 0.7, 0.8):
        p, r, _, said = precision_recall(docs, lambda a, b: duplicates.jaccard(sigs[a.id], sigs[b.id]) >= t)
        print(f"MinHash Jaccard >= {t}                 precision {p:.3f}  recall {r:.3f}  ({said} said)")
    for name, features in (("3-shingles", lambda t: dict.fromkeys(duplicates.shingles(t, 3), 1)),
                           ("word counts", word_counts)):
        hashes = {d.id: simhash(features(d.text)) for d in docs}
        for k in (3, 6, 10, 14):
            p, r, _, said = precision_recall(docs, lambda a, b: bin(hashes[a.id] ^ hashes[b.id]).count("1") <= k)
            print(f"simhash {name:<11}, Hamming <= {k:<2}  precision {p:.3f}  recall {r:.3f}  ({said} said)")
    words = re.compile(r"\w+")
    print(f"(texts: {min(len(words.findall(d.text)) for d in docs)}-{max(len(words.findall(d.text)) for d in docs)} words)")


if __name__ == "__main__":
    main()
