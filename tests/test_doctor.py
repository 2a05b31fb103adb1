"""`citebot doctor`: each broken part is one FAIL line saying why, the rest still checked; exit 0
when all pass and 1 when any fails; what is not configured is skipped, not failed; no token is
ever shown. And the bot's status file, which the doctor reads."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import sys
import time

import pytest

from conftest import LEAK_TOKEN, spellings, write_articles

pytestmark = pytest.mark.usefixtures("no_leaks")  # no token, API key or URL password in any output


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory, encoder):
    """One article, indexed once for the module (with its ONNX question encoder)."""
    from citebot.index.building import build
    from citebot.index.config import IndexConfig

    tmp = tmp_path_factory.mktemp("doctor")
    src = write_articles(tmp / "src", {"0.json": {"id": "harbour", "title": "Harbour board",
                                                  "text": "The harbour board agreed 40 new moorings on Monday."}})
    cfg = IndexConfig(index_dir=tmp / "index")
    build([src], cfg, encoder, on_problem=print)
    return cfg.index_dir


def doctor(cli, *args, **env):
    """(exit code, {check name: check}, the whole output) of `citebot doctor --json`."""
    code, out, err = cli("doctor", "--json", *args, env={k: str(v) for k, v in env.items()})
    report = json.loads(out)
    assert report["ok"] is (code == 0)
    return code, {c["name"]: c for c in report["checks"]}, out + err


def state(check: dict) -> str:
    return "skipped" if check["skipped"] else "ok" if check["ok"] else "FAIL"


def test_a_sound_index_passes_and_what_is_not_configured_is_skipped(cli, tiny_index):
    code, checks, _ = doctor(cli, CITEBOT_INDEX_DIR=tiny_index)
    assert code == 0
    assert {n: state(c) for n, c in checks.items()} == {
        "settings": "ok", "index": "ok", "index-files": "ok", "extras": "skipped", "encoder": "ok",
        "reader": "ok", "token": "skipped", "refresh": "ok", "bot-status": "skipped"}
    assert "1 articles" in checks["index"]["detail"] and "384" in checks["encoder"]["detail"]
    code, out, _ = cli("doctor", env={"CITEBOT_INDEX_DIR": str(tiny_index)})
    lines = out.strip().splitlines()
    assert code == 0 and lines[-1] == "all checks passed" and len(lines) == len(checks) + 1
    assert lines[0].split()[:2] == ["ok", "settings"]


def test_a_missing_index_fails_in_one_line_and_the_rest_is_still_checked(cli, tmp_path):
    code, checks, _ = doctor(cli, CITEBOT_INDEX_DIR=tmp_path / "nowhere")
    assert code == 1
    assert state(checks["index"]) == "FAIL" and "no index in" in checks["index"]["detail"]
    assert "citebot index build" in checks["index"]["detail"] and "\n" not in checks["index"]["detail"]
    assert state(checks["index-files"]) == "skipped" and state(checks["encoder"]) == "ok"
    code, out, _ = cli("doctor", env={"CITEBOT_INDEX_DIR": str(tmp_path / "nowhere")})
    assert code == 1 and out.strip().splitlines()[-1] == "1 check(s) failed"


def test_a_flipped_byte_in_a_segment_file_fails_the_files_check(cli, tiny_index, tmp_path):
    damaged = tmp_path / "index"
    shutil.copytree(tiny_index, damaged)
    victim = next((damaged / "segments").iterdir()) / "bm25_weights.npy"
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    code, checks, _ = doctor(cli, CITEBOT_INDEX_DIR=damaged)
    assert code == 1 and state(checks["index-files"]) == "FAIL"
    assert "bm25_weights.npy" in checks["index-files"]["detail"] and "checksum" in checks["index-files"]["detail"]
    assert "citebot index build" in checks["index-files"]["detail"]


def test_a_bad_token_shape_fails_without_showing_the_token(cli, tiny_index, no_leaks):
    bad = "123456789:tooShortSecretPart-x9"
    no_leaks.secrets.append(bad)  # neither it nor its secret half may be printed
    code, checks, everything = doctor(cli, "--skip", "encoder", CITEBOT_INDEX_DIR=tiny_index,
                                      CITEBOT_TELEGRAM_TOKEN=bad)
    assert code == 1 and state(checks["token"]) == "FAIL"
    assert "does not look like a bot token" in checks["token"]["detail"]
    assert not any(s in everything for s in spellings(bad))
    code, out, err = cli("doctor", env={"CITEBOT_INDEX_DIR": str(tiny_index), "CITEBOT_TELEGRAM_TOKEN": bad})
    assert code == 1 and not any(s in out + err for s in spellings(bad))


def test_a_well_shaped_token_from_a_file_passes_and_is_never_shown(cli, tiny_index, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(LEAK_TOKEN + "\n")
    token_file.chmod(0o600)
    code, checks, everything = doctor(cli, "--skip", "encoder", CITEBOT_INDEX_DIR=tiny_index,
                                      CITEBOT_TELEGRAM_TOKEN_FILE=token_file)
    assert code == 0 and state(checks["token"]) == "ok" and state(checks["extras"]) == "ok"
    assert "CITEBOT_TELEGRAM_TOKEN_FILE" in checks["token"]["detail"]
    token_file.chmod(0o644)
    code, checks, _ = doctor(cli, "--skip", "encoder", CITEBOT_INDEX_DIR=tiny_index, CITEBOT_TELEGRAM_TOKEN_FILE=token_file)
    assert code == 0 and "chmod 600" in checks["token"]["detail"]
    code, checks, _ = doctor(cli, "--skip", "encoder", CITEBOT_INDEX_DIR=tiny_index,
                             CITEBOT_TELEGRAM_TOKEN_FILE=tmp_path / "absent")
    assert code == 1 and "cannot read" in checks["token"]["detail"]


def test_an_unreachable_qdrant_server_fails_quickly(cli, tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    code, checks, _ = doctor(cli, "--skip", "encoder", CITEBOT_STORE="qdrant",
                             CITEBOT_QDRANT_URL=f"http://127.0.0.1:{port}")
    assert time.monotonic() - started < 20
    assert code == 1 and state(checks["index"]) == "FAIL"
    assert "cannot reach the Qdrant server" in checks["index"]["detail"] and "CITEBOT_QDRANT_URL" in checks["index"]["detail"]
    assert state(checks["extras"]) == "ok" and state(checks["refresh"]) == "skipped"


def test_a_missing_extra_is_named_with_what_to_install(cli, tiny_index, monkeypatch):
    monkeypatch.setitem(sys.modules, "telegram", None)  # as if python-telegram-bot were not installed
    code, checks, _ = doctor(cli, "--skip", "encoder", CITEBOT_INDEX_DIR=tiny_index, CITEBOT_TELEGRAM_TOKEN=LEAK_TOKEN)
    assert code == 1 and state(checks["extras"]) == "FAIL"
    assert "pip install 'citebot[telegram]'" in checks["extras"]["detail"]


def test_a_wrong_setting_is_the_one_failure(cli):
    code, checks, _ = doctor(cli, CITEBOT_TOP_K="0")
    assert code == 1 and list(checks) == ["settings"] and "CITEBOT_TOP_K" in checks["settings"]["detail"]


def test_an_unknown_check_to_skip_is_refused(cli):
    code, _, err = cli("doctor", "--skip", "everything")
    assert code == 2 and "no check named everything" in err


# --- the status file ---------------------------------------------------------------------------

def status(path, age_s: float, interval_s: float = 60, state: str = "running") -> None:
    from citebot.bot.health.status_file import BotStatus, write_status

    now = time.time()
    write_status(path, BotStatus(pid=4242, started=now - 3600, interval_s=interval_s, state=state,
                                 last_update=now - 30), now - age_s)


def test_a_stale_status_file_fails_and_a_fresh_one_passes(cli, tiny_index, tmp_path):
    path = tmp_path / "status.json"
    env = dict(CITEBOT_INDEX_DIR=tiny_index, CITEBOT_STATUS_FILE=path)
    code, checks, _ = doctor(cli, "--skip", "encoder", **env)
    assert code == 1 and "no status file" in checks["bot-status"]["detail"]
    status(path, age_s=10)
    code, checks, _ = doctor(cli, "--skip", "encoder", **env)
    assert code == 0 and "pid 4242" in checks["bot-status"]["detail"] and "up 60 min" in checks["bot-status"]["detail"]
    status(path, age_s=200)  # more than 3 x 60 s
    code, checks, _ = doctor(cli, "--skip", "encoder", **env)
    assert code == 1 and "stuck or not running" in checks["bot-status"]["detail"]
    status(path, age_s=200, interval_s=120)  # the bot's own interval counts
    assert doctor(cli, "--skip", "encoder", **env)[0] == 0
    status(path, age_s=5, state="stopped")
    code, checks, _ = doctor(cli, "--skip", "encoder", **env)
    assert code == 1 and "stopped" in checks["bot-status"]["detail"]
    path.write_text("not json")
    code, checks, _ = doctor(cli, "--skip", "encoder", **env)
    assert code == 1 and "not a citebot status file" in checks["bot-status"]["detail"]


def test_the_heartbeat_writes_at_start_notes_errors_without_secrets_and_says_when_it_stops(tmp_path):
    from citebot.bot import redact
    from citebot.bot.health.status_file import judge
    from citebot.bot.telegram.heartbeat import Heartbeat

    secret = "987654321:AAHheartbeatSECRETheartbeatSECRET_01"  # not a conftest secret: the log may show it
    redact.register(secret)
    path = tmp_path / "status.json"
    beat = Heartbeat(path, interval_s=0.05)

    async def run() -> None:
        task = asyncio.create_task(beat.loop())
        await asyncio.sleep(0.02)
        logging.getLogger("citebot.bot").error("index unavailable: token %s in a message", secret)
        await beat.saw_update(object(), object())
        await asyncio.sleep(0.1)
        healthy, line = judge(path, time.time(), 60)
        assert healthy and "last update never" not in line and "index unavailable: token [secret]" in line, line
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    data = json.loads(path.read_text())
    assert data["state"] == "stopped" and data["pid"] == os.getpid() and secret not in path.read_text()
    assert "[secret]" in data["last_error"]
    assert not judge(path, time.time(), 60)[0]
    assert not list(tmp_path.glob(".status.json.tmp-*"))


def test_the_running_bot_keeps_its_status_file_fresh_and_the_doctor_sees_it_stop(cli, tiny_index, tmp_path):
    """The real `citebot bot` against the fake Bot API on 127.0.0.1, writing every second."""
    import signal
    import subprocess

    from fake_bot_api import FakeBotAPI

    token = "123456789:AAHstatusTOKENstatusTOKENstatus_0123"
    path = tmp_path / "status.json"
    api = FakeBotAPI(token).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    env.update(HF_HUB_OFFLINE="1", CITEBOT_TELEGRAM_TOKEN=token, CITEBOT_TELEGRAM_API_URL=api.base_url,
               CITEBOT_INDEX_DIR=str(tiny_index), CITEBOT_STATE_DIR=str(tmp_path / "state"),
               CITEBOT_STATUS_FILE=str(path), CITEBOT_STATUS_SECONDS="1")
    proc = subprocess.Popen([sys.executable, "-m", "citebot", "bot"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        api.wait_for(lambda: path.exists() or proc.poll() is not None, 120, "the status file")
        api.message(7, "Who agreed the moorings?")
        api.wait_messages(7, 1)
        api.wait_for(lambda: json.loads(path.read_text())["last_update"] is not None, 10, "the update to be noted")
        check = dict(CITEBOT_INDEX_DIR=tiny_index, CITEBOT_STATUS_FILE=path)
        code, checks, _ = doctor(cli, "--skip", "encoder", **check)
        assert code == 0 and "last update" in checks["bot-status"]["detail"], checks["bot-status"]
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
        assert proc.returncode == 0, output
        assert json.loads(path.read_text())["state"] == "stopped"
        code, checks, _ = doctor(cli, "--skip", "encoder", **check)
        assert code == 1 and "stopped" in checks["bot-status"]["detail"]
        assert token not in path.read_text() and token.split(":")[1] not in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        api.stop()
