"""Every script in bench/ runs its whole path at a toy size (`--smoke`), so a bench that breaks
fails here rather than on the day someone wants its figures. Figures stay figures: only the exit
status and that something was printed are checked, never a time."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
HELPERS = {"machine.py"}  # imported by the benches, not run
TIMEOUT_S = 120
# what a fit may write with --write: --smoke must leave it alone
PACKAGE = REPO / "citebot" / "index"
PACKAGE_FILES = {"fit_abstention.py": sorted((PACKAGE / "answer").glob("abstain_model*.json")),
                 "fit_reader.py": [PACKAGE / "reader" / "weights" / "reader.json"]}

SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if p.name not in HELPERS)


def contents(paths: list[Path]) -> dict[Path, bytes | None]:
    return {p: p.read_bytes() if p.exists() else None for p in paths}


def test_bench_folder_has_scripts():
    assert {"bench_scale.py", "bench_qdrant.py", "fit_abstention.py"} <= set(SCRIPTS)
    assert all(PACKAGE_FILES.values()), "the fitted files the fits may write are where the tests look"


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_runs_in_smoke_mode(script, tmp_path):
    before = contents(PACKAGE_FILES.get(script, []))
    try:
        proc = subprocess.run([sys.executable, str(BENCH / script), "--smoke"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{script} --smoke ran past {TIMEOUT_S} s; output so far:\n{(e.stdout or '')[-3000:]}")
    said = f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, f"{script} --smoke exited {proc.returncode}\n{said}"
    assert proc.stdout.strip(), f"{script} --smoke printed nothing\n{said}"
    assert contents(PACKAGE_FILES.get(script, [])) == before, f"{script} --smoke changed the package's model files"
