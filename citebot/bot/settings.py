"""All settings, from the environment (prefix CITEBOT_) or a `.env` file; documented in
settings.example.env. A wrong value fails at start with a line naming the setting."""
from __future__ import annotations

import datetime as dt
import difflib
import os
import stat
from pathlib import Path
from urllib.parse import urlsplit
from typing import Annotated, Callable, Literal, Mapping

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from citebot.index.config import FetchConfig, IndexConfig, QdrantConfig
from citebot.index.answer import AnswerConfig

from . import redact

TELEGRAM_API_URL = "https://api.telegram.org/bot"


# CITEBOT_READER's words for the answer path's reader roles (index/answer/records.py: ReaderRole)
READER_ROLES = {"on": "decide", "verify": "verify", "rank": "rank"}
READER_SETTING = {role: word for word, role in READER_ROLES.items()}

class SettingsError(ValueError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITEBOT_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore")

    # defaults are index/'s own, so each lives in one place
    index_dir: Path = IndexConfig.index_dir
    embedding_model: str = IndexConfig.model
    embedding_dtype: Literal["auto", "fp32", "bf16", "int8"] = IndexConfig.dtype
    batch_size: int = Field(IndexConfig.batch_size, ge=1, le=1024)
    chunk_tokens: int = Field(IndexConfig.chunk_tokens, ge=16, le=512)
    chunk_overlap: int = Field(IndexConfig.chunk_overlap, ge=0, le=5)
    faiss_index: str = IndexConfig.faiss_index
    # one article's text; a JSONL or JSON-array file (an archive export) is read one article at a time
    max_article_mb: float = Field(IndexConfig.max_article_bytes / 2**20, gt=0, le=1024, allow_inf_nan=False)

    # where the index lives: this machine's folder, or a Qdrant server or cluster
    store: Literal["local", "qdrant"] = IndexConfig.store
    qdrant_url: str | None = QdrantConfig.url
    qdrant_path: Path | None = QdrantConfig.path
    qdrant_api_key: SecretStr | None = None
    qdrant_collection: str = Field(QdrantConfig.collection, pattern=r"^[A-Za-z0-9_-]{1,100}$")
    qdrant_shards: int = Field(QdrantConfig.shards, ge=1, le=1024)
    qdrant_replicas: int = Field(QdrantConfig.replicas, ge=1, le=16)
    qdrant_batch_size: int = Field(QdrantConfig.batch_size, ge=1, le=10_000)

    top_k: int = Field(AnswerConfig.k, ge=1, le=20)
    # the abstention model's confidence (0-1) under which the answer is "not found"; None = its fitted threshold
    min_score: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    # the reader (a cross-encoder shipped with citebot) orders, highlights and decides; off: the first stage does
    # verify: the reader only decides whether the archive answers; the first stage orders and bolds
    # rank: the reader only reorders what it reads; the first stage bolds and decides
    reader: Literal["on", "verify", "rank", "off"] = READER_SETTING.get(AnswerConfig.reader_role.value, "on") \
        if AnswerConfig.reader else "off"
    reader_top: int = Field(AnswerConfig.reader_top, ge=1, le=50)
    reader_dir: Path | None = None  # another reader model folder; None: the one shipped with citebot
    max_question_chars: int = Field(1000, ge=10, le=4000)
    # `citebot ask` and `citebot eval` answer as on this day ("this week" read against it, nothing
    # published later quoted); None: today. The bot always answers as of today.
    as_of: dt.date | None = None

    telegram_token: SecretStr | None = None
    telegram_token_file: Path | None = None
    telegram_api_url: str = TELEGRAM_API_URL
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = Field(8443, ge=1, le=65535)
    allowed_users: Annotated[list[int], NoDecode] = []
    allowed_chats: Annotated[list[int], NoDecode] = []
    rate_limit_per_minute: int = Field(20, ge=0)

    # sources: feeds and pages, retention, the bot's own refresh
    keep_days: int = Field(0, ge=0, le=36500)  # articles older than this go at each update (0 = keep all)
    fetch_allow_private: bool = FetchConfig.allow_private
    fetch_timeout: float = Field(FetchConfig.timeout_s, gt=0, le=600, allow_inf_nan=False)
    fetch_queue_timeout: float = Field(FetchConfig.queue_timeout_s, gt=0, le=3600, allow_inf_nan=False)
    fetch_max_mb: float = Field(FetchConfig.max_bytes / 2**20, gt=0, le=1024, allow_inf_nan=False)
    fetch_per_host: int = Field(FetchConfig.per_host, ge=1, le=16)
    fetch_user_agent: str = Field(FetchConfig.user_agent, min_length=1, max_length=300)
    refresh_minutes: float = Field(0, ge=0, le=7 * 24 * 60, allow_inf_nan=False)
    admin_users: Annotated[list[int], NoDecode] = []

    # following topics, and what the bot keeps between restarts
    watch_seconds: float = Field(30, gt=0, le=3600, allow_inf_nan=False)  # how often the index is checked for news
    follow_max_per_hour: int = Field(10, ge=0)  # pushes per chat per hour (0 = no limit)
    state_dir: Path | None = None  # None: beside the index (INDEX_DIR/../bot-state)

    # running it as a service: the bot's heartbeat for `citebot doctor`, the questions it could not answer
    status_file: Path | None = None  # None: no status file
    status_seconds: float = Field(60, ge=1, le=3600, allow_inf_nan=False)  # how often the bot writes it
    unanswered_log: Path | None = None  # None: questions not answered are not recorded

    # `citebot serve`: the page and the HTTP API
    web_host: str = "127.0.0.1"  # this machine only, unless told otherwise
    web_port: int = Field(8080, ge=1, le=65535)
    web_api_key: SecretStr | None = None  # when set (or its file), every route needs it
    web_api_key_file: Path | None = None
    web_rate_per_minute: int = Field(60, ge=0, le=100_000)  # requests per client per minute (0 = no limit)
    web_threads: int | None = Field(None, ge=1, le=256)  # questions answered at once; None: one per core

    @field_validator("allowed_users", "allowed_chats", "admin_users", mode="before")
    @classmethod
    def _comma_ids(cls, v: object) -> object:
        if isinstance(v, str):
            return [int(x) for x in v.replace(";", ",").split(",") if x.strip()]
        if isinstance(v, int):
            return [v]
        return v

    @field_validator("telegram_token", "telegram_webhook_url", "telegram_token_file", "telegram_webhook_secret",
                     "min_score", "state_dir", "reader_dir", "status_file", "unanswered_log", "web_api_key",
                     "web_api_key_file", "web_threads", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("qdrant_url", "qdrant_path", "qdrant_api_key", mode="before")
    @classmethod
    def _empty_qdrant_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("telegram_api_url", "qdrant_url")
    @classmethod
    def _http_url(cls, v: str | None, info) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            example = "http://localhost:6333" if info.field_name == "qdrant_url" else "https://api.telegram.org/bot"
            raise ValueError(f"must be an http:// or https:// URL, e.g. {example}")
        try:
            parts.port
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        return v

    def index_config(self) -> IndexConfig:
        return IndexConfig(index_dir=self.index_dir, model=self.embedding_model, dtype=self.embedding_dtype,
                           chunk_tokens=self.chunk_tokens, chunk_overlap=self.chunk_overlap,
                           faiss_index=self.faiss_index, batch_size=self.batch_size, store=self.store,
                           qdrant=self.qdrant_config(), max_article_bytes=int(self.max_article_mb * 2**20))

    def qdrant_config(self) -> QdrantConfig:
        key = self.qdrant_api_key.get_secret_value() if self.qdrant_api_key else None
        return QdrantConfig(url=self.qdrant_url, path=self.qdrant_path, api_key=key,
                            collection=self.qdrant_collection, shards=self.qdrant_shards,
                            replicas=self.qdrant_replicas, batch_size=self.qdrant_batch_size)


    def state_path(self) -> Path:
        """Where the bot keeps chats' follows, More pages and rate windows: beside the index unless set."""
        return self.state_dir if self.state_dir is not None else Path(self.index_dir).parent / "bot-state"

    def fetch_config(self) -> FetchConfig:
        return FetchConfig(user_agent=self.fetch_user_agent, timeout_s=self.fetch_timeout,
                           queue_timeout_s=self.fetch_queue_timeout,
                           max_bytes=int(self.fetch_max_mb * 2**20), per_host=self.fetch_per_host,
                           allow_private=self.fetch_allow_private)


ENV_FILE = ".env"
PREFIX = "CITEBOT_"
# settings whose value is a secret, or may carry one (a URL's user:password@)
SECRET_SETTINGS = ("TELEGRAM_TOKEN", "QDRANT_API_KEY", "TELEGRAM_WEBHOOK_SECRET", "QDRANT_URL", "TELEGRAM_API_URL",
                   "WEB_API_KEY")


def known_names() -> list[str]:
    return [PREFIX + name.upper() for name in Settings.model_fields]


def unknown_settings(names) -> str | None:
    """One line naming every CITEBOT_ variable that is no setting, each with the closest one: a
    misspelled CITEBOT_KEEP_DAY=5 would otherwise be ignored without a word."""
    known = known_names()
    unknown = sorted({n.upper() for n in names if n.upper().startswith(PREFIX)} - set(known))
    if not unknown:
        return None
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        parts.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return f"unknown setting(s) ignored: {', '.join(parts)}; settings.example.env lists them all"


def readable_by_others(path: Path, what: str) -> str | None:
    """A warning when a file holding a secret can be read (or written) by other users."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (f"{what} {path} holds a secret and other users may read it (mode {mode:04o}): "
            f"`chmod 600 {path}`")


def _env_file_warnings(path: Path) -> tuple[list[str], list[str]]:
    """(the CITEBOT_ names the .env file sets, a warning when it holds a secret others may read)."""
    if not path.is_file():
        return [], []
    from dotenv import dotenv_values

    try:
        values = dotenv_values(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return [], []
    names = [k for k in values if k]
    secret = any(values.get(k) and k.upper().removeprefix(PREFIX) in SECRET_SETTINGS
                 and (not k.upper().endswith("_URL") or "@" in (values.get(k) or "")) for k in names)
    exposed = readable_by_others(path, "the settings file") if secret else None
    return names, [exposed] if exposed else []


def settings_warnings(environ: Mapping[str, str] | None = None, env_file: str | Path = ENV_FILE) -> list[str]:
    """What is worth a warning at start: unknown CITEBOT_ variables (environment and .env), and a
    .env holding a secret that other users can read."""
    environ = os.environ if environ is None else environ
    names, warnings = _env_file_warnings(Path(env_file))
    unknown = unknown_settings([*environ, *names])
    return ([unknown] if unknown else []) + warnings


def load_settings(on_warning: Callable[[str], None] | None = None, **overrides) -> Settings:
    """The settings; a wrong value raises SettingsError naming it. `on_warning` hears what is
    allowed but probably wrong (a misspelled name, a .env others can read)."""
    try:
        settings = Settings(**overrides)
    except ValidationError as e:
        first = e.errors()[0]
        name = "CITEBOT_" + "_".join(str(p) for p in first["loc"] if isinstance(p, str)).upper()
        raise SettingsError(f"setting {name}: {first['msg']}") from None
    if settings.qdrant_api_key is not None:  # never printed or logged from here on
        redact.register(settings.qdrant_api_key.get_secret_value())
    redact.register_url(settings.qdrant_url)  # http://admin:password@host: the password, too
    redact.register_url(settings.telegram_api_url)
    if on_warning is not None:
        for line in settings_warnings():
            on_warning(line)
    return settings
