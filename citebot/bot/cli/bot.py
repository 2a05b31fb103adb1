"""`citebot bot`: the Telegram bot."""
from __future__ import annotations

from .. import redact
from .common import app, extra_or_exit, fail, retriever_or_exit, settings_or_exit, warn

@app.command()
def bot() -> None:
    """Run the Telegram bot (long polling; a webhook when CITEBOT_TELEGRAM_WEBHOOK_URL is set)."""
    extra_or_exit("telegram", "telegram")
    from ..telegram import BotStartError, TokenError, read_token, run

    settings = settings_or_exit()
    try:
        token = read_token(settings, on_warning=warn)
    except TokenError as e:
        fail(str(e), 2)
    redact.setup_logging()
    retriever = retriever_or_exit(settings)
    try:
        run(settings, retriever, token)
    except BotStartError as e:
        fail(str(e), 2)
