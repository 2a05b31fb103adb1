"""What unrelated questions reach in this archive: the yardstick a question's best passage is
measured against before citebot answers.

The best passage an unrelated question finds scores higher the larger the archive (at 19
articles its best sentence's cosine is about 0.2, at 12,600 about 0.4). So the abstention model
does not look at raw scores alone but at how far a question's best passage stands above what the
questions in `probes.txt` (about nothing in particular) reach in the same archive. The reference
is measured once per served version and kept beside the index.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

PROBES_FILE = Path(__file__).with_name("probes.txt")
PREFIX = ".reference-"
# Which passage the first stage ranks best moves the levels: bumped when its ranking changes, so a
# reference kept beside an index is measured again (2: each model's cosines on one scale)
RANKING = 2


@dataclass(frozen=True)
class Level:
    median: float
    spread: float  # a robust standard deviation: the interquartile range / 1.35

    def z(self, value: float) -> float:
        return (value - self.median) / self.spread


@dataclass(frozen=True)
class Reference:
    score: Level     # the best hit's reranked relevance
    cos: Level       # its best sentence's cosine
    chunk: Level     # its chunk's cosine


NEUTRAL = Reference(Level(0.0, 1.0), Level(0.0, 1.0), Level(0.0, 1.0))
MIN_SPREAD = 0.02


def probes() -> list[str]:
    lines = PROBES_FILE.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def _level(values: list[float]) -> Level:
    if len(values) < 4:
        return Level(statistics.mean(values) if values else 0.0, 1.0)
    q = statistics.quantiles(values, n=4)
    return Level(statistics.median(values), max(MIN_SPREAD, (q[2] - q[0]) / 1.35))


def measure(best_of: Callable[[str], tuple[float, float, float] | None],
            questions: Iterable[str] | None = None) -> Reference:
    """Ask the probe questions; `best_of` gives (score, sentence cosine, chunk cosine) of a
    question's best hit, or None when it has none."""
    found = [b for b in (best_of(q) for q in (questions or probes())) if b is not None]
    if not found:
        return NEUTRAL
    return Reference(*(_level([f[i] for f in found]) for i in range(3)))


def _name(version: str) -> str:
    return f"{PREFIX}{version}.r{RANKING}.json"


def load(folder: Path, version: str) -> Reference | None:
    try:
        data = json.loads((Path(folder) / _name(version)).read_text())
        return Reference(**{k: Level(**v) for k, v in data.items()})
    except (OSError, ValueError, TypeError, KeyError):
        return None


def save(folder: Path, version: str, ref: Reference) -> None:
    """Best effort (a read-only index folder only costs the next process the measurement); the
    references of older versions are removed."""
    try:
        for old in Path(folder).glob(f"{PREFIX}*.json"):
            old.unlink(missing_ok=True)
        tmp = Path(folder) / f"{_name(version)}.tmp"
        tmp.write_text(json.dumps(asdict(ref)))
        tmp.replace(Path(folder) / _name(version))
    except OSError:
        pass
