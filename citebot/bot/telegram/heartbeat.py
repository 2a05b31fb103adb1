"""The bot's heartbeat: with CITEBOT_STATUS_FILE set, the bot writes its status there at start,
every CITEBOT_STATUS_SECONDS and once more as it stops (health/status_file.py), so that
`citebot doctor` can tell a live bot from a stuck or dead one. It notes when the last update came
in (a handler in group -2, before the gate: only the time, nobody's id) and the last error logged
by anything in the process (scrubbed of secrets, one line)."""
from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from telegram import Update
from telegram.ext import Application, TypeHandler

from .. import redact
from ..health.status_file import MAX_ERROR_CHARS, BotStatus, write_status
from ..settings import Settings
from .tasks import run_alongside

log = logging.getLogger("citebot.bot")


class Heartbeat:
    def __init__(self, path: Path, interval_s: float):
        self.path = Path(path)
        self.interval_s = interval_s
        self.status = BotStatus(pid=os.getpid(), started=time.time(), interval_s=interval_s)
        self._failing: str | None = None  # the write error last logged (each new one is logged once)

    async def saw_update(self, update: object, context: object) -> None:
        self.status.last_update = time.time()

    def saw_error(self, line: str) -> None:
        self.status.last_error = redact.scrub(" ".join(line.split()))[:MAX_ERROR_CHARS]
        self.status.last_error_at = time.time()

    def write(self) -> None:
        try:
            write_status(self.path, self.status, time.time())
        except OSError as e:
            reason = f"cannot write the status file {self.path} ({e.strerror or e}): check CITEBOT_STATUS_FILE"
            if reason != self._failing:
                log.warning("%s", reason)  # a warning, so it does not become the status's own last error
            self._failing = reason
        else:
            self._failing = None

    async def loop(self) -> None:
        errors = _LastError(self)
        logging.getLogger().addHandler(errors)
        try:
            while True:
                self.write()
                await asyncio.sleep(self.interval_s)
        finally:  # cancelled as the bot stops: say so, so that the doctor does not wait to call it stale
            logging.getLogger().removeHandler(errors)
            self.status.state = "stopped"
            self.write()


class _LastError(logging.Handler):
    """Hears every record of level ERROR or above, from citebot or any library."""

    def __init__(self, heartbeat: Heartbeat):
        super().__init__(logging.ERROR)
        self.heartbeat = heartbeat

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.heartbeat.saw_error(f"{record.name}: {record.getMessage()}")
        except Exception:  # noqa: BLE001 - a log handler must never raise into the code that logged
            self.handleError(record)


def install(app: Application, settings: Settings) -> Heartbeat | None:
    """Start the heartbeat with the bot when CITEBOT_STATUS_FILE is set."""
    if settings.status_file is None:
        return None
    heartbeat = Heartbeat(settings.status_file, settings.status_seconds)
    app.add_handler(TypeHandler(Update, heartbeat.saw_update), group=-2)
    run_alongside(app, heartbeat.loop, "citebot-status")
    log.info("status written to %s every %g s", settings.status_file, settings.status_seconds)
    return heartbeat
