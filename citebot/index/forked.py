"""Pure-Python build work spread over every core by forked processes that inherit what they read.

Chunking (sentence splitting with syntok, token counting, packing) is single-threaded Python: in a
build of 8,000 news articles (140,000 chunks) it took 91 s, a tenth of the build, while the second
core idled (embedding, which follows, uses both cores by itself). Forked children see the parent's
articles and tokenizer as they are, so only the results travel back. Forked, not spawned: a
spawned child re-runs the caller's main script (every script that builds an index would need a
`__main__` guard), and the children run only Python, regular expressions and the Rust tokenizer
(TOKENIZERS_PARALLELISM=false), never the parent's PyTorch, as PyTorch's own data-loader workers are
forked. Where fork is not offered (not Linux), or for small jobs where the pool costs more than it
saves, the work runs in-process with the same result."""
from __future__ import annotations

import os
from typing import Callable, TypeVar

T = TypeVar("T")
PARALLEL_FROM = 400  # items: below this, one process
BATCH = 64  # items per task: big enough that moving results is noise, small enough to share the work evenly

_job: Callable[[int], object] | None = None  # what the forked children run: set just before they are forked


def workers() -> int:
    """Processes worth starting here: the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _run(bounds: tuple[int, int]) -> list:
    assert _job is not None
    return [_job(i) for i in range(*bounds)]


def map_forked(job: Callable[[int], T], n: int, processes: int | None = None) -> list[T]:
    """[job(0), ..., job(n - 1)], computed across `processes` forked children (default: the cores)."""
    global _job
    import multiprocessing

    processes = workers() if processes is None else processes
    if processes < 2 or n < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return [job(i) for i in range(n)]
    from concurrent.futures import ProcessPoolExecutor

    _job = job
    try:
        with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork")) as pool:
            return [r for part in pool.map(_run, [(i, min(n, i + BATCH)) for i in range(0, n, BATCH)]) for r in part]
    except (OSError, RuntimeError):  # no processes to be had (a sandbox, a limit): the same result, slower
        return [job(i) for i in range(n)]
    finally:
        _job = None
