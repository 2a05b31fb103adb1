"""Webhook mode: the bot registers its webhook with the Bot API and answers updates posted to it,
refusing posts without the secret token."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from conftest import write_articles
from fake_bot_api import FakeBotAPI, visible_text

TOKEN = "987654321:AAHwebhookTOKENwebhookTOKEN_0123456789"
SECRET = "webhook-secret-42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until the bot's webhook server accepts connections: setWebhook is sent before the server
    listens, so a first POST right after it can be refused under load. Polled, bounded, never a
    fixed sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the bot exited before its webhook server listened"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout:g} s")


def _post(port: int, update: dict, secret: str) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/telegram", data=json.dumps(update).encode(),
                                 headers={"Content-Type": "application/json",
                                          "X-Telegram-Bot-Api-Secret-Token": secret})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def test_webhook_mode_answers_posted_updates(tmp_path, encoder):
    from citebot.index.building import build
    from citebot.index.config import IndexConfig

    src = write_articles(tmp_path / "src", {"kite.json": {"id": "kite", "title": "Kite festival returns",
                                                          "text": "The kite festival returns to Wendford beach on 14 June, "
                                                                  "with a giant octopus kite from Japan."}})
    cfg = IndexConfig(index_dir=tmp_path / "index")
    build([src], cfg, encoder, on_problem=print)
    api = FakeBotAPI(TOKEN).start()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    env.update(HF_HUB_OFFLINE="1", CITEBOT_TELEGRAM_TOKEN=TOKEN, CITEBOT_TELEGRAM_API_URL=api.base_url,
               CITEBOT_INDEX_DIR=str(cfg.index_dir), CITEBOT_TELEGRAM_WEBHOOK_URL="https://bot.example.invalid/telegram",
               CITEBOT_TELEGRAM_WEBHOOK_SECRET=SECRET, CITEBOT_TELEGRAM_WEBHOOK_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "-m", "citebot", "bot"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        api.wait_for(lambda: "setWebhook" in api.requests or proc.poll() is not None, 120, "setWebhook")
        hook = next(s for s in api.sent if s.method == "setWebhook")
        assert hook.params["url"] == "https://bot.example.invalid/telegram"
        assert hook.params["secret_token"] == SECRET
        update = {"update_id": 1, "message": {"message_id": 5, "date": 0, "text": "When does the kite festival return?",
                                              "chat": {"id": 77, "type": "private", "first_name": "U"},
                                              "from": {"id": 77, "is_bot": False, "first_name": "U"}}}
        wait_listening(port, proc)
        assert _post(port, {**update, "update_id": 0}, "wrong") == 403
        assert _post(port, update, SECRET) == 200
        reply = api.wait_messages(77)[0]
        assert "14 June" in visible_text(reply.text)
        assert len(api.messages_to(77)) == 1, "the post with a wrong secret was not answered"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        api.stop()
    assert proc.returncode == 0
    assert TOKEN not in out.decode(errors="replace")
