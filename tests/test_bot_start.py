"""`citebot bot` fails at start, in one clear line, without a usable token; and never echoes it."""
import pytest

from bot.settings import load_settings
from bot.telegram_bot import RateLimiter, TokenError, read_token


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


def test_rate_limiter_counts_per_user():
    limiter = RateLimiter(2)
    assert limiter.allow(1) and limiter.allow(1) and not limiter.allow(1)
    assert limiter.allow(2)
    assert all(RateLimiter(0).allow(1) for _ in range(100))
