"""The reader at answer time: a small cross-encoder (trained here, see train.py) run with
onnxruntime, so answering imports no torch.

It reads question and passage together and gives, per pair, the probability that the passage
answers the question, and a score per sentence for where. A bi-encoder scores the two apart, and in
a large archive the best unrelated passage scores like a real answer; reading them together is
what tells an answer from a near miss.

    weights/reader.onnx     int8 ONNX graph: (input_ids, attention_mask, token_type_ids) ->
                            logits [batch, tokens, 3]: at [CLS] channel 0 is "answers" (logit);
                            on passage tokens channel 1 is "in the answering sentence", channel 2
                            "in the answer span"
    weights/tokenizer.json  the BERT WordPiece tokenizer it was trained with
    weights/reader.json     max_tokens, SHA-256 of the graph, calibration (Platt a, b) and the
                            figures of its training run
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from ..encoders.base import ModelError
from .inputs import Passage, batch, encode, sentence_scores

WEIGHTS = Path(__file__).with_name("weights")


class ReaderUnavailable(ModelError):
    """The reader's files are missing or do not match their recorded checksum."""


@dataclass(frozen=True)
class Reading:
    """The reader's verdict on one passage."""
    logit: float                 # raw "answers" logit
    probability: float           # calibrated probability that the passage answers the question
    sentences: list[float]       # per sentence of the passage: its answer score (-inf: not read)

    def best_sentence(self) -> int:
        return int(np.argmax(self.sentences)) if self.sentences else 0


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Reader:
    """Loads the graph once (checked against its SHA-256) and reads batches of passages."""

    def __init__(self, folder: Path = WEIGHTS, threads: int | None = None, verify: bool = True):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        try:
            meta = json.loads((folder / "reader.json").read_text())
        except (OSError, ValueError) as e:
            raise ReaderUnavailable(f"reader model not found in {folder} ({e.__class__.__name__})") from None
        graph = folder / meta.get("graph", "reader.onnx")
        if not graph.exists():
            raise ReaderUnavailable(f"reader model file missing: {graph}")
        if verify and meta.get("sha256") and sha256(graph) != meta["sha256"]:
            raise ReaderUnavailable(f"reader model {graph} does not match its recorded SHA-256: reinstall citebot")
        self.meta = meta
        self.max_tokens = int(meta["max_tokens"])
        self.calibration = (float(meta.get("calibration", {}).get("a", 1.0)),
                            float(meta.get("calibration", {}).get("b", 0.0)))
        # the decision: answer at or above `threshold`, with a caution below `sure` (fitted on the dev
        # questions by bench/fit_reader.py and kept in reader.json)
        self.threshold = float(meta.get("threshold", 0.5))
        self.sure = float(meta.get("sure", max(self.threshold, 0.5)))
        # optionally, the decision combines the reader's logit with what the first stage measured
        # (e.g. the best sentence's cosine): {"bias": b, "weights": {"logit": w, "cos": v}}, a
        # logistic model fitted by bench/fit_reader.py --combine; absent: the probability decides
        self.decision = meta.get("decision")
        # the question languages it was trained to read (its vocabulary and data); others are decided
        # by the first stage
        self.languages = frozenset(meta.get("languages", ["en"]))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def probability(self, logit: float) -> float:
        a, b = self.calibration
        z = a * logit + b
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def confidence(self, probability: float, evidence: dict[str, float]) -> float:
        """What `threshold` and `sure` are compared with: the reader's probability, or the fitted
        combination of its logit with the first stage's evidence for the same passage (the reader
        correcting meaning-based retrieval rather than overruling it)."""
        if not self.decision:
            return probability
        p = min(max(probability, 1e-6), 1 - 1e-6)
        values = {"logit": math.log(p / (1 - p)), **evidence}
        z = float(self.decision.get("bias", 0.0)) + sum(float(w) * float(values.get(name, 0.0))
                                                        for name, w in self.decision.get("weights", {}).items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def read(self, question: str, passages: Sequence[Passage]) -> list[Reading]:
        if not passages:
            return []
        encoded = [encode(self.tokenizer, question, p, self.max_tokens) for p in passages]
        feed = {k: v for k, v in batch(encoded).items() if k in self.inputs}
        logits = self.session.run(None, feed)[0]
        out = []
        for row, e, p in zip(logits, encoded, passages):
            n = max(1, len(p.sentences))
            answer = float(row[0, 0])
            out.append(Reading(answer, self.probability(answer), sentence_scores(row[:, 1], e.sentence_of, n)))
        return out


@lru_cache(maxsize=2)
def load_reader(folder: str | None = None) -> Reader:
    """The shipped reader (or the one in `folder`), loaded once per process."""
    return Reader(Path(folder) if folder else WEIGHTS)
