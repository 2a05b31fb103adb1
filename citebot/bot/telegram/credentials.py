"""The bot token: read once, checked for shape, registered with redact so no log line shows it."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from .. import redact
from ..settings import Settings, readable_by_others

TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")


class TokenError(ValueError):
    pass


def read_token(settings: Settings, on_warning: Callable[[str], None] | None = None) -> str:
    """The token from CITEBOT_TELEGRAM_TOKEN or CITEBOT_TELEGRAM_TOKEN_FILE; errors never quote it.
    A token file other users can read is worth a warning (`on_warning`)."""
    if settings.telegram_token is not None:
        token = settings.telegram_token.get_secret_value().strip()
        origin = "CITEBOT_TELEGRAM_TOKEN"
    elif settings.telegram_token_file is not None:
        try:
            token = Path(settings.telegram_token_file).read_text().strip()
        except OSError as e:
            raise TokenError(f"CITEBOT_TELEGRAM_TOKEN_FILE: cannot read {settings.telegram_token_file} ({e.strerror})") from None
        origin = "CITEBOT_TELEGRAM_TOKEN_FILE"
        exposed = readable_by_others(Path(settings.telegram_token_file), "CITEBOT_TELEGRAM_TOKEN_FILE")
        if exposed and on_warning is not None:
            on_warning(exposed)
    else:
        raise TokenError("no bot token: set CITEBOT_TELEGRAM_TOKEN (from @BotFather) or CITEBOT_TELEGRAM_TOKEN_FILE")
    if not TOKEN_RE.match(token):
        raise TokenError(f"{origin} does not look like a bot token (expected digits, a colon and 30+ letters)")
    redact.register(token)
    redact.register(token.partition(":")[2])  # the secret half alone, as a server may echo it
    return token
