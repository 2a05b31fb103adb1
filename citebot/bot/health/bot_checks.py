"""The bot, for `citebot doctor`: its token is set and shaped like one (read by the bot's own
credentials code; never printed, and not sent to Telegram), and its status file is fresh."""
from __future__ import annotations

import time

from .probe import FAIL, OK, SKIPPED, Check, Probe
from .status_file import judge


def token_check(probe: Probe) -> Check:
    s = probe.settings
    if s.telegram_token is None and s.telegram_token_file is None:
        return Check("token", SKIPPED, "no bot configured (CITEBOT_TELEGRAM_TOKEN and _TOKEN_FILE are unset)")
    try:
        from ..telegram.credentials import TokenError, read_token
    except ImportError:  # the package needs python-telegram-bot: the extras check names the extra
        return Check("token", SKIPPED, "cannot be read without citebot[telegram] (see the extras check)")
    warnings: list[str] = []
    try:
        read_token(s, on_warning=warnings.append)  # registers it with redact: no output shows it
    except TokenError as e:
        return Check("token", FAIL, str(e))
    origin = "CITEBOT_TELEGRAM_TOKEN" if s.telegram_token is not None else "CITEBOT_TELEGRAM_TOKEN_FILE"
    return Check("token", OK, f"{origin} holds a bot token (its shape only: Telegram is not asked)"
                              + "".join(f"; warning: {w}" for w in warnings))


def status_check(probe: Probe) -> Check:
    s = probe.settings
    if s.status_file is None:
        return Check("bot-status", SKIPPED, "CITEBOT_STATUS_FILE is not set")
    healthy, line = judge(s.status_file, time.time(), s.status_seconds)
    return Check("bot-status", OK if healthy else FAIL, line)
