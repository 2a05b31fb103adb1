"""The open reading-comprehension sets the reader learns from: where each file comes from (public
repository, commit, path), its SHA-256 and licence, and its conversion into `raw/qa.jsonl` (one
question a line: id, title, context, question, answers with offsets, impossible).

The files are not downloaded here (citebot never fetches data at run time): put each one, from
its repository at the recorded commit, in data/reader/raw/ under the name given, then run
`make reader-data`. A file whose bytes differ from the recorded SHA-256 stops the run.

SQuAD *train* only: SQuAD dev (v1.1 and v2.0, the source of XQuAD) is evaluation data, and every
dev article title is refused here whatever file it turns up in.
"""
from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OpenSet:
    name: str         # the prefix of its question ids in qa.jsonl ('squad' ids stay as they are)
    repo: str
    commit: str
    path: str
    sha256: str
    licence: str

    @property
    def file(self) -> str:
        return f"{self.repo.replace('/', '__')}__{self.path.replace('/', '__')}"


SETS = (
    OpenSet("squad", "PhongNTDo/guide_train_MRC_transformers", "f626fe886397c8c6b71fdb453707a1522b5c52dd",
            "train-v2.0.json", "53e67dd96e8597a8ef600e795d54d3fdef18486d42721884d38d652e2a2638cb",
            "CC BY-SA 4.0 (SQuAD 2.0 train, its first 10 articles)"),
    OpenSet("squadshifts-new_wiki", "albertvillanova/squadshifts-website", "016d41ce7fee5a818b68ecf5cbabb0a86291ceef",
            "datasets/new_wiki_v1.0.json", "1d50a0ca4cdab88d038b52ea8a2d0510af6038d7f41a0a256b9659237769d0ee",
            "CC BY 4.0 (SQuADShifts, Miller et al. 2020, per its dataset card)"),
    OpenSet("squadshifts-reddit", "albertvillanova/squadshifts-website", "016d41ce7fee5a818b68ecf5cbabb0a86291ceef",
            "datasets/reddit_v1.0.json",
            "b4ac346dbf1816fdec80fdcf91d06a4b754fa51e47960fa8614a94f37ea42a4b",
            "CC BY 4.0 (SQuADShifts; the comments under Reddit's terms)"),
    OpenSet("squadshifts-amazon", "albertvillanova/squadshifts-website", "016d41ce7fee5a818b68ecf5cbabb0a86291ceef",
            "datasets/amazon_reviews_v1.0.json",
            "9db7bdee84a91f0fb80b9e74f365042fbbb217cb8e0a7e73bb071245472589b6",
            "CC BY 4.0 (SQuADShifts; the reviews under their source's terms)"),
    OpenSet("covidqa", "deepset-ai/COVID-QA", "471a9d888160b9e5c33f8e42e2a34c1eb4866766",
            "data/question-answering/200423_covidQA.json",
            "ab310b4e39f726e087c8fa3d1787c73771dacddc584977204ebe3cc889ee1264",
            "Apache-2.0 (COVID-QA; contexts are CORD-19 papers)"),
)

# SQuAD v1.1 dev titles (v2.0 dev and XQuAD come from them): never training text
DEV_TITLES = frozenset("""Super_Bowl_50 Warsaw Normans Nikola_Tesla Computational_complexity_theory Teacher
Martin_Luther Southern_California Sky_(United_Kingdom) Victoria_(Australia) Huguenot Steam_engine Oxygen
1973_oil_crisis Apollo_program European_Union_law Amazon_rainforest Ctenophora Fresno,_California
Packet_switching Black_Death Geology Newcastle_upon_Tyne Victoria_and_Albert_Museum American_Broadcasting_Company
Genghis_Khan Pharmacy Immune_system Civil_disobedience Construction Private_school Harvard_University
Jacksonville,_Florida Economic_inequality Doctor_Who University_of_Chicago Yuan_dynasty Kenya
Intergovernmental_Panel_on_Climate_Change Chloroplast Prime_number Rhine Scottish_Parliament Islamism Imperialism
United_Methodist_Church French_and_Indian_War Force""".split())


def parse(data: bytes) -> dict:
    """SQuAD-format JSON; some public copies are a Python repr of it (single quotes)."""
    text = data.decode("utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return ast.literal_eval(text)


def questions(s: OpenSet, data: dict):
    """(id, title, context, question, answers, impossible) for each question whose answers sit at
    their offsets (an answer with stray spaces is trimmed when the trimmed text sits there)."""
    for art in data["data"]:
        for par in art["paragraphs"]:
            title = art.get("title") or f"{s.name}-{par.get('document_id', '')}"
            if title in DEV_TITLES:
                continue
            ctx = par["context"]
            for q in par["qas"]:
                impossible = bool(q.get("is_impossible", False))
                answers = []
                for a in q.get("answers", []):
                    start, t = a.get("answer_start"), a.get("text", "")
                    if not isinstance(start, int) or not t.strip():
                        continue
                    if ctx[start:start + len(t)] != t:
                        t = t.strip()
                        if ctx[start:start + len(t)] != t:
                            continue
                    if {"text": t, "answer_start": start} not in answers:
                        answers.append({"text": t, "answer_start": start})
                if impossible or answers:
                    qid = str(q["id"]) if s.name == "squad" else f"{s.name}:{q['id']}"
                    yield qid, title, ctx, q["question"], answers, impossible


def convert(raw: Path) -> dict[str, int]:
    """raw/<files> -> raw/qa.jsonl, deduplicated by id and by (question, context). Returns counts."""
    seen_ids: set[str] = set()
    seen_pairs: set[tuple[str, str]] = set()
    counts: dict[str, int] = {}
    raw.mkdir(parents=True, exist_ok=True)
    with (raw / "qa.jsonl").open("w", encoding="utf-8") as out:
        for s in SETS:
            f = raw / s.file
            if not f.exists():
                print(f"missing {f.name}: {s.repo}@{s.commit}:{s.path} ({s.licence}); skipped")
                continue
            data = f.read_bytes()
            if s.sha256 and hashlib.sha256(data).hexdigest() != s.sha256:
                raise ValueError(f"{f} is not the recorded file (SHA-256 differs): fetch {s.repo}@{s.commit}:{s.path}")
            for qid, title, ctx, question, answers, impossible in questions(s, parse(data)):
                key = (question.strip(), ctx)
                if qid in seen_ids or key in seen_pairs:
                    continue
                seen_ids.add(qid)
                seen_pairs.add(key)
                counts[s.name] = counts.get(s.name, 0) + 1
                out.write(json.dumps({"id": qid, "title": title, "context": ctx, "question": question,
                                      "answers": answers, "impossible": impossible, "source": s.repo},
                                     ensure_ascii=False) + "\n")
    return counts


# -- sources ---------------------------------------------------------------------------------
def dataset_of(question_id: str) -> str:
    """'squad', or the prefix raw/qa.jsonl gives other sets' ids ('squadshifts-reddit:…')."""
    return question_id.split(":", 1)[0] if ":" in question_id else "squad"
