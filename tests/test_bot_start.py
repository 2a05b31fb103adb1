"""`citebot bot` fails at start, in one clear line, without a usable token; and never echoes it."""
import pytest

from citebot.bot.settings import load_settings
from citebot.bot.telegram import TokenError, read_token
from citebot.bot.telegram.context import Window


def test_missing_token_is_one_clear_line(cli):
    code, out, err = cli("bot")
    assert code == 2
    assert "CITEBOT_TELEGRAM_TOKEN" in err and len(err.strip().splitlines()) == 1


def test_malformed_token_is_refused_without_echoing_it(cli):
    code, out, err = cli("bot", env={"CITEBOT_TELEGRAM_TOKEN": "not-a-token-SECRETPART"})
    assert code == 2 and "does not look like a bot token" in err
    assert "SECRETPART" not in err + out


def test_token_file_is_read(tmp_path, monkeypatch):
    token_file = tmp_path / "token"
    token_file.write_text("123456:" + "A" * 35 + "\n")
    monkeypatch.setenv("CITEBOT_TELEGRAM_TOKEN_FILE", str(token_file))
    assert read_token(load_settings()) == "123456:" + "A" * 35
    monkeypatch.setenv("CITEBOT_TELEGRAM_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(TokenError, match="cannot read"):
        read_token(load_settings())


def test_rate_window_counts_within_its_period():
    """Each user's questions per minute (kept in the user's persisted data, so a restart keeps it)."""
    mine, other = Window(), Window()
    assert mine.allow(2, 60, now=0) and mine.allow(2, 60, now=1) and not mine.allow(2, 60, now=2)
    assert other.allow(2, 60, now=2)
    assert mine.allow(2, 60, now=61) and not mine.empty(60, now=61) and mine.empty(60, now=200)
    assert all(Window().allow(0, 60) for _ in range(100))


# --- the real `citebot bot` process against a fake Bot API on 127.0.0.1 ------------------------------

import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from conftest import write_articles  # noqa: E402
from fake_bot_api import FakeBotAPI  # noqa: E402

REAL = "123456789:AAHrealTOKENrealTOKENrealTOKEN_0123"
WRONG = "123456789:AAHwrongTOKENdoNotLeakItAnywhere_99"


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    from citebot.index.building import build
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.factory import load_encoder

    tmp = tmp_path_factory.mktemp("start")
    src = write_articles(tmp / "src", {"a.json": {"id": "a", "title": "Kite day", "text": "Kites flew on Sunday."}})
    cfg = IndexConfig(index_dir=tmp / "index")
    build([src], cfg, load_encoder(), on_problem=print)
    api = FakeBotAPI(REAL).start()
    yield cfg.index_dir, api
    api.stop()


def _start_bot(index_dir, token: str, api_url: str, **settings) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    env.update(HF_HUB_OFFLINE="1", CITEBOT_TELEGRAM_TOKEN=token, CITEBOT_TELEGRAM_API_URL=api_url,
               CITEBOT_INDEX_DIR=str(index_dir), **{f"CITEBOT_{k.upper()}": v for k, v in settings.items()})
    proc = subprocess.run([sys.executable, "-m", "citebot", "bot"], env=env, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_a_rejected_token_is_one_line_and_never_printed(tiny_index):
    index_dir, api = tiny_index
    code, output = _start_bot(index_dir, WRONG, api.base_url)
    assert code == 2 and _errors(output) and "Telegram rejected the bot token" in _errors(output)[0]
    assert "Traceback" not in output and WRONG not in output and WRONG.split(":")[1] not in output
    code, output = _start_bot(index_dir, REAL, api.base_url.replace("/bot", "/nobot"))  # a 404: not a Bot API
    assert code == 2 and "CITEBOT_TELEGRAM_API_URL" in _errors(output)[0] and REAL.split(":")[1] not in output


def test_an_unreachable_or_malformed_bot_api_is_one_line(tiny_index):
    index_dir, _ = tiny_index
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, output = _start_bot(index_dir, REAL, f"http://127.0.0.1:{port}/bot")
    assert code == 2 and "cannot reach the Telegram Bot API" in _errors(output)[0]
    assert "Traceback" not in output and REAL.split(":")[1] not in output
    code, output = _start_bot(index_dir, REAL, "api.telegram.org/bot")
    assert code == 2 and "CITEBOT_TELEGRAM_API_URL" in output and len(output.strip().splitlines()) == 1


def test_a_busy_webhook_port_or_bad_listen_address_is_one_line(tiny_index):
    index_dir, api = tiny_index
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        code, output = _start_bot(index_dir, REAL, api.base_url, telegram_webhook_url="https://x.invalid/telegram",
                                  telegram_webhook_port=port)
    assert code == 2 and "cannot listen for the webhook" in _errors(output)[0], output[-2000:]
    assert "Traceback" not in output
    code, output = _start_bot(index_dir, REAL, api.base_url, telegram_webhook_url="https://x.invalid/telegram",
                              telegram_webhook_listen="256.1.1.1")
    assert code == 2 and "CITEBOT_TELEGRAM_WEBHOOK_LISTEN" in _errors(output)[0], output[-2000:]


def test_a_state_folder_that_cannot_be_used_is_one_line(tiny_index, tmp_path):
    index_dir, api = tiny_index
    not_a_folder = tmp_path / "state"
    not_a_folder.write_text("a file where the state folder should be")
    code, output = _start_bot(index_dir, REAL, api.base_url, state_dir=str(not_a_folder))
    assert code == 2 and "CITEBOT_STATE_DIR" in _errors(output)[0], output[-2000:]
    assert "Traceback" not in output and REAL.split(":")[1] not in output
