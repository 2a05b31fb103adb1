"""`citebot eval`: quality, refusals, dates and latency at one or more archive sizes."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from .common import app, fail, retriever_or_exit, settings_or_exit, warn

def _sizes(text: str) -> list[int | None]:
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("all", ""):
            out.append(None)
        elif part.isdigit():
            out.append(int(part))
        else:
            raise typer.BadParameter(f"'{part}' is not a number of distractor articles or 'all'")
    return out


@app.command("eval")
def eval_(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A SQuAD-format JSON file: its "
                                      "articles are indexed, its questions asked."),
          questions: List[Path] = typer.Option([], "--questions", exists=True, dir_okay=False,
                                               help="More answerable questions over those articles (JSONL: "
                                                    "title, question, answer)."),
          translations: List[Path] = typer.Option([], "--translation", exists=True, dir_okay=False,
                                                  help="The file translated (SQuAD format, same question ids, "
                                                       "e.g. XQuAD): its articles are indexed too; its questions "
                                                       "are asked over them and over the original's."),
          asked_in: List[Path] = typer.Option([], "--asked-in", exists=True, dir_okay=False,
                                              help="The file translated (SQuAD format, same question ids): only "
                                                   "its questions, asked over the original's articles."),
          offtopic: List[Path] = typer.Option([], "--offtopic", exists=True, dir_okay=False,
                                              help="Questions to refuse (JSONL with question and kind, or one per "
                                                   "line; the repo's examples/eval/offtopic-*.jsonl)."),
          dates: List[Path] = typer.Option([], "--dates", exists=True, dir_okay=False,
                                           help="Date questions (JSONL), asked over the largest archive; "
                                                "each file is its own row."),
          distractors: List[Path] = typer.Option([], "--distractors", exists=True,
                                                 help="Article files/folders indexed beside the file's articles."),
          sizes: str = typer.Option("all", help="Distractor records to index from the JSONL distractor files, "
                                                "comma-separated: e.g. 0,2000,all (each size is its own index)."),
          as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
          rebuild: bool = typer.Option(False, "--rebuild", help="Build the cached evaluation indexes again."),
          limit: int = typer.Option(0, help="Ask only the first N questions of each set (0 = all)."),
          misses: Optional[Path] = typer.Option(None, help="Write missed and wrongly answered questions here (JSONL)."),
          features: Optional[Path] = typer.Option(None, help="Write each question's abstention evidence here "
                                                             "(JSONL, for bench/fit_abstention.py)."),
          fusion: Optional[str] = typer.Option(None, help="rrf | dense | bm25"),
          rerank: bool = typer.Option(True, help="Rerank candidates by their best sentence."),
          reader: Optional[bool] = typer.Option(None, "--reader/--no-reader",
                                                help="The reader stage (default: CITEBOT_READER)."),
          reader_top: Optional[int] = typer.Option(None, help="Candidates the reader reads."),
          reader_role: Optional[str] = typer.Option(None, "--reader-role",
                                                    help="decide | verify | rank: the reader orders, bolds and "
                                                    "decides; only decides whether the archive answers; or only "
                                                    "reorders (default: CITEBOT_READER on / verify / rank)."),
          reader_rank_weight: Optional[float] = typer.Option(None, help="rank: weight of the first-stage score "
                                                             "beside the reader's logit."),
          picker: Optional[str] = typer.Option(None, help="Best-sentence picker: hybrid | dense | lexical | first"),
          lexical_weight: Optional[float] = typer.Option(None, help="Weight of question-word overlap."),
          cue_weight: Optional[float] = typer.Option(None, help="Weight of the answer-type cue."),
          sentence_weight: Optional[float] = typer.Option(None, help="Weight of the best sentence in reranking."),
          dense_weight: Optional[float] = typer.Option(None, help="Weight of the dense ranking in fusion."),
          article_weight: Optional[float] = typer.Option(None, help="Weight of an article's support in reranking."),
          dense_candidates: Optional[int] = typer.Option(None, help="Dense candidates per question."),
          extract_chars: Optional[int] = typer.Option(None, help="Extract length budget."),
          rerank_depth: Optional[int] = typer.Option(None, help="Fused candidates scored by sentence."),
          min_confidence: Optional[float] = typer.Option(None, help="Abstention threshold (0-1).")) -> None:
    """Answer recall, highlights, article hits, refusals, dates and latency, at one or more archive sizes."""
    from citebot.index.encoders.factory import load_encoder
    from citebot.tools.evaluation import Recorder, archive_config, build_archive, run_sets
    from citebot.tools.question_sets import (QuestionSet, answerable_jsonl, date_questions, names_year,
                                             refusal_questions, squad_articles, translated_questions)
    from citebot.index.stores.base import IndexProblem

    settings = settings_or_exit()
    cfg = settings.index_config()
    try:
        records, squad = squad_articles(file)
    except (ValueError, KeyError) as e:
        fail(f"{file}: not a SQuAD-format file ({e})")
    cut = (lambda xs: xs[:limit]) if limit else (lambda xs: xs)
    sets = [QuestionSet(file.stem, "answerable", cut([q for q in squad if not q.impossible and q.answers])),
            QuestionSet(f"{file.stem} unanswerable", "refuse", cut([q.text for q in squad if q.impossible])),
            # a year in a question is often what it asks about, not when the answer was published
            QuestionSet(f"{file.stem} naming a year", "answerable",
                        cut([q for q in squad if not q.impossible and q.answers and names_year(q.text)]))]
    for path in questions:
        sets.append(QuestionSet(path.stem, "answerable", cut(answerable_jsonl(path))))
    for path in translations:  # (a cross-language answer is found when the original's span is quoted)
        try:
            arts, own = squad_articles(path, id_prefix=f"{path.stem}/")
            cross = translated_questions(path, file)
        except (ValueError, KeyError) as e:
            fail(f"{path}: not a SQuAD-format translation of {file.name} ({e})")
        records += arts
        sets.append(QuestionSet(f"{path.stem} over its own articles", "answerable",
                                cut([q for q in own if not q.impossible and q.answers])))
        sets.append(QuestionSet(f"{path.stem} over {file.stem}", "answerable", cut(cross)))
        # the archive holds both: a passage in either language that quotes the answer answers
        sets.append(QuestionSet(f"{path.stem} over both", "answerable",
                                cut(translated_questions(path, file, own_answers=True))))
    for path in asked_in:
        try:
            sets.append(QuestionSet(f"{path.stem} over {file.stem} alone", "answerable",
                                    cut(translated_questions(path, file))))
        except (ValueError, KeyError) as e:
            fail(f"{path}: not a SQuAD-format translation of {file.name} ({e})")
    for path in offtopic:
        for kind, qs in refusal_questions(path).items():
            sets.append(QuestionSet(f"{path.stem}: {kind}", "refuse", cut(qs)))
    date_sets = [QuestionSet(path.stem, "dates", cut(date_questions(path))) for path in dates]
    overrides = {k: v for k, v in dict(fusion=fusion, rerank=rerank, picker=picker, lexical_weight=lexical_weight,
                                       cue_weight=cue_weight, sentence_weight=sentence_weight,
                                       dense_weight=dense_weight, article_weight=article_weight,
                                       dense_candidates=dense_candidates,
                                       extract_chars=extract_chars, rerank_depth=rerank_depth,
                                       min_confidence=min_confidence, reader=reader,
                                       reader_top=reader_top, reader_role=reader_role,
                                       reader_rank_weight=reader_rank_weight).items() if v is not None}
    from citebot.index.answer import AnswerConfig

    try:
        AnswerConfig(**overrides)  # a mistyped mode is said before minutes of indexing
    except ValueError as e:
        fail(str(e))
    encoder = load_encoder(cfg.model, cfg.dtype)
    table: dict[str, dict] = {}
    all_misses: list[dict] = []
    all_features: list[dict] = []
    size_list = _sizes(sizes) if distractors else [0]
    for i, size in enumerate(size_list):
        try:
            index_dir, sources = build_archive(Path("data") / "eval-cache", records, distractors, size, cfg,
                                               encoder, warn, on_build=lambda m: typer.echo(m, err=True),
                                               rebuild=rebuild)
        except IndexProblem as e:
            fail(str(e))
        arch = archive_config(cfg, index_dir)
        retriever = retriever_or_exit(settings.model_copy(update={
            "index_dir": index_dir, "qdrant_collection": arch.qdrant.collection, "qdrant_path": arch.qdrant.path}),
            k=5, **overrides)
        label = f"{retriever.reader().manifest['articles']:,} articles"
        rec = Recorder(retriever, sources=sources, as_of=settings.as_of)
        run = sets + (date_sets if i == len(size_list) - 1 else [])
        results, missed = run_sets(rec, run)
        table[label] = results
        all_misses += [{"size": label, **m} for m in missed]
        all_features += [{"size": label, **f} for f in rec.evidence]
    if misses:
        misses.write_text("\n".join(json.dumps(m, ensure_ascii=False) for m in all_misses), encoding="utf-8")
    if features:
        features.write_text("\n".join(json.dumps(f, ensure_ascii=False) for f in all_features), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(table))
        return
    from ..render import eval_table

    eval_table(table, f"citebot eval: {file.name}")
