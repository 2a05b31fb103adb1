"""One writer at a time per index.

A build or update reads the served generation, works for minutes, then publishes a new one. Two
at once would either delete each other's half-written segment or publish from the same old
generation, so one update silently undoes the other. The lock spans the whole of it.

It is an advisory `flock` on INDEX_DIR/.writer.lock, which the kernel releases when its holder
exits however it exits (kill -9 included): a lock left by a dead process is never in the way. The
holder writes its pid and command into the file so that a waiting writer can say whom it waits for.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from .stores.base import IndexProblem

LOCK_FILE = ".writer.lock"


class IndexBusy(IndexProblem):
    """Another process is writing this index and the caller asked not to wait."""


def _holder(fh) -> str:
    fh.seek(0)
    text = fh.read().strip()
    return text or "another citebot process"


@contextlib.contextmanager
def writer_lock(index_dir: Path, wait: bool = True,
                on_wait: Callable[[str], None] | None = None, poll_s: float = 0.2) -> Iterator[None]:
    """Hold the index's writer lock. When another process has it: with `wait`, tell `on_wait`
    once who holds it and wait; without, raise IndexBusy at once."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK_FILE, "a+") as fh:
        told = False
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(fh)
                if not wait:
                    raise IndexBusy(f"the index in {index_dir} is being written by {holder}: try again when it "
                                    "finishes (or leave out --no-wait to wait for it)") from None
                if not told and on_wait is not None:
                    on_wait(f"the index in {index_dir} is being written by {holder}; waiting for it to finish…")
                    told = True
                time.sleep(poll_s)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} ({' '.join(os.path.basename(a) for a in sys.argv[:3])})\n")
            fh.flush()
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
