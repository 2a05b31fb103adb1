"""What the answer stages pass each other: settings with their modes as enums, a candidate chunk
as it is scored, the period a question names, and the answer front ends render."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..records import Hit
from ..stores.base import ChunkRow


class Fusion(str, Enum):
    """How the dense and lexical candidate lists become one."""
    RRF = "rrf"            # reciprocal rank fusion, the two lists weighted by `dense_weight`
    DENSE = "dense"        # dense candidates only
    BM25 = "bm25"          # lexical candidates only


class Picker(str, Enum):
    """How the best sentence of a chunk is chosen."""
    HYBRID = "hybrid"      # cosine in context + rarity-weighted word overlap + answer-type cue
    DENSE = "dense"
    LEXICAL = "lexical"
    FIRST = "first"


class ReaderRole(str, Enum):
    """What the reader stage (read.py) does with what it reads."""
    DECIDE = "decide"      # orders the candidates, picks the bold sentence and decides whether the archive answers
    VERIFY = "verify"      # only decides whether the archive answers; the first stage's order and bold stand
    RANK = "rank"          # only orders (its logit beside the first-stage score); the first stage bolds and decides


def _enum(kind: type[Enum], value: object, name: str) -> Enum:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise ValueError(f"unknown {name} '{value}' (use {allowed})") from None


@dataclass(frozen=True)
class AnswerConfig:
    k: int = 3
    candidates: int = 40          # lexical candidates
    dense_candidates: int = 80    # dense candidates: a paraphrase shares few words, so dense must reach deep
    rerank_depth: int = 30        # fused candidates whose sentences are scored
    fusion: Fusion = Fusion.RRF
    rrf_k: int = 60
    dense_weight: float = 1.0     # weight of the dense ranking in fusion (lexical: 1)
    rerank: bool = True
    picker: Picker = Picker.HYBRID
    lexical_weight: float = 0.7   # weight of question-word overlap beside cosine, for sentences
    cue_weight: float = 0.15      # weight of the answer-type cue (a number for "how much", ...) when ranking
    highlight_cue_weight: float = 0.5  # ...and when choosing the sentence in bold: the one that holds the answer
    sentence_weight: float = 2.0  # weight of the best sentence beside the chunk, when reranking
    article_weight: float = 0.3   # weight of the article's support: its other chunks among the dense candidates
    extract_chars: int = 700      # sentences around the best one are added up to this length
    min_confidence: float | None = None  # abstention threshold; None = the fitted model's own
    relative_floor: float = 0.65  # a later hit under this share of the best is noise (served recall unchanged at 12,641 articles)
    sure_confidence: float = 0.5  # an answer under this confidence is shown with a caution
    period_gap: float = 0.1       # a story outside the asked period this much closer (chunk cosine) than any
                                  # inside it: only a sure in-period answer is given (see pipeline.outside_period)
    reader: bool = True           # the reader stage (read.py), in `reader_role`; off: the first stage does everything
    reader_top: int = 4           # candidates the reader reads (~10 ms each on 2 cores, int8): at 12,641 articles 4
                                  # answered as well as 8 (SQuAD r@1 0.868 vs 0.850) in half the time (median 75 ms)
    reader_dir: str | None = None  # another reader model folder (None: the one shipped with citebot)
    reader_role: ReaderRole = ReaderRole.RANK  # what the reader does with what it reads: rank, the one role that
                                  # is no worse than the first stage alone on every row of `make eval` (model card)
    reader_rank_weight: float = 2.0  # rank: candidates ordered by the reader's logit + this × the first-stage score

    def __post_init__(self) -> None:
        object.__setattr__(self, "fusion", _enum(Fusion, self.fusion, "fusion"))
        object.__setattr__(self, "picker", _enum(Picker, self.picker, "picker"))
        object.__setattr__(self, "reader_role", _enum(ReaderRole, self.reader_role, "reader role"))

    @property
    def reader_orders(self) -> bool:
        """The reader's verdict orders the candidates and picks the bold sentence (decide)."""
        return self.reader_role == ReaderRole.DECIDE

    @property
    def reader_decides(self) -> bool:
        """The reader's probability decides whether the archive answers (decide, verify)."""
        return self.reader_role != ReaderRole.RANK


@dataclass
class Candidate:
    """A chunk on its way through scoring: its ranks in each list and what its sentences scored."""
    row: ChunkRow
    fused: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense: float = 0.0           # chunk cosine
    score: float = 0.0           # reranked relevance
    best: tuple[int, int] | None = None  # best sentence span in the article text
    best_cos: float = 0.0
    best_lex: float = 0.0
    best_cue: float = 0.0
    sentences: list[tuple[int, int]] = field(default_factory=list)
    reader: float | None = None  # the reader's probability that it answers (None: not read)
    first_stage: float = 0.0     # its reranked relevance before the reader


@dataclass(frozen=True)
class Period:
    """The dates a question asks about (inclusive ISO dates) and how to say them."""
    start: str
    end: str
    label: str
    relative: bool = False  # "last week": only dated articles can be from it
    years: tuple[int, ...] = ()  # an article naming one of these years counts (absolute periods)


@dataclass
class Answer:
    question: str
    answer_found: bool
    hits: list[Hit]
    score: float                 # the best hit's relevance
    ranked: list[Hit] = field(default_factory=list)  # all composed hits, also when not found
    timings: dict[str, float] = field(default_factory=dict)
    confidence: float = 0.0      # the abstention model's probability that the best hit answers
    period: Period | None = None  # the period the question named, if any
    reason: str | None = None    # why not found: "not_relevant" | "nothing_in_period" | "period_empty"
    features: dict[str, float] = field(default_factory=dict)
    tentative: bool = False      # answered, but below `sure_confidence`: the reader is told to check
    elsewhere: str | None = None  # not found in the period asked: the date of the archive's closest story
                                  # outside it, so the reader can ask about that period instead
    explanation: dict | None = None  # asked for with explain=True: which stage decided, with its figures (explain.py)


@dataclass
class FirstStage:
    """What the first stage hands the reader and the decision."""
    cands: list[Candidate]               # reranked, best first
    dense: list[tuple[int, float]]       # the dense search's (chunk id, cosine), best first
    idf_q: dict[str, float]              # the bold-sentence words' idf in this archive
    support: dict[int, float]            # article rowid -> its share of the dense candidates
    lexical: list[tuple[int, float]] = field(default_factory=list)  # the BM25 search's (chunk id, score), best first
    bm25_terms: list[str] = field(default_factory=list)  # the question's stems BM25 looked up
