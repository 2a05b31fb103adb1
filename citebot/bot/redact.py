"""Secrets never leave the process: the bot token, the Qdrant API key and passwords in URL settings
are registered here once read, and every line citebot prints or logs (tracebacks included, and
every library's log records) goes through `scrub`.

Libraries and servers put secrets where we do not control the text: python-telegram-bot's
InvalidToken message quotes the token, httpx logs request URLs that carry it, and a Bot API's
error page (a proxy's 502, "Cannot POST /bot123456789%3AAA...") echoes the request path
percent-encoded, which PTB then logs as "Can not load invalid JSON data". So each secret is
matched in every spelling a URL, an HTML page or a JSON string may give it (raw, %XX in either
case, %25XX, &#NN; entities, \\uXXXX escapes), any URL's userinfo (`http://admin:pw@host`) is
dropped, and terminal control sequences are taken out of the same lines.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

from citebot.index.text.controls import strip_controls

MIN_SECRET = 6  # shorter strings would mangle ordinary text; URL userinfo is dropped by shape instead
_patterns: dict[str, re.Pattern] = {}

# The separator of a Telegram token, in the spellings a URL or page may give it.
_COLON = r"(?::|%3[aA]|%253[aA]|&#58;|&#[xX]3[aA];|\\u003[aA])"
# A Telegram bot token anywhere in a text, even one never registered (a token in a wrong setting).
# (Bot API paths glue it to "bot": /bot123:AA...)
_TOKEN_SHAPE = re.compile(r"(?:(?<=bot)|(?<![A-Za-z0-9]))\d{3,}" + _COLON + r"[A-Za-z0-9_-]{30,}(?![A-Za-z0-9_-])")
# userinfo of any URL: scheme://user:password@host -> scheme://host
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,20}://)[^/\s@?#\"'<>]{1,256}@")


def _hex(b: int) -> str:
    """One byte as %XX or %25XX (encoded twice), hex digits in either case."""
    hi, lo = f"{b:02x}"
    return "%(?:25)?" + "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in (hi, lo))


def _char_pattern(ch: str) -> str:
    """`ch` raw or in any of the encodings a server may echo it with."""
    if ch.isascii() and ch.isalnum():
        return re.escape(ch)
    spellings = [re.escape(ch), "".join(_hex(b) for b in ch.encode("utf-8")), f"&#0*{ord(ch)};",
                 f"&#[xX]0*(?i:{ord(ch):x});", f"\\\\u(?i:{ord(ch):04x})"]
    if ch == " ":
        spellings.append(r"\+")
    return "(?:" + "|".join(spellings) + ")"


def register(secret: str | None) -> None:
    """Never print `secret`, in whatever encoding it comes back."""
    if not secret or len(secret) < MIN_SECRET or secret in _patterns:
        return
    _patterns[secret] = re.compile("".join(_char_pattern(c) for c in secret))


def register_url(url: str | None) -> None:
    """The password (and a long user name) of a URL setting, e.g. http://admin:pw@qdrant:6333."""
    if not url:
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    register(parts.password)
    if parts.password:
        register(parts.username)


def safe_url(url: str | None) -> str:
    """`url` as it may be printed: no userinfo (user:password@), no query (tokens live there)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return scrub(url)
    return scrub(urlunsplit((parts.scheme, netloc, parts.path, "", "")))


def scrub(text: str) -> str:
    """`text` as it may be printed: no registered secret in any encoding, no bot token, no URL
    userinfo, no terminal control sequence."""
    text = strip_controls(str(text))
    for secret in sorted(_patterns, key=len, reverse=True):
        text = _patterns[secret].sub("[secret]", text)
    text = _TOKEN_SHAPE.sub("[secret]", text)
    return _USERINFO.sub(r"\1", text)


class RedactingFilter(logging.Filter):
    """Scrubs a record in place before any handler formats it: message, arguments, traceback.
    Installed on the root handlers, so records of every library (python-telegram-bot, httpx,
    qdrant-client) pass through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string: say so rather than lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """Belt and braces: whatever the filter did not see (a formatter's own fields), scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


_FILTER = RedactingFilter()


def install_filter() -> None:
    """Every handler on the root logger, and the last-resort handler Python uses when there is
    none, scrubs what it is given. Idempotent; call again after adding handlers."""
    for handler in [*logging.getLogger().handlers, logging.lastResort]:
        if handler is not None and _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


class _StartupFailure(logging.Filter):
    """python-telegram-bot logs a failed start (bad token, unreachable API, a Bot API answering
    something that is not JSON) with a long traceback; the bot then says the same in one line
    that names the setting to fix."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("telegram"):
            return True
        message = record.getMessage()
        return not ("(Bootstrap" in message or message.startswith("Can not load invalid JSON data"))


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_StartupFailure())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_filter()
    # httpx logs every request URL, and Bot API URLs carry the token; faiss's loader reports at
    # INFO which CPU build it could not load, on every start.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "telegram.request", "faiss.loader", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
