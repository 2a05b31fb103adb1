"""A newsroom's archive export built in one command, against the same articles split into files:
wall time, chunks, and peak memory (the build process's maximum resident set) of each.

    .venv/bin/python bench/bench_export.py                    # ~8,000 made-up news articles (~74 MB JSON Lines)
    .venv/bin/python bench/bench_export.py --articles 300     # a quicker look
    .venv/bin/python bench/bench_export.py --only export      # just the JSON Lines build (its time, its memory)
    .venv/bin/python bench/bench_export.py --smoke            # 4 articles: proves the bench runs (the tests run it)

The export is written with a fixed seed (bench_build.py's made-up news, never committed), one
malformed line in the middle (the build must skip it and name its line); the split build reads the
same articles, one JSON file each, from a folder. Both run `citebot index build --json` as a user
runs it, each in its own process, so each process's peak memory is its own. Run it on an idle
machine: the wall times are timings. Figures, not assertions.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from bench_build import made_up_article  # noqa: E402  (one recipe for the made-up news)

BAD_LINE = '{"title": "cut off mid-line", "text": "an export interrupted\n'


def write_sources(tmp: Path, n: int) -> tuple[Path, Path, int]:
    """(the JSON Lines export, the folder of one file per article, the malformed line's number)."""
    import random

    rng = random.Random(2024)
    export, folder = tmp / "export.jsonl", tmp / "split"
    folder.mkdir()
    bad_at = n // 2 + 1
    with export.open("w", encoding="utf-8") as f:
        for i in range(n):
            if i + 1 == bad_at:
                f.write(BAD_LINE)
            row = made_up_article(rng, i)
            line = json.dumps(row)
            f.write(line + "\n")
            (folder / f"{i:05d}.json").write_text(line, encoding="utf-8")
    return export, folder, bad_at


def build(source: Path, index_dir: Path) -> tuple[dict, float, float]:
    """(the build report, wall seconds, peak resident MB) of `citebot index build --json source`."""
    env = {**os.environ, "CITEBOT_INDEX_DIR": str(index_dir)}
    out = index_dir.with_suffix(".out")
    t = time.perf_counter()
    with out.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "citebot", "index", "build", "--json", str(source)],
                                env=env, stdout=fh, stderr=subprocess.DEVNULL, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"citebot index build {source.name} failed ({proc.returncode})")
    return json.loads(out.read_text()), wall, usage.ru_maxrss / 1024  # Linux: kilobytes


def describe(name: str, report: dict, wall: float, peak: float) -> None:
    s = report["seconds"]
    print(f"{name:<22}{wall:>8.1f}{report['articles']:>10}{report['chunks']:>9}{peak:>10.0f}   "
          + ", ".join(f"{k} {v:.0f}" for k, v in s.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=8000)
    ap.add_argument("--only", choices=["export", "split"], help="build just one of the two")
    ap.add_argument("--smoke", action="store_true", help="4 articles: proves the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.articles = 4
    from citebot.index.encoders import precision

    print(f"{precision.cpu_model()}; flags: {' '.join(precision.cpu_flags()) or 'none of ' + ', '.join(precision.FLAGS)}; "
          f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        export, folder, bad_at = write_sources(tmp, args.articles)
        print(f"export: {args.articles} made-up articles, {export.stat().st_size / 1e6:.1f} MB, "
              f"a malformed line at {bad_at}; the same as {args.articles} files\n")
        print(f"{'build':<22}{'wall s':>8}{'articles':>10}{'chunks':>9}{'peak MB':>10}   stage seconds")
        results = {}
        for name, source in (("export (one JSONL)", export), ("split (one file each)", folder)):
            if args.only and not name.startswith(args.only):
                continue
            results[name] = build(source, tmp / name.split()[0])
            describe(name, *results[name])
        if "export (one JSONL)" in results:
            problems = results["export (one JSONL)"][0]["problems"]
            named = [p for p in problems if f"line {bad_at}" in p]
            print(f"\nmalformed line: {named[0] if named else 'NOT reported: ' + repr(problems[:3])}")
            report = results["export (one JSONL)"][0]
            print(f"precision {report.get('precision')} ({report.get('precision_why')}); embedding "
                  f"{report['seconds'].get('embed', 0) / results['export (one JSONL)'][1]:.0%} of the wall time")
        if len(results) == 2:
            (e, _, e_peak), (s, _, s_peak) = results.values()
            same = e["articles"] == s["articles"] and e["chunks"] == s["chunks"]
            print(f"same articles and chunks: {'yes' if same else 'NO'}; export's peak memory "
                  f"{e_peak / s_peak:.2f}x the split build's")


if __name__ == "__main__":
    main()
