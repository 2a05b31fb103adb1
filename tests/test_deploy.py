"""The service recipes in deploy/: the systemd units pass `systemd-analyze verify` (where that tool
exists) and keep their promises (own user, token as a credential, restart, hardening, the index on
the state directory); the Containerfile is well formed, installs torch before citebot, runs as a
user other than root, checks its health with `citebot doctor`, holds no secret in ENV; and the
commands they run exist."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

DEPLOY = REPO / "deploy"
CITEBOT = Path(sys.executable).parent / "citebot"
UNITS = sorted(p for p in DEPLOY.iterdir() if p.suffix in (".service", ".timer"))
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
                "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}


def directives(unit: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of every line of a unit file, in order (keys may repeat)."""
    out, section = [], ""
    for line in unit.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def values(unit: Path, key: str) -> list[str]:
    return [v for _, k, v in directives(unit) if k == key]


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Containerfile, continuation lines joined, comments left out."""
    out, pending = [], ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        name, _, args = whole.partition(" ")
        out.append((name, args.strip()))
    assert not pending, "a continuation line ends the file"
    return out


def exec_form(args: str) -> list[str]:
    """The command of CMD or HEALTHCHECK ... CMD in exec form (a JSON array)."""
    import json

    return json.loads(args[args.index("["):])


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed "
                    "(Debian: apt-get install systemd)")
def test_the_units_pass_systemd_analyze_verify(tmp_path):
    """verify also wants each ExecStart= program to exist: the installed path becomes this venv's."""
    copies = []
    for unit in UNITS:
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace("/opt/citebot/venv/bin/citebot", str(CITEBOT)))
        copies.append(str(copy))
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", *copies], capture_output=True, text=True,
                          timeout=120)
    # a misspelt key or a bad value is only a warning to verify (exit 0): any line about our units fails
    ours = [line for line in (proc.stdout + proc.stderr).splitlines() if "citebot" in line]
    assert proc.returncode == 0 and not ours, proc.stdout + proc.stderr


def test_the_bot_unit_keeps_its_promises():
    bot = DEPLOY / "citebot-bot.service"
    assert values(bot, "ExecStart") == ["/opt/citebot/venv/bin/citebot bot"]
    assert values(bot, "DynamicUser") == ["yes"] and values(bot, "User") == ["citebot"]
    assert values(bot, "LoadCredential") == ["telegram-token:/etc/citebot/telegram-token"]
    env = values(bot, "Environment")
    assert "CITEBOT_TELEGRAM_TOKEN_FILE=%d/telegram-token" in env
    assert "CITEBOT_INDEX_DIR=%S/citebot/index" in env and values(bot, "StateDirectory") == ["citebot"]
    assert "CITEBOT_STATUS_FILE=%S/citebot/status.json" in env and "HF_HUB_OFFLINE=1" in env
    assert not any(e.startswith("CITEBOT_TELEGRAM_TOKEN=") for e in env)
    assert values(bot, "Restart") == ["on-failure"] and values(bot, "RestartSec")
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
                "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups"):
        assert values(bot, key) == ["yes"], key
    assert values(bot, "ProtectSystem") == ["strict"]
    assert values(bot, "RestrictAddressFamilies") == ["AF_INET AF_INET6 AF_UNIX"]
    assert values(bot, "MemoryDenyWriteExecute") == [], "PyTorch's oneDNN needs memory it writes and executes"
    assert "MemoryDenyWriteExecute" in bot.read_text(), "say why it is left out"
    for unit in UNITS:  # every unit shares the user and the state folder, and none holds a token
        if unit.suffix == ".service":
            assert values(unit, "User") == ["citebot"] and values(unit, "StateDirectory") == ["citebot"], unit.name
        assert not re.search(r"CITEBOT_TELEGRAM_TOKEN=\S", unit.read_text()), unit.name


def test_the_web_unit_keeps_its_promises():
    web = DEPLOY / "citebot-web.service"
    assert values(web, "ExecStart") == ["/opt/citebot/venv/bin/citebot serve"]
    assert values(web, "LoadCredential") == ["web-api-key:/etc/citebot/web-api-key"]
    env = values(web, "Environment")
    assert "CITEBOT_WEB_API_KEY_FILE=%d/web-api-key" in env and not any(e.startswith("CITEBOT_WEB_API_KEY=") for e in env)
    assert not any(e.startswith("CITEBOT_WEB_HOST=") for e in env)  # 127.0.0.1 unless the operator says otherwise
    assert values(web, "ProtectSystem") == ["strict"] and values(web, "NoNewPrivileges") == ["yes"]


def test_the_commands_the_recipes_run_exist():
    """Each ExecStart= and the container's CMD and HEALTHCHECK, with --help (no index, no token needed)."""
    from citebot.bot.health.checks import names

    commands = [shlex.split(v)[1:] for unit in UNITS for v in values(unit, "ExecStart")]
    steps = instructions(DEPLOY / "Containerfile")
    commands += [exec_form(args)[1:] for name, args in steps if name in ("CMD", "HEALTHCHECK")]
    assert ["bot"] in commands and ["doctor", "--skip", "index-files"] in commands
    for args in commands + [["doctor"], ["bot"], ["unanswered"]]:
        proc = subprocess.run([str(CITEBOT), *args, "--help"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (args, proc.stderr)
        skipped = [args[i + 1] for i, a in enumerate(args) if a == "--skip"]
        assert set(skipped) <= set(names()), skipped


def test_the_containerfile_is_well_formed_and_safe():
    from citebot.bot.settings import SECRET_SETTINGS

    steps = instructions(DEPLOY / "Containerfile")
    names = [name for name, _ in steps]
    assert set(names) <= INSTRUCTIONS, set(names) - INSTRUCTIONS
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [args for name, args in steps if name == "RUN"]
    torch = next(i for i, r in enumerate(runs) if "torch==2.13.0" in r)
    wheel = next(i for i, r in enumerate(runs) if "[telegram,feeds]" in r)
    assert torch < wheel, "torch (the CPU wheel) goes in first, or citebot's dependencies pull a CUDA build"
    users = [args for name, args in steps if name == "USER"]
    assert users and users[-1] not in ("root", "0") and not users[-1].startswith(("root:", "0:"))
    assert names.index("USER") < names.index("CMD") and "HEALTHCHECK" in names and "VOLUME" in names
    env = " ".join(args for name, args in steps if name in ("ENV", "ARG"))
    assert "HF_HUB_OFFLINE=1" in env and "CITEBOT_TELEGRAM_TOKEN_FILE=/run/secrets/" in env
    for secret in SECRET_SETTINGS:  # a secret in ENV is in the image and in `docker inspect`
        assert not re.search(rf"\bCITEBOT_{secret}=", env), secret
    for script in runs:
        proc = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True)
        assert proc.returncode == 0, (script, proc.stderr)


def test_what_the_containerfile_copies_builds_the_citebot_wheel(tmp_path):
    """COPY as the Containerfile does, then its `pip wheel` step (offline: no build isolation, no
    index): the wheel must carry the package data that answering reads."""
    steps = instructions(DEPLOY / "Containerfile")
    src = tmp_path / "src"
    for name, args in steps:
        if name != "COPY":
            continue
        *sources, target = args.split()
        for s in sources:
            dest = tmp_path / target.lstrip("/") / (Path(s).name if target.endswith("/") else "")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if (REPO / s).is_dir():
                shutil.copytree(REPO / s, dest, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(REPO / s, dest)
    build = next(args for name, args in steps if name == "RUN" and "pip wheel" in args)
    step = next(part.strip() for part in build.split("&&") if part.strip().startswith("pip wheel"))
    pip = [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-index", "--quiet"]
    args = [str(tmp_path / a.lstrip("/")) if a.startswith("/") else a for a in shlex.split(step)[2:]]
    proc = subprocess.run(pip + args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheels = list((tmp_path / "tmp" / "wheels").glob("citebot-*.whl"))
    assert len(wheels) == 1 and src.exists()
    files = set(zipfile.ZipFile(wheels[0]).namelist())
    assert {"citebot/index/reader/weights/reader.onnx", "citebot/index/answer/abstain_model.json",
            "citebot/bot/cli/doctor.py"} <= files
