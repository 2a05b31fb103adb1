"""What every check shares: the Check record (ok, FAIL or skipped, with one line saying why) and
the Probe (the settings, and what one check learnt that another needs)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..settings import Settings

OK, FAIL, SKIPPED = "ok", "FAIL", "skipped"
# a monitor's probe must not hang on a dead server: Qdrant gets this long, and no retries
TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # OK | FAIL | SKIPPED
    detail: str

    @property
    def failed(self) -> bool:
        return self.state == FAIL

    def to_json(self) -> dict:
        return {"name": self.name, "ok": not self.failed, "skipped": self.state == SKIPPED, "detail": self.detail}


@dataclass
class Probe:
    """What the checks share: the settings, the index's configuration with the short timeout, and
    what one check learnt that another needs (the recorded sources, whether there is an index)."""
    settings: Settings
    index_found: bool = False
    _sources: list[dict] | None = field(default=None, repr=False)
    _sources_read: bool = field(default=False, repr=False)

    def index_config(self):
        cfg = self.settings.index_config()
        return dataclasses.replace(cfg, qdrant=dataclasses.replace(cfg.qdrant, timeout_s=TIMEOUT_S, retries=0))

    def sources(self) -> list[dict] | None:
        """The recorded sources with their last refresh (`citebot index sources`); None when the
        index cannot be read (the index check, which runs first, says why)."""
        if not self._sources_read and self.index_found:
            from citebot.index.extras import MissingExtra
            from citebot.index.inspecting import list_sources
            from citebot.index.stores.base import IndexProblem

            self._sources_read = True
            try:
                self._sources = list_sources(self.index_config())
            except (IndexProblem, MissingExtra):
                self._sources = None
        return self._sources
