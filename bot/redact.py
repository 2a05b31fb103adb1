"""Secrets never leave the process: the bot token and the Qdrant API key are registered here once
read, and every line citebot prints or logs (tracebacks included) goes through `scrub`.

Libraries put the token where we do not control the text: python-telegram-bot's InvalidToken
message quotes it, httpx logs request URLs that carry it, a traceback prints the message.
"""
from __future__ import annotations

import logging
import re

_secrets: set[str] = set()
# A Telegram bot token anywhere in a text, even one never registered (a token in a wrong setting).
_TOKEN_SHAPE = re.compile(r"\b\d{3,}:[A-Za-z0-9_-]{30,}\b")


def register(secret: str | None) -> None:
    if secret and len(secret) >= 6:
        _secrets.add(secret)


def scrub(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "[secret]")
    return _TOKEN_SHAPE.sub("[secret]", text)


class RedactingFormatter(logging.Formatter):
    """Whatever a library logs (URLs, tracebacks), no secret reaches the output."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class _StartupFailure(logging.Filter):
    """python-telegram-bot logs a failed start (bad token, unreachable API) with a long traceback;
    the bot then says the same in one line that names the setting to fix."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("telegram") and "(Bootstrap" in record.getMessage())


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_StartupFailure())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, and Bot API URLs carry the token; faiss's loader reports at
    # INFO which CPU build it could not load, on every start.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "telegram.request", "faiss.loader", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
