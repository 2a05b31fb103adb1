"""The timing behind CITEBOT_EMBEDDING_DTYPE=auto: the actual model, in each candidate precision,
embeds the same made-up news passages the way a build does (`encode_with_sentences`, batches of 32
passages of ~100 words), one warm-up batch and then TIMED_BATCHES timed ones. The candidates take
turns batch by batch, so that other work on the machine slows them alike rather than whichever
happened to run while it peaked. The int8 candidate's chunk vectors are compared with fp32's on the
same passages (auto takes int8 only when they agree). ~10-20 s once per machine and model (the
first int8 export takes ~10 s of that); precision.py keeps the result.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import numpy as np

BATCH = 32
TIMED_BATCHES = 3
WORDS = 100  # per passage: a 128-token chunk with its title is ~100 words
SEED = 11

_SUBJECTS = ("The council", "The minister", "Police", "The union", "Residents", "The company", "Doctors",
             "The court", "Farmers", "The mayor", "Officials", "The central bank", "Teachers", "Firefighters",
             "The museum", "Shoppers", "Investors", "The airport", "Engineers", "Voters")
_VERBS = ("said", "warned", "announced", "confirmed", "denied", "approved", "rejected", "delayed", "promised",
          "criticised", "welcomed", "reported", "questioned", "defended", "expected")
_OBJECTS = ("the new budget", "plans for a tram line", "a rise in prices", "the hospital closure", "a pay offer",
            "the flood defences", "the election result", "a ban on night flights", "the school merger",
            "repairs to the bridge", "a strike next month", "the harbour expansion", "rules on rents",
            "the cost of energy", "a review of the case", "new housing on the old mill site")
_TAILS = ("on Tuesday", "after a long debate", "despite objections", "for the second time this year",
          "in a statement", "according to figures released on Friday", "amid growing anger", "at a meeting",
          "as talks resumed", "by a narrow margin", "earlier this week", "without giving a reason")
_PLACES = ("Northbridge", "the capital", "Eastport", "the valley", "Kingsford", "the old town", "the region",
           "Millbrook", "the coast", "Harwick")


def news_sentences(rng: random.Random, n_words: int) -> list[str]:
    """Made-up news sentences (~12-30 words each) adding up to about `n_words` words."""
    out, words = [], 0
    while words < n_words:
        s = f"{rng.choice(_SUBJECTS)} in {rng.choice(_PLACES)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} " \
            f"{rng.choice(_TAILS)}"
        if rng.random() < 0.6:
            s += f", and {rng.choice(_SUBJECTS).lower()} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"
        if rng.random() < 0.4:
            s += f" after {rng.randint(2, 90)} {rng.choice(('days', 'votes', 'percent', 'homes', 'jobs'))}"
        out.append(s + ".")
        words += len(s.split())
    return out


def probe_batches(seed: int = SEED) -> list[tuple[list[str], list[list[tuple[int, int]]]]]:
    """1 + TIMED_BATCHES batches of (passages, each passage's sentence spans)."""
    rng = random.Random(seed)
    batches = []
    for _ in range(1 + TIMED_BATCHES):
        texts, spans = [], []
        for _ in range(BATCH):
            sentences = news_sentences(rng, WORDS)
            text, cuts = "", []
            for s in sentences:
                start = len(text) + (1 if text else 0)
                text = f"{text} {s}" if text else s
                cuts.append((start, len(text)))
            texts.append(text)
            spans.append(cuts)
        batches.append((texts, spans))
    return batches


@dataclass
class Measurement:
    rates: dict[str, float]  # precision -> chunks/s
    agreement: dict[str, float] = field(default_factory=dict)  # int8 vs fp32 chunk vectors: "mean", "min" cosine
    left_out: dict[str, str] = field(default_factory=dict)  # precision -> why it was not timed


def make_encoder(model: str, precision: str):
    """The passage encoder of `model` in `precision` (fp32, bf16 or int8), nothing cached."""
    if precision == "int8":
        from .int8_passage import load_int8_encoder

        return load_int8_encoder(model)
    from .sentence_transformers import SentenceTransformerEncoder

    return SentenceTransformerEncoder(model, precision)


def measure(model: str, candidates: list[str]) -> Measurement:
    """Chunks/s of each candidate that loads (fp32 must), and int8's agreement with fp32."""
    from .base import ModelError

    encoders, left_out = {}, {}
    for precision in candidates:
        try:
            encoders[precision] = make_encoder(model, precision)
        except ModelError as e:
            if precision == "fp32":
                raise
            left_out[precision] = str(e)
    batches = probe_batches()
    for enc in encoders.values():
        enc.encode_with_sentences(*batches[0], batch_size=BATCH)  # warm-up: first-call allocations, not speed
    seconds = dict.fromkeys(encoders, 0.0)
    vectors: dict[str, list[np.ndarray]] = {p: [] for p in encoders}
    for texts, spans in batches[1:]:
        for precision, enc in encoders.items():  # in turns: background load falls on every candidate
            t = time.perf_counter()
            vecs, _ = enc.encode_with_sentences(texts, spans, batch_size=BATCH)
            seconds[precision] += time.perf_counter() - t
            vectors[precision].append(vecs)
    timed = BATCH * TIMED_BATCHES
    rates = {p: timed / max(s, 1e-9) for p, s in seconds.items()}
    agreement = {}
    if "int8" in vectors:
        cos = np.sum(np.concatenate(vectors["int8"]) * np.concatenate(vectors["fp32"]), axis=1)
        agreement = {"mean": float(cos.mean()), "min": float(cos.min())}
    return Measurement(rates, agreement, left_out)
