"""The wheel a user installs answers questions: built from this checkout, installed without `-e`
into a fresh virtual environment, it indexes the sample articles and answers, reader included.

The fresh environment borrows the already-installed dependencies (torch alone is 700 MB) through a
path file, but not this checkout: it runs from an empty folder, so only what the wheel holds can be
imported (the package data — abstention weights, probes, the reader — has to be in it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    return next(out.glob("citebot-*.whl"))


def test_the_wheel_holds_what_the_package_reads_at_run_time(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("citebot/index/answer/abstain_model.json", "citebot/index/answer/probes.txt",
                   "citebot/index/reader/weights/reader.onnx",
                   "citebot/index/reader/weights/reader.json", "citebot/index/reader/weights/tokenizer.json",
                   "citebot/bot/web/templates/page.html", "citebot/bot/web/static/page.css",
                   "citebot/bot/web/static/page.js"):
        assert needed in names, f"{needed} is missing from the wheel"
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"citebot"}, tops  # no `index`, no `bot`


def test_a_fresh_install_of_the_wheel_indexes_and_answers(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # dependencies, not citebot
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True, timeout=300, cwd=tmp_path)
    cli = env_dir / "bin" / "citebot"
    run_env = {**os.environ, "CITEBOT_INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1"}
    run_env.pop("PYTHONPATH", None)
    where = subprocess.run([py, "-c", "import citebot.index.reader.model as m; print(m.__file__)"], capture_output=True,
                           text=True, env=run_env, cwd=tmp_path, check=True).stdout
    assert str(site) in where  # the installed copy, not this checkout
    subprocess.run([cli, "index", "build", str(ROOT / "examples" / "articles")], check=True, capture_output=True,
                   env=run_env, cwd=tmp_path, timeout=600)
    out = subprocess.run([cli, "ask", "How much will the Wendford tram line cost?", "--json"], capture_output=True,
                         text=True, env=run_env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["answer_found"] and "310 million" in answer["results"][0]["highlight"]
