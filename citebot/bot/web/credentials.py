"""The web API key: from CITEBOT_WEB_API_KEY or the file CITEBOT_WEB_API_KEY_FILE (secret_files.py),
long enough to guard anything."""
from __future__ import annotations

from typing import Callable

from ..secret_files import SecretError, read_secret
from ..settings import Settings

MIN_LENGTH = 16


class ApiKeyError(ValueError):
    pass


def read_api_key(settings: Settings, on_warning: Callable[[str], None] | None = None) -> str | None:
    """The key every route will demand, or None when none is set."""
    try:
        found = read_secret(settings.web_api_key, settings.web_api_key_file, "WEB_API_KEY", on_warning)
    except SecretError as e:
        raise ApiKeyError(str(e)) from None
    if found is None:
        return None
    key, origin = found
    if len(key) < MIN_LENGTH or any(c.isspace() for c in key):
        raise ApiKeyError(f"{origin}: an API key needs at least {MIN_LENGTH} characters and no spaces "
                          "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)")
    return key
