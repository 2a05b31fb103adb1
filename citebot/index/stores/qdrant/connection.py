"""The client of one Qdrant server or local-mode folder, shared by a process; calls tried again
with backoff on transient errors, and every failure turned into one line without the API key."""
from __future__ import annotations

import atexit
import contextlib
import threading
import time
import warnings
from pathlib import Path
from typing import Callable

from ...config import QdrantConfig
from ...extras import require
from ..base import IndexProblem, StoreUnavailable

TRANSIENT_STATUS = {429, 500, 502, 503, 504}
BACKOFF_S = 0.25  # first wait before a retry; doubled each time


class CollectionMissing(IndexProblem):
    """The collection or alias asked for does not exist (HTTP 404)."""


class Connection:
    """A client and how to call it. Local mode holds its folder for one process, so every store of
    a process shares one client per place; its calls are serialised (it is plain Python)."""

    def __init__(self, cfg: QdrantConfig):
        QdrantClient = require("qdrant_client", "qdrant").QdrantClient

        self.cfg = cfg
        self.local = cfg.url is None
        self.lock = threading.RLock() if self.local else contextlib.nullcontext()
        if self.local:
            try:
                self.client = QdrantClient(path=str(cfg.path))
            except RuntimeError as e:
                if "already accessed" not in str(e):
                    raise
                raise StoreUnavailable(
                    f"the Qdrant folder {cfg.path} is open in another process (local mode serves one process at a "
                    "time; run a Qdrant server and set CITEBOT_QDRANT_URL to build while a bot serves)") from None
        else:
            with warnings.catch_warnings():  # "Api key is used with an insecure connection": README says use https
                warnings.simplefilter("ignore")
                self.client = QdrantClient(url=cfg.url, api_key=cfg.api_key, timeout=max(1, int(cfg.timeout_s)),
                                           check_compatibility=False)

    def where(self) -> str:
        return f"the Qdrant folder {self.cfg.path}" if self.local else f"the Qdrant server at {self.cfg.url}"

    def call(self, what: str, fn: Callable, *args, write: bool = False, **kwargs):
        """fn(*args, **kwargs), tried again on a transient error (with backoff); anything else, or
        the last try, becomes one line (StoreUnavailable / IndexProblem) without the API key."""
        tries = 1 + max(0, self.cfg.retries)
        for attempt in range(tries):
            try:
                with self.lock:
                    return fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - sorted below; a bug still surfaces as itself
                kind, message, transient = self._explain(e)
                if kind is None:
                    raise
                if kind is StoreUnavailable and transient and attempt + 1 < tries:
                    time.sleep(BACKOFF_S * 2**attempt)
                    continue
                tail = "; nothing was changed, the served index stays as it was" if write else ""
                raise kind(self._scrub(f"{message} (while {what}){tail}")) from None

    def _explain(self, e: Exception) -> tuple[type[IndexProblem] | None, str, bool]:
        """(the error to raise, the line it says, whether trying again may help); (None, ...) for
        what is not the store's error (a bug: raised as it is)."""
        import httpx
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        if isinstance(e, ResponseHandlingException):
            e = e.source if isinstance(e.source, Exception) else e
        if isinstance(e, httpx.TimeoutException):
            return StoreUnavailable, (f"{self.where()} did not answer within {self.cfg.timeout_s:g} s: check "
                                      "CITEBOT_QDRANT_URL and the server's load"), True
        if isinstance(e, httpx.TransportError):
            reason = str(e).split("] ")[-1] or type(e).__name__
            return StoreUnavailable, (f"cannot reach {self.where()} ({reason}): check CITEBOT_QDRANT_URL and that "
                                      "the server is running"), True
        if isinstance(e, UnexpectedResponse):
            status = e.status_code or 0
            if status in (401, 403):
                return StoreUnavailable, (f"{self.where()} refused the API key (HTTP {status}): check "
                                          "CITEBOT_QDRANT_API_KEY"), False
            line = f"{self.where()} answered HTTP {status}: {_response_detail(e)}"
            if status == 404:
                return CollectionMissing, line, False
            return (StoreUnavailable if status in TRANSIENT_STATUS else IndexProblem), line, status in TRANSIENT_STATUS
        if self.local and isinstance(e, (ValueError, KeyError)) and "not found" in str(e).lower():
            return CollectionMissing, f"{self.where()}: {str(e).splitlines()[0][:200]}", False
        return None, "", False

    def _scrub(self, text: str) -> str:
        key = self.cfg.api_key
        return text.replace(key, "[secret]") if key else text


def _response_detail(e) -> str:
    try:
        return str(e.structured().get("status", {}).get("error") or e.reason_phrase)[:200]
    except (ValueError, AttributeError):
        return (e.reason_phrase or "")[:200]


_clients: dict[tuple, Connection] = {}
_connections_lock = threading.Lock()


def connection(cfg: QdrantConfig) -> Connection:
    key = (cfg.url, str(Path(cfg.path).resolve()) if cfg.path else None, cfg.api_key)
    with _connections_lock:
        conn = _clients.get(key)
        if conn is None:
            if not _clients:  # closed before the interpreter tears modules down (local mode's
                atexit.register(close_connections)  # client otherwise complains on stderr at exit)
            conn = _clients[key] = Connection(cfg)
        return conn


def close_connections() -> None:
    """Close every client of this process (a local-mode folder is then free for another process)."""
    with _connections_lock:
        for conn in _clients.values():
            with contextlib.suppress(Exception):
                conn.client.close()
        _clients.clear()


