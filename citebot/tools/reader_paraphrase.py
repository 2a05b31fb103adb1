"""Questions reworded with WordNet synonyms, for teaching the reader that an answer may be asked in
other words than the article's.

Why: the reader, trained on reading-comprehension questions that share most of their words with the
answer, scores a question asked in other words ("the seafaring forebears of the Normans" for
"Norse raiders") like a passage that lacks the fact. Here a question's words that its answering
passage also uses are swapped for a synonym of their most frequent sense (WordNet 3.0, Princeton's
licence: use, copy and modify for any purpose with its notice kept), so the pair keeps its meaning
and loses its shared words. The same reworded question is also paired with the passages that do
*not* answer it (the same paragraph less its answer, the same article elsewhere), so rewording
alone never marks an answer: the reader has to find the fact.

WordNet is read in place from a folder of its database files (`index.noun`, `data.noun`, …; on
Debian the package `wordnet-base` puts them in /usr/share/wordnet); nothing is copied into the repo.
"""
from __future__ import annotations

import random
import re
from pathlib import Path

WORDNET = Path("/usr/share/wordnet")
POS = ("noun", "verb", "adj")
MIN_TAGGED = 3  # a word tagged fewer times in WordNet's corpus has no reliable most frequent sense
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
# words never swapped: what a question is made of rather than what it asks about
FUNCTION_WORDS = frozenset("""
a an the and or but nor of in on at to for from by with about into onto over under after before
since until during through between among against without within upon off out up down as than
who whom whose what which when where why how whether if that this these those there here it its
is are was were be been being am do does did done doing have has had having will would shall
should can could may might must not no yes any some many much more most few less least all each
every both either neither other another such same own very so too also just only even still yet
he she they we you i me him her them us my your our their his hers theirs one ones first last
name named called call kind type part number year years time times people person thing things
take took taken make made get got give gave go went come came become became use used say said
new old big small high low long short good well way day days
""".split())


class WordNet:
    """The most frequent sense of a word in each part of speech, and its synonyms."""

    def __init__(self, folder: Path = WORDNET):
        self.first: dict[str, dict[str, str]] = {p: {} for p in POS}   # pos → lemma → offset
        self.tagged: dict[str, dict[str, int]] = {p: {} for p in POS}  # pos → lemma → tagged sense count
        self.exceptions: dict[str, dict[str, str]] = {p: {} for p in POS}
        # pos → lemma → [times its most frequent sense was tagged, times any of its senses was]
        self.counts: dict[str, dict[str, list[int]]] = {p: {} for p in POS}
        kinds = {"1": "noun", "2": "verb", "3": "adj", "5": "adj"}
        for line in (folder / "cntlist.rev").read_text(encoding="latin-1").splitlines():
            f = line.split()
            if len(f) != 3 or "%" not in f[0]:
                continue
            lemma, rest = f[0].split("%", 1)
            pos = kinds.get(rest[:1])
            if pos:
                c = self.counts[pos].setdefault(lemma, [0, 0])
                c[1] += int(f[2])
                if f[1] == "1":
                    c[0] += int(f[2])
        self.synsets: dict[str, dict[str, tuple[str, ...]]] = {p: {} for p in POS}
        for pos in POS:
            for line in (folder / f"index.{pos}").read_text(encoding="latin-1").splitlines():
                f = line.split()
                if line.startswith(" ") or len(f) < 6:
                    continue
                p_cnt = int(f[3])
                tagsense = int(f[5 + p_cnt])
                offsets = f[6 + p_cnt:]
                if offsets:
                    self.first[pos][f[0]] = offsets[0]
                    self.tagged[pos][f[0]] = tagsense
            for line in (folder / f"data.{pos}").read_text(encoding="latin-1").splitlines():
                f = line.split()
                if line.startswith(" ") or len(f) < 5:
                    continue
                n = int(f[3], 16)
                self.synsets[pos][f[0]] = tuple(f[4 + 2 * i] for i in range(n))
            exc = folder / f"{pos}.exc"
            if exc.exists():
                for line in exc.read_text(encoding="latin-1").splitlines():
                    f = line.split()
                    if len(f) >= 2:
                        self.exceptions[pos][f[0]] = f[1]

    def base_forms(self, word: str, pos: str) -> list[tuple[str, str]]:
        """(base form, the ending to put back on a synonym) for an inflected word."""
        out = [(word, "")]
        if word in self.exceptions[pos]:
            out.append((self.exceptions[pos][word], "?"))
        if pos == "noun":
            if word.endswith("ies"):
                out.append((word[:-3] + "y", "s"))
            if word.endswith("es"):
                out.append((word[:-2], "s"))
            if word.endswith("s") and not word.endswith("ss"):
                out.append((word[:-1], "s"))
        elif pos == "verb":
            for end in ("ing", "ed"):
                if word.endswith(end):
                    stem = word[:-len(end)]
                    out += [(stem, end), (stem + "e", end)]
            if word.endswith("s"):
                out.append((word[:-1], "s"))
        return out

    def synonyms(self, word: str) -> list[str]:
        """Synonyms of the word's most frequent sense, in the part of speech it is most often
        tagged with — only where that sense is at least half of the word's tagged uses, and only
        synonyms whose own most frequent sense is the same (so "plane" never becomes "shave")."""
        best = None
        for pos in POS:
            for base, ending in self.base_forms(word, pos):
                if base in self.first[pos]:
                    first, total = self.counts[pos].get(base, [0, 0])
                    if best is None or total > best[0]:
                        best = (total, first, pos, base, ending)
                    break
        if best is None or best[0] < MIN_TAGGED or best[1] * 2 < best[0]:
            return []
        _, _, pos, base, ending = best
        off = self.first[pos][base]
        out = []
        for lemma in self.synsets[pos].get(off, ()):
            key = re.sub(r"\(.*\)$", "", lemma).lower()
            if key == base or base in key or not lemma[:1].islower() or self.first[pos].get(key) != off:
                continue
            s = inflect(key.replace("_", " "), pos, ending)
            if s:
                out.append(s)
        return out


def inflect(lemma: str, pos: str, ending: str) -> str:
    if ending == "?":
        return ""  # an irregular form: a regular ending on the synonym would be a guess
    if not ending:
        return lemma
    words = lemma.split(" ")
    i = len(words) - 1 if pos == "noun" else 0
    w = words[i]
    if ending == "s":
        w = w[:-1] + "ies" if w.endswith("y") and w[-2:-1] not in "aeiou" else \
            w + "es" if w.endswith(("s", "x", "z", "ch", "sh")) else w + "s"
    elif ending == "ed":
        w = w + "d" if w.endswith("e") else w + "ed"
    elif ending == "ing":
        w = (w[:-1] if w.endswith("e") and not w.endswith("ee") else w) + "ing"
    words[i] = w
    return " ".join(words)


def reword(question: str, passage: str, wn: WordNet, rng: random.Random, most: int = 3) -> str | None:
    """The question with up to `most` of the words it shares with `passage` swapped for a
    synonym the passage does not use; None where no word could be swapped."""
    seen = {w.lower() for w in WORD.findall(passage)}
    spots = []
    for m in WORD.finditer(question):
        w = m.group(0)
        low = w.lower()
        if not w[:1].islower() or len(low) < 3 or low in FUNCTION_WORDS or low not in seen:
            continue
        options = [s for s in wn.synonyms(low) if s.lower() not in seen]
        if options:
            spots.append((m.start(), m.end(), options))
    if not spots:
        return None
    chosen = sorted(rng.sample(spots, min(len(spots), rng.randint(1, most))))
    out, at = [], 0
    for a, b, options in chosen:
        out += [question[at:a], rng.choice(options[:3])]
        at = b
    out.append(question[at:])
    return "".join(out)


def reworded_copies(examples: list[dict], wn: WordNet, rng: random.Random, limit: int) -> list[dict]:
    """For questions with an answering example: every example of the question again, asked in
    the reworded question (reworded against the answering passage), up to `limit` examples."""
    by_question: dict[str, list[dict]] = {}
    for ex in examples:
        by_question.setdefault(ex["question"], []).append(ex)
    questions = [q for q, exs in by_question.items() if any(e["label"] == 1 for e in exs)]
    rng.shuffle(questions)
    out: list[dict] = []
    for q in questions:
        exs = by_question[q]
        if len(exs) < 2:  # a reworded positive with no negative beside it would teach "reworded = answer"
            continue
        positive = next(e for e in exs if e["label"] == 1)
        new = reword(q, positive["text"], wn, rng)
        if new is None or new == q:
            continue
        out += [{**e, "question": new, "kind": e["kind"] + "-reworded"} for e in exs]
        if len(out) >= limit:
            break
    return out


def main() -> None:
    import argparse
    import json

    ap = argparse.ArgumentParser(description="A training mix with reworded questions beside the originals.")
    ap.add_argument("--data", type=Path, default=Path("data/reader/natural"), help="the mix to reword (train.jsonl, valid.jsonl)")
    ap.add_argument("--out", type=Path, default=Path("data/reader/reworded"))
    ap.add_argument("--wordnet", type=Path, default=WORDNET)
    ap.add_argument("--reworded", type=int, default=18000, help="reworded examples to add")
    ap.add_argument("--originals", type=int, default=27000, help="examples of the mix to keep beside them")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    if not (args.wordnet / "index.noun").exists():
        raise SystemExit(f"no WordNet database in {args.wordnet} (Debian: apt-get install wordnet-base)")
    rng = random.Random(args.seed)
    examples = [json.loads(line) for line in (args.data / "train.jsonl").read_text(encoding="utf-8").splitlines() if line]
    reworded = reworded_copies(examples, WordNet(args.wordnet), rng, args.reworded)
    kept = rng.sample(examples, min(args.originals, len(examples)))
    mix = kept + reworded
    rng.shuffle(mix)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "train.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in mix), encoding="utf-8")
    (args.out / "valid.jsonl").write_text((args.data / "valid.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    kinds: dict[str, int] = {}
    for e in reworded:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    summary = {"train": len(mix), "originals": len(kept), "reworded": len(reworded),
               "reworded_positives": sum(e["label"] for e in reworded), "kinds": kinds,
               "from": str(args.data), "wordnet": "WordNet 3.0 (Princeton; its licence: use with the notice kept)",
               "seed": args.seed}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
