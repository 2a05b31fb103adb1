"""One bounded poll for the tests and the benches that drive servers: a loop that stops by itself."""
from __future__ import annotations

import time


def poll(condition, timeout: float = 30.0, what: str = "condition", every: float = 0.05):
    """Call `condition()` until it is truthy, for at most `timeout` seconds; returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
