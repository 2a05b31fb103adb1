"""The bot keeping up with its sources: an admin adds a page from the chat, others may not, and
a feed that changes is refreshed in the background while the bot answers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from conftest import REPO
from fake_bot_api import FakeBotAPI, html_error, visible_text
from local_site import LocalSite
from test_sources import FERRY, HARBOUR, SCHOOL, _feed

TOKEN = "123456789:AAHtestTOKENdoNotLeakItAnywhere_0123456"
ADMIN, READER = 7, 8


def test_an_admin_adds_a_url_from_the_chat_and_the_bot_refreshes_its_feed_on_its_own(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CITEBOT_FETCH_ALLOW_PRIVATE", "1")
    site = LocalSite().start()
    api = FakeBotAPI(TOKEN).start()
    proc = None
    log_path = tmp_path / "bot.log"
    try:
        site.put("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
        site.put("/news/ferry.html", FERRY)
        site.put("/news/harbour.html", HARBOUR)
        school = site.put("/school.html", SCHOOL)
        feed = _feed(site, ["ferry"], etag='"1"')
        assert cli("index", "add", feed)[0] == 0
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
        env.update(HF_HUB_OFFLINE="1", CITEBOT_TELEGRAM_TOKEN=TOKEN, CITEBOT_TELEGRAM_API_URL=api.base_url,
                   CITEBOT_INDEX_DIR=str(tmp_path / "index"), CITEBOT_ADMIN_USERS=str(ADMIN),
                   CITEBOT_REFRESH_MINUTES="0.05", CITEBOT_FETCH_ALLOW_PRIVATE="1", PYTHONUNBUFFERED="1")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "citebot", "bot"], cwd=REPO, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
        api.wait_for(lambda: "getUpdates" in api.requests or proc.poll() is not None, 120, "the bot to poll")
        assert proc.poll() is None, log_path.read_text()

        api.message(READER, f"/add {school}")
        assert "Only the bot's admins" in api.wait_messages(READER)[0].text
        api.message(ADMIN, school)  # a bare URL from an admin: added, with its title and date back
        reply = api.wait_for(lambda: [m for m in api.messages_to(ADMIN) if "Added" in m.text or "Could not" in m.text],
                             180, "the page to be added")[0]
        assert visible_text(reply.text) == "Added the page “Storm-damaged school roof repaired before term” (27 Feb 2026)."

        _feed(site, ["ferry", "harbour"], etag='"2"')  # the feed changes: the bot's own refresh picks it up
        api.wait_for(lambda: "refresh: added 1" in log_path.read_text(), 180, "a background refresh")
        api.message(READER, "When will the harbour wall repairs begin?")
        answer = api.wait_for(lambda: [m for m in api.messages_to(READER) if "April" in visible_text(m.text)], 60,
                              "an answer from the new item")[0]
        assert site.url("/news/harbour.html") in answer.text

        api.message(ADMIN, "/sources")
        listing = api.wait_for(lambda: [m for m in api.messages_to(ADMIN) if "Sources:" in m.text], 60, "/sources")[0]
        assert html_error(listing.text) is None
        assert "feed “Marrow Bay Courier”: 2 article(s)" in visible_text(listing.text)
        assert TOKEN not in log_path.read_text()
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        api.stop()
        site.stop()
