"""The web API key: from CITEBOT_WEB_API_KEY or the file CITEBOT_WEB_API_KEY_FILE, read once and
registered with redact so no log line or error shows it."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .. import redact
from ..settings import Settings, readable_by_others

MIN_LENGTH = 16


class ApiKeyError(ValueError):
    pass


def read_api_key(settings: Settings, on_warning: Callable[[str], None] | None = None) -> str | None:
    """The key every route will demand, or None when none is set."""
    if settings.web_api_key is not None:
        key, origin = settings.web_api_key.get_secret_value().strip(), "CITEBOT_WEB_API_KEY"
    elif settings.web_api_key_file is not None:
        path = Path(settings.web_api_key_file)
        try:
            key = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise ApiKeyError(f"CITEBOT_WEB_API_KEY_FILE: cannot read {path} ({getattr(e, 'strerror', None) or e})") from None
        origin = "CITEBOT_WEB_API_KEY_FILE"
        exposed = readable_by_others(path, origin)
        if exposed and on_warning is not None:
            on_warning(exposed)
    else:
        return None
    if len(key) < MIN_LENGTH or any(c.isspace() for c in key):
        raise ApiKeyError(f"{origin}: an API key needs at least {MIN_LENGTH} characters and no spaces "
                        "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)")
    redact.register(key)
    return key
