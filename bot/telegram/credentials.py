"""The bot token: read once, checked for shape, registered with redact so no log line shows it."""
from __future__ import annotations

import re
from pathlib import Path

from .. import redact
from ..settings import Settings

TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")


class TokenError(ValueError):
    pass


def read_token(settings: Settings) -> str:
    """The token from CITEBOT_TELEGRAM_TOKEN or CITEBOT_TELEGRAM_TOKEN_FILE; errors never quote it."""
    if settings.telegram_token is not None:
        token = settings.telegram_token.get_secret_value().strip()
        origin = "CITEBOT_TELEGRAM_TOKEN"
    elif settings.telegram_token_file is not None:
        try:
            token = Path(settings.telegram_token_file).read_text().strip()
        except OSError as e:
            raise TokenError(f"CITEBOT_TELEGRAM_TOKEN_FILE: cannot read {settings.telegram_token_file} ({e.strerror})") from None
        origin = "CITEBOT_TELEGRAM_TOKEN_FILE"
    else:
        raise TokenError("no bot token: set CITEBOT_TELEGRAM_TOKEN (from @BotFather) or CITEBOT_TELEGRAM_TOKEN_FILE")
    if not TOKEN_RE.match(token):
        raise TokenError(f"{origin} does not look like a bot token (expected digits, a colon and 30+ letters)")
    redact.register(token)
    return token
