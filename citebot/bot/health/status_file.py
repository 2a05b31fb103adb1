"""The running bot's status file (CITEBOT_STATUS_FILE): written every CITEBOT_STATUS_SECONDS by
`citebot bot`, read by `citebot doctor`, so a monitor learns from one command whether the bot is
alive without talking to Telegram. Written whole to a temporary file and renamed into place, so
a reader never sees half of it. It holds times, the pid and the last error line (scrubbed of
secrets): never a token, a chat or a user."""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

SCHEMA = "citebot.bot-status/1"
STALE_AFTER = 3  # intervals without a write before the bot counts as stuck or gone
MAX_ERROR_CHARS = 300


def iso(epoch: float | None, timespec: str = "seconds") -> str | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec=timespec)


def _epoch(text: object) -> float | None:
    try:
        return dt.datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return None


def span(seconds: float) -> str:
    """'12 s', '5 min', '3 h', '2 days': how long, for people."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


@dataclass
class BotStatus:
    """What the bot says about itself at each write."""
    pid: int
    started: float  # epoch seconds
    interval_s: float
    state: str = "running"  # "running" | "stopped" (written once as the bot stops)
    last_update: float | None = None  # when the last update from Telegram came in
    last_error: str | None = None  # the last error logged, one line, secrets scrubbed
    last_error_at: float | None = None

    def to_json(self, now: float) -> dict:
        return {"schema": SCHEMA, "time": iso(now, "milliseconds"), "state": self.state, "pid": self.pid,
                "started": iso(self.started), "uptime_s": round(now - self.started), "interval_s": self.interval_s,
                "last_update": iso(self.last_update), "last_error": self.last_error,
                "last_error_at": iso(self.last_error_at)}


def write_status(path: Path, status: BotStatus, now: float) -> None:
    """Replace the file at once (temporary file + rename in the same folder)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(status.to_json(now)) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def judge(path: Path, now: float, interval_s: float) -> tuple[bool, str]:
    """(healthy, one line): the file exists, is the bot's, the bot has not stopped, and it was
    written within STALE_AFTER intervals (its own interval when it says one, else `interval_s`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False, f"no status file at {path}: is `citebot bot` running with CITEBOT_STATUS_FILE set to it?"
    except OSError as e:
        return False, f"cannot read the status file {path} ({e.strerror or type(e).__name__})"
    except ValueError:  # not JSON, or not UTF-8
        data = None
    written = _epoch(data.get("time")) if isinstance(data, dict) and data.get("schema") == SCHEMA else None
    if written is None:
        return False, f"{path} is not a citebot status file"
    pid = data.get("pid")
    if data.get("state") == "stopped":
        return False, f"the bot (pid {pid}) stopped {span(now - written)} ago"
    interval = float(data.get("interval_s") or interval_s)
    age = now - written
    if age > STALE_AFTER * interval:
        return False, (f"the bot (pid {pid}) last wrote its status {span(age)} ago, more than {STALE_AFTER} x its "
                       f"{interval:g} s interval: it is stuck or not running")
    update = _epoch(data.get("last_update"))
    line = (f"the bot (pid {pid}) is up {span(float(data.get('uptime_s') or 0))}, status written {span(age)} ago; "
            f"last update {'never' if update is None else span(now - update) + ' ago'}")
    if data.get("last_error"):
        error_at = _epoch(data.get("last_error_at"))
        when = f" ({span(now - error_at)} ago)" if error_at is not None else ""
        line += f"; last error{when}: {str(data['last_error'])[:MAX_ERROR_CHARS]}"
    return True, line
