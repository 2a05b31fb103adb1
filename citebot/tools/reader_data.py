"""The reader's training data, assembled from open sources (`make reader-data`; written under
data/reader/, never committed).

Recipe:
1. Open reading-comprehension sets (sources.py names each file's repository, commit, path,
   SHA-256 and licence): a SQuAD 2.0 *train* slice with its unanswerable questions, SQuADShifts'
   Wikipedia, Reddit and Amazon sets, COVID-QA; converted to `raw/qa.jsonl`. Each answerable question
   gives a positive passage (a chunk-sized, sentence-
   aligned window holding the answer) and a negative from the same article that does not hold it;
   each unanswerable one a negative from its own paragraph (SQuAD 2.0's near misses).
2. Near misses made by rule: a year, figure or name of a question that its passage states is
   swapped for another (so "the 2024 election" is not answered from 2004).
3. Wikinews (CC BY 2.5, the archive the evaluation indexes beside its questions): headline ->
   lead as a news-style positive; only articles of the training split (by article id, see
   `wikinews_split`) and never one a date question asks about.
4. Hard negatives: for each question, the passages of *other* articles that a lexical search over
   the whole pool ranks first (TF-IDF), and, when an archive is given, those citebot's own answer
   path ranks first (`mine_archive`): exactly the confusions of a large archive.

Evaluation data never feeds training: no SQuAD dev or XQuAD paragraph may appear in the output
(`check_no_eval_text` fails the run otherwise; a test checks it on the written file).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from pathlib import Path
from typing import Iterator


from ..index.text.sentences import sentence_spans
from .reader_examples import Example, check_no_eval_text, eval_paragraphs, passage, window_holding, windows, write
from .reader_sources import dataset_of
from .reader_mixes import is_natural, natural_weighted, news_weighted
from .reader_negatives import date_question_articles, largest_index, lexical_negatives, mine_archive

EVAL_TITLES = {"Normans", "Computational_complexity_theory", "Southern_California", "Sky_(United_Kingdom)",
               "Victoria_(Australia)"}
_YEAR = re.compile(r"\b(1[5-9]\d\d|20[0-3]\d)\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")


def squad_examples(path: Path, rng: random.Random, caps: dict[str, int] | None = None) -> Iterator[Example]:
    """SQuAD-format train questions (raw/qa.jsonl): positives, same-article negatives and
    SQuAD 2.0's unanswerable questions. `caps`: at most this many questions of a data set (the
    review and forum sets are far from news; a sample of them is enough)."""
    by_title: dict[str, list[dict]] = {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["title"] not in EVAL_TITLES]
    rng.shuffle(rows)
    taken: dict[str, int] = {}
    kept = []
    for r in rows:
        ds = dataset_of(r["id"])
        if caps and ds in caps and taken.get(ds, 0) >= caps[ds]:
            continue
        taken[ds] = taken.get(ds, 0) + 1
        kept.append(r)
    rows = kept
    for r in rows:
        by_title.setdefault(r["title"], []).append(r)
    spans_of: dict[str, list[tuple[int, int]]] = {}
    for title, qs in by_title.items():
        contexts = list(dict.fromkeys(r["context"] for r in qs))
        for c in contexts:
            if c not in spans_of:
                spans_of[c] = sentence_spans(c, "en")
        for r in qs:
            c = r["context"]
            spans = spans_of[c]
            others = [o for o in contexts if o != c]
            if r.get("impossible"):
                i, j = rng.choice(windows(c, spans))
                t, sp = passage(c, spans, i, j)
                yield Example(r["question"], title, t, sp, 0, kind="squad-impossible", article=title)
                continue
            ans = r["answers"][0]
            got = window_holding(c, spans, ans["answer_start"], rng)
            if got is None:
                continue
            t, sp, k, off = got
            a, b = ans["answer_start"] - off, ans["answer_start"] - off + len(ans["text"])
            if t[a:b] != ans["text"]:
                continue
            yield Example(r["question"], title, t, sp, 1, k, (a, b), "squad", title)
            if others and rng.random() < 0.5:  # the same article, another paragraph: on the subject, not the answer
                o = rng.choice(others)
                i, j = rng.choice(windows(o, spans_of[o]))
                t2, sp2 = passage(o, spans_of[o], i, j)
                if ans["text"].lower() not in t2.lower():
                    yield Example(r["question"], title, t2, sp2, 0, kind="squad-same-article", article=title)
            swapped = swap(r["question"], t, rng)
            if swapped and rng.random() < 0.5:
                yield Example(swapped, title, t, sp, 0, kind="swap", article=title)


def swap(question: str, text: str, rng: random.Random) -> str | None:
    """The question with one year, figure or name that the passage states changed for one it does
    not state: a near miss the passage cannot answer."""
    for pattern, make in ((_YEAR, lambda y: str(int(y) + rng.choice([-20, -10, -4, -2, -1, 1, 2, 3, 10]))),
                          (_NUMBER, lambda n: n.replace(n[0], str((int(n[0]) + rng.randint(1, 8)) % 10 or 1), 1)),
                          (_NAME, None)):
        found = [m for m in pattern.finditer(question) if m.group(0) in text and m.start() > 0]
        if not found:
            continue
        m = rng.choice(found)
        if make is None:
            return None  # names are swapped across articles (swap_names), which know other names
        new = make(m.group(0))
        if new in text:
            continue
        return question[:m.start()] + new + question[m.end():]
    return None


def wikinews_split(article_id: str) -> str:
    """'train' or 'heldout' by a hash of the article id: a fifth is never trained on."""
    return "heldout" if int(hashlib.sha1(article_id.encode()).hexdigest(), 16) % 5 == 0 else "train"


# Questions made from a news sentence by rule: the asked-for part becomes its wh-word in place
# ("Skylark Air has ordered how many new jets?"). Clumsy English, but a real question about a news
# passage: without them every (question, news passage) pair the reader saw was a negative (the
# archive's hard negatives), and it learned that a news story never answers a question.
_ASK = (
    (re.compile(r"(?:£|\$|€)\s?\d[\d,.]*(?:\s?(?:million|billion|bn|m|thousand))?"), "how much"),
    (re.compile(r"\b\d[\d,.]*(?:\s(?:million|billion|thousand))?(?=\s+[a-z]+)"), "how many"),
    (re.compile(r"\b(?:on|in)\s+(?:(?:January|February|March|April|May|June|July|August|September|October|"
                r"November|December)(?:\s+\d{1,2})?,?\s+)?(?:1[89]\d\d|20[0-2]\d)\b"), "when"),
    (re.compile(r"^(?:[A-Z][a-z]+\s){2,3}(?=(?:said|announced|told|has|had|was|is|will|won|became)\b)"), "who "),
)


def question_from(sentence: str, rng: random.Random) -> tuple[str, tuple[int, int]] | None:
    """A wh-question made from one sentence, and the span (in the sentence) of what it asks for."""
    s = sentence.strip()
    if not (40 <= len(s) <= 220) or s.endswith("?") or '"' in s:
        return None
    options = [(m, wh) for pattern, wh in _ASK for m in pattern.finditer(s)]
    if not options:
        return None
    m, wh = rng.choice(options)
    q = (s[:m.start()] + wh + s[m.end():]).rstrip(" .!") + "?"
    q = q[0].upper() + q[1:]
    return re.sub(r"\s+", " ", q), (m.start(), m.end())


def wikinews_questions(path: Path, exclude: set[str], rng: random.Random, limit: int) -> Iterator[Example]:
    """Rule-made questions over Wikinews passages of the training split: the passage that holds
    the sentence answers (its sentence in bold), a window of the same article that lacks it does
    not, nor does the same passage when the question's year or figure is changed."""
    n = 0
    for line in path.open(encoding="utf-8"):
        r = json.loads(line)
        if r["id"] in exclude or wikinews_split(r["id"]) != "train" or len(r["text"]) < 600:
            continue
        if rng.random() < 0.5:
            continue
        text = r["text"][:6000]
        spans = sentence_spans(text, "en")
        ws = windows(text, spans)
        if len(ws) < 2:
            continue
        i, j = rng.choice(ws)
        k = rng.randrange(i, j)
        made = question_from(text[spans[k][0]:spans[k][1]], rng)
        if made is None:
            continue
        q, (a, b) = made
        t, sp = passage(text, spans, i, j)
        off = spans[i][0]
        start = spans[k][0] - off
        yield Example(q, r["title"], t, sp, 1, k - i, (start + a, start + b), "wikinews-question", r["id"],
                      r.get("published"))
        others = [(x, y) for x, y in ws if not x <= k < y]
        if others:
            x, y = rng.choice(others)
            t2, sp2 = passage(text, spans, x, y)
            yield Example(q, r["title"], t2, sp2, 0, kind="wikinews-question-other", article=r["id"],
                          date=r.get("published"))
        swapped = swap(q, t, rng)
        if swapped:
            yield Example(swapped, r["title"], t, sp, 0, kind="wikinews-question-swap", article=r["id"],
                          date=r.get("published"))
        n += 1
        if n >= limit:
            break


def wikinews_examples(path: Path, exclude: set[str], rng: random.Random, limit: int) -> Iterator[Example]:
    """Headline -> lead: the headline as the question, the article's first window as the answer."""
    n = 0
    for line in path.open(encoding="utf-8"):
        r = json.loads(line)
        if r["id"] in exclude or wikinews_split(r["id"]) != "train" or len(r["text"]) < 300:
            continue
        text = r["text"]
        spans = sentence_spans(text[:2000], "en")
        if len(spans) < 2:
            continue
        i, j = windows(text, spans)[0]
        t, sp = passage(text, spans, i, j)
        # the title goes in as the question, so the passage's header must not give it away
        yield Example(r["title"], "", t, sp, 1, 0, None, "wikinews-lead", r["id"], r.get("published"))
        swapped = swap(r["title"], t, rng)
        if swapped:
            yield Example(swapped, "", t, sp, 0, kind="wikinews-swap", article=r["id"], date=r.get("published"))
        n += 1
        if n >= limit:
            break


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Assemble the reader's training data under data/reader/.")
    ap.add_argument("--raw", type=Path, default=Path("data/reader/raw"))
    ap.add_argument("--eval-data", type=Path, default=Path("../shared/eval"))
    ap.add_argument("--examples", type=Path, default=Path("examples/eval"))
    ap.add_argument("--out", type=Path, default=Path("data/reader"))
    ap.add_argument("--wikinews", type=int, default=6000, help="headline/lead articles to use")
    ap.add_argument("--wikinews-questions", type=int, default=5000, help="articles to make a question from")
    ap.add_argument("--cap", action="append", default=["squadshifts-reddit=3000", "squadshifts-amazon=3000"],
                    help="DATASET=N: at most N questions of that data set of raw/qa.jsonl")
    ap.add_argument("--hard", type=int, default=1, help="lexical hard negatives per positive")
    ap.add_argument("--archive", type=Path, help="an index of the Wikinews archive to mine hard negatives from")
    ap.add_argument("--archive-from", type=Path, help="...or the largest index under this folder (make eval's cache)")
    ap.add_argument("--archive-model", default="all-MiniLM-L6-v2")
    ap.add_argument("--archive-questions", type=int, default=8000)
    ap.add_argument("--natural", type=Path, help="a reader-data folder of natural question sets (reader_natural.py)")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    examples: list[Example] = []
    qa = args.raw / "qa.jsonl"
    if not qa.exists():
        from .reader_sources import convert

        print(f"open QA sets converted: {convert(args.raw)}")
    if qa.exists():
        caps = {k: int(v) for k, v in (c.split("=", 1) for c in args.cap)}
        examples += list(squad_examples(qa, rng, caps))
    natural_used: dict = {}
    if args.natural is not None and (args.natural / "SHA256SUMS").exists():
        from .reader_natural import natural_examples

        made, natural_used = natural_examples(args.natural, rng)
        examples += made
        print(f"natural question sets: {json.dumps(natural_used)}")
    elif args.natural is not None:
        print(f"no natural question sets in {args.natural} (SHA256SUMS missing); skipped")
    wikinews = args.eval_data / "wikinews-en.jsonl"
    if wikinews.exists():
        held = date_question_articles(args.examples)
        examples += list(wikinews_examples(wikinews, held, rng, args.wikinews))
        examples += list(wikinews_questions(wikinews, held, rng, args.wikinews_questions))
    examples += lexical_negatives(examples, args.hard, rng)
    if args.archive is None and args.archive_from is not None:
        args.archive = largest_index(args.archive_from)
    if args.archive:
        held = date_question_articles(args.examples)
        ok = (lambda a: a.startswith("enwikinews-") and wikinews_split(a) == "train" and a not in held)
        examples += mine_archive(args.archive, args.archive_model, examples, 1, args.archive_questions, ok, rng,
                                 kinds=("squad", "nq"))
    check_no_eval_text(examples, eval_paragraphs(args.eval_data))
    # validation: whole articles apart from training
    articles = sorted({e.article for e in examples})
    rng.shuffle(articles)
    valid_articles = set(articles[:max(1, len(articles) // 20)])
    train = [e for e in examples if e.article not in valid_articles]
    valid = [e for e in examples if e.article in valid_articles]
    rng.shuffle(train)
    # the first three stages learn from what they learned from before; the natural sets are stage 4's
    write([e for e in train if not is_natural(e)], args.out / "train.jsonl")
    write(valid, args.out / "valid.jsonl")
    write(news_weighted([e for e in train if not is_natural(e)], rng), args.out / "news" / "train.jsonl")
    write(valid, args.out / "news" / "valid.jsonl")
    write(natural_weighted(train, rng), args.out / "natural" / "train.jsonl")
    write(valid, args.out / "natural" / "valid.jsonl")
    kinds: dict[str, int] = {}
    for e in examples:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    summary = {"train": len(train), "valid": len(valid), "kinds": kinds,
               "positives": sum(e.label for e in examples), "seed": args.seed, "natural_sets": natural_used}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    (args.out / "natural" / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
