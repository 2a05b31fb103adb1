"""The bot's state file under CITEBOT_STATE_DIR: PTB's PicklePersistence with three changes that
a long-running bot needs. The file is written whole to a temporary name and renamed (a crash
mid-write leaves the previous state, never half a file), only in rounds where something changed,
and readable by its owner only (it names chats and holds their questions). A file that cannot be
read — damaged, or written by an incompatible citebot — is logged, moved aside and the bot starts
clean instead of refusing to start.

What goes in: chat_data, user_data, bot_data (context.py) and the callback data behind "More"
buttons. Runtime objects (settings with the token, the retriever) never do.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import pickle
import tempfile
from pathlib import Path

from telegram.ext import PersistenceInput, PicklePersistence
from telegram.ext._picklepersistence import _BotPickler  # the pickler that keeps Bot objects (and the token) out

from .context import CONTEXT_TYPES, BotData, ChatData, UserData

log = logging.getLogger("citebot.bot")
STATE_FILE = "telegram-state.pickle"
UPDATE_INTERVAL_S = 10


class StateError(RuntimeError):
    """The state folder cannot be used (one line naming CITEBOT_STATE_DIR)."""


class StatePersistence(PicklePersistence):
    def __init__(self, state_dir: Path):
        try:
            Path(state_dir).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StateError(f"cannot create the state folder {state_dir}: {e.strerror or e}; "
                             "check CITEBOT_STATE_DIR") from None
        if not os.access(state_dir, os.W_OK | os.X_OK):
            raise StateError(f"cannot write in the state folder {state_dir}; check CITEBOT_STATE_DIR")
        super().__init__(Path(state_dir) / STATE_FILE, store_data=PersistenceInput(), single_file=True,
                         on_flush=True, update_interval=UPDATE_INTERVAL_S, context_types=CONTEXT_TYPES)
        self._dirty = False

    # -- reading: a bad file is moved aside, never fatal ------------------------------------
    def _load_singlefile(self) -> None:
        try:
            super()._load_singlefile()
            _check(self.bot_data, self.chat_data, self.user_data)
        except (TypeError, ValueError, AttributeError) as e:
            aside = self.filepath.with_name(f"{self.filepath.name}.bad-{dt.datetime.now():%Y%m%d-%H%M%S}")
            try:
                os.replace(self.filepath, aside)
                where = f"moved aside to {aside}"
            except OSError as move:
                where = f"could not be moved aside ({move.strerror})"
            cause = e.__cause__ or e
            log.error("the bot's state file %s cannot be read (%s: %s); it was %s and the bot starts with a "
                      "clean state", self.filepath, type(cause).__name__, cause, where)
            self.conversations, self.user_data, self.chat_data = {}, {}, {}
            self.bot_data, self.callback_data = BotData(), None

    # -- writing: whole file, atomically, only when something changed -------------------------
    def _dump_singlefile(self) -> None:
        data = {"conversations": self.conversations, "user_data": self.user_data, "chat_data": self.chat_data,
                "bot_data": self.bot_data, "callback_data": self.callback_data}
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.filepath.parent)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                _BotPickler(self.bot, f, protocol=pickle.HIGHEST_PROTOCOL).dump(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.filepath)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def write_if_changed(self) -> None:
        """Called after each persistence round (context.CitebotApplication)."""
        if self._dirty:
            self._dirty = False
            await self.flush()

    async def update_chat_data(self, chat_id, data) -> None:
        self._dirty |= (self.chat_data or {}).get(chat_id) != data
        await super().update_chat_data(chat_id, data)

    async def update_user_data(self, user_id, data) -> None:
        self._dirty |= (self.user_data or {}).get(user_id) != data
        await super().update_user_data(user_id, data)

    async def update_bot_data(self, data) -> None:
        self._dirty |= self.bot_data != data
        await super().update_bot_data(data)

    async def update_callback_data(self, data) -> None:
        self._dirty |= self.callback_data != data
        await super().update_callback_data(data)

    async def drop_chat_data(self, chat_id) -> None:
        self._dirty = True
        await super().drop_chat_data(chat_id)

    async def drop_user_data(self, user_id) -> None:
        self._dirty = True
        await super().drop_user_data(user_id)


def _check(bot_data, chat_data, user_data) -> None:
    """The loaded state is this citebot's: the right classes, with any field added since the file
    was written filled in with its default (an upgrade keeps the chats' follows)."""
    if not isinstance(bot_data, BotData):
        raise TypeError(f"it holds {type(bot_data).__name__} where the bot's data should be")
    _complete(bot_data)
    for table, kind in ((chat_data, ChatData), (user_data, UserData)):
        for key, value in (table or {}).items():
            if not isinstance(value, kind):
                raise TypeError(f"it holds {type(value).__name__} where {kind.__name__} should be")
            _complete(value)


def _complete(obj) -> None:
    for f in dataclasses.fields(obj):
        if f.name not in vars(obj):
            if f.default is not dataclasses.MISSING:
                object.__setattr__(obj, f.name, f.default)
            elif f.default_factory is not dataclasses.MISSING:
                object.__setattr__(obj, f.name, f.default_factory())
        value = getattr(obj, f.name, None)
        for item in value if isinstance(value, list) else [value]:
            if dataclasses.is_dataclass(item) and not isinstance(item, type):
                _complete(item)
