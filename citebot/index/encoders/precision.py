"""Which arithmetic embeds passages (CITEBOT_EMBEDDING_DTYPE): fp32, bf16 or int8, or `auto`.

A CPU's flags do not say which is fastest: bf16 pays only where the CPU multiplies bf16 matrices
natively and fast (Sapphire Rapids' AMX: ~3x fp32), and a CPU with AVX512-BF16 but no AMX ran a
build slower in bf16 than in fp32 (330 articles: 56.3 s against 44.5 s). So `auto` measures: a
short timing of the actual model on this CPU in each candidate (probe.py), kept in the user's cache
per model, CPU and library versions (machine_cache.py) and reused by every later build. int8 is
taken only when it is the fastest and its vectors agree with fp32's (mean cosine >= MIN_AGREEMENT);
a lower precision must beat fp32 by MARGIN to be worth its rounding. Anything failing: fp32.
While other work keeps the CPU busy nothing is timed (nor kept): a guess serves that build, and a
later one measures. An explicit fp32, bf16 or int8 is honoured without measuring.

To measure again (after the machine's load changed, say), delete the cache file.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .base import ModelError
from .machine_cache import cache_dir, read_json, usable_cores, version, write_json

SETTINGS = ("auto", "fp32", "bf16", "int8")
SETTING_NAME = "CITEBOT_EMBEDDING_DTYPE"
# int8 against fp32, mean cosine of chunk vectors. Measured (bench/bench_build.py, 1,272 chunks, 380
# questions): bf16 agrees to 1.0000 and its search finds 0.995 of fp32's top 20; int8 agrees to 0.997
# but finds only 0.960 of them, under the 0.99 a build may lose. So the bar sits above int8's agreement
# today: auto never picks it, an explicit CITEBOT_EMBEDDING_DTYPE=int8 still can.
MIN_AGREEMENT = 0.999
MARGIN = 1.05  # bf16 or int8 must be this much faster than fp32 (timing noise is a few percent)
FLAGS = ("avx512_bf16", "amx_bf16", "avx512_vnni", "avx_vnni", "amx_int8")  # what decides the candidates' speed
CACHE_FILE = "precision.json"
BUSY_SHARE = 0.5  # of the cores busy with other work (load average): too busy to time anything


@dataclass(frozen=True)
class Choice:
    precision: str  # fp32 | bf16 | int8
    why: str  # for the build report, the manifest and `citebot index status`


def cpu_model() -> str:
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    import platform

    return platform.processor() or "unknown CPU"


def cpu_flags() -> list[str]:
    """Those of FLAGS this CPU lists (first processor's flags line)."""
    for line in _cpuinfo().splitlines():
        if line.startswith("flags"):
            listed = set(line.split(":", 1)[1].split())
            return [f for f in FLAGS if f in listed]
    return []


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def candidates() -> list[str]:
    """fp32 always; bf16 where the CPU has bf16 instructions; int8 where onnxruntime can quantise."""
    flags = cpu_flags()
    out = ["fp32"]
    if "avx512_bf16" in flags or "amx_bf16" in flags:
        out.append("bf16")
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        out.append("int8")
    return out


def cache_path() -> Path:
    return cache_dir() / CACHE_FILE


def cache_key(model: str) -> str:
    return (f"{model} | {cpu_model()} | {' '.join(cpu_flags()) or 'no bf16/int8 flags'} | "
            f"torch {version('torch')} | onnxruntime {version('onnxruntime')}")


def check_setting(setting: str) -> str:
    setting = setting.lower()
    if setting not in SETTINGS:
        raise ModelError(f"unknown embedding dtype '{setting}' (use {', '.join(SETTINGS)})")
    return setting


def choose(model: str, setting: str = "auto", measure: bool = True) -> Choice:
    """The precision to embed `model`'s passages in, and why. `measure=False` never times
    anything: without a cached measurement it guesses from the CPU's flags (for a fallback
    question encoder, where a probe of seconds would be worse than a guess)."""
    setting = check_setting(setting)
    if setting != "auto":
        return Choice(setting, f"set by {SETTING_NAME}")
    key = cache_key(model)
    cached = read_json(cache_path()).get(key)
    if isinstance(cached, dict) and cached.get("precision") in SETTINGS[1:]:
        date = str(cached.get("measured_at", "?"))[:10]
        return Choice(cached["precision"], f"cached measurement of {date}: {cached.get('summary', '')}".rstrip(": "))
    if not measure:
        return guess("not measured yet")
    busy = machine_busy()
    if busy:
        return guess(f"not measured: {busy}, a timing now would rank the other work")
    from . import probe

    try:
        found = probe.measure(model, candidates())
    except Exception as e:  # a probe that cannot run costs speed, never the build
        first = str(e).splitlines()[0][:160] if str(e) else ""
        return Choice("fp32", f"measurement failed ({type(e).__name__}{': ' + first if first else ''}): fp32")
    precision, summary = decide(found.rates, found.agreement, found.left_out)
    entries = read_json(cache_path())
    entries[key] = {"precision": precision, "summary": summary, "rates": found.rates, "agreement": found.agreement,
                    "left_out": found.left_out, "cpu": cpu_model(), "flags": cpu_flags(),
                    "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_json(cache_path(), entries)
    return Choice(precision, f"measured: {summary}")


def guess(why: str) -> Choice:
    """Without a measurement: bf16 where the CPU has AMX (there it was ~3x fp32), else fp32
    (AVX512-BF16 alone ran a build slower in bf16 than in fp32)."""
    if "amx_bf16" in cpu_flags():
        return Choice("bf16", f"{why}: bf16 guessed from the CPU's AMX")
    return Choice("fp32", f"{why}: fp32")


def machine_busy() -> str | None:
    """What keeps the CPU busy beyond this process (one core's worth of which is allowed for),
    when that is more than half its cores: a timing then measures the other work, not the CPU,
    and kept in the cache it would decide every later build. None when the CPU is free enough."""
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # no load average here (Windows)
        return None
    cores = usable_cores()
    if load - 1 > BUSY_SHARE * cores:
        return f"the CPU is busy (load {load:.1f} on {cores} cores)"
    return None


def decide(rates: dict[str, float], agreement: dict[str, float] | None = None,
           left_out: dict[str, str] | None = None, cpu: str | None = None) -> tuple[str, str]:
    """(precision, one line of figures): the fastest of `rates` (chunks/s) that qualifies."""
    agreement, left_out = agreement or {}, dict(left_out or {})
    usable = dict(rates)
    if "int8" in usable and agreement.get("mean", 0.0) < MIN_AGREEMENT:
        del usable["int8"]
        left_out["int8"] = f"agrees with fp32 only to {agreement.get('mean', 0.0):.3f} ({MIN_AGREEMENT} needed)"
    fp32 = usable.get("fp32", 0.0)
    best = max(usable, key=usable.get) if usable else "fp32"
    ranked = sorted(rates, key=rates.get, reverse=True)
    figures = ", ".join(f"{p} {rates[p]:.0f}" + (" chunks/s" if i == 0 else "") for i, p in enumerate(ranked))
    notes = [f"{figures} on {cpu or cpu_model()}"]
    if "int8" in usable:
        notes.append(f"int8 agrees with fp32 to {agreement['mean']:.3f}")
    if best != "fp32" and usable[best] < fp32 * MARGIN:
        notes.append(f"{best} is not {MARGIN - 1:.0%} faster: fp32")
        best = "fp32"
    notes += [f"{p} left out: {why}" for p, why in sorted(left_out.items())]
    return best, "; ".join(notes)


def mixable(served: str | None, new: str | None) -> bool:
    """Whether vectors of `new` may join an index built in `served`. fp32 and bf16 agree to ~0.999
    (an index has always mixed them), as do e5's q4-fp32 and q4-bf16; int8 agrees to ~0.99, so it
    neither joins nor is joined: the change needs a rebuild, as a model change does. An index
    from before precisions were recorded has its dtype, or nothing (fp32)."""
    return (served == "int8") == (new == "int8")


def served_precision(manifest: dict) -> str:
    return str(manifest.get("precision") or manifest.get("dtype") or "fp32")
