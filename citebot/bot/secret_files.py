"""A secret from its setting or from the file its _FILE setting names: read once, stripped,
registered with redact so no log line or error shows it. The bot token and the web API key both
come this way; each caller checks the shape it needs."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from pydantic import SecretStr

from . import redact
from .settings import readable_by_others


class SecretError(ValueError):
    """The secret's file cannot be read; the message names the setting, never the secret."""


def read_secret(value: SecretStr | None, file: Path | None, name: str,
                on_warning: Callable[[str], None] | None = None) -> tuple[str, str] | None:
    """(the secret, the setting it came from), None when neither CITEBOT_<name> nor CITEBOT_<name>_FILE
    is set. A file other users can read is worth a warning (`on_warning`)."""
    if value is not None:
        secret, origin = value.get_secret_value().strip(), f"CITEBOT_{name}"
    elif file is not None:
        origin = f"CITEBOT_{name}_FILE"
        try:
            secret = Path(file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise SecretError(f"{origin}: cannot read {file} ({getattr(e, 'strerror', None) or type(e).__name__})") \
                from None
        exposed = readable_by_others(Path(file), origin)
        if exposed and on_warning is not None:
            on_warning(exposed)
    else:
        return None
    if secret:
        redact.register(secret)
    return secret, origin
