"""The bot token: read once, checked for shape, registered with redact so no log line shows it."""
from __future__ import annotations

import re
from typing import Callable

from .. import redact
from ..secret_files import SecretError, read_secret
from ..settings import Settings

TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")


class TokenError(ValueError):
    pass


def read_token(settings: Settings, on_warning: Callable[[str], None] | None = None) -> str:
    """The token from CITEBOT_TELEGRAM_TOKEN or CITEBOT_TELEGRAM_TOKEN_FILE; errors never quote it.
    A token file other users can read is worth a warning (`on_warning`)."""
    try:
        found = read_secret(settings.telegram_token, settings.telegram_token_file, "TELEGRAM_TOKEN", on_warning)
    except SecretError as e:
        raise TokenError(str(e)) from None
    if found is None:
        raise TokenError("no bot token: set CITEBOT_TELEGRAM_TOKEN (from @BotFather) or CITEBOT_TELEGRAM_TOKEN_FILE")
    token, origin = found
    if not TOKEN_RE.match(token):
        raise TokenError(f"{origin} does not look like a bot token (expected digits, a colon and 30+ letters)")
    redact.register(token)
    redact.register(token.partition(":")[2])  # the secret half alone, as a server may echo it
    return token
