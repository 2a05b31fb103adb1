"""Background work that lives as long as the bot runs (the index watcher, the sources' refresh)."""
from __future__ import annotations

import asyncio
import contextlib
from typing import Awaitable, Callable

from telegram.ext import Application


def run_alongside(app: Application, work: Callable[[], Awaitable[None]], name: str) -> None:
    """Start `work()` as a task once the bot has started and cancel it when the bot stops, chained
    onto PTB's post_init, post_stop and post_shutdown hooks. (Application.create_task would not do:
    stop() waits for those tasks, and this work never ends on its own.)

    post_shutdown matters when the bot never got to run: with the webhook's port taken, PTB
    initialises (our task starts), fails to start, skips post_stop and shuts down; a task left
    pending then is destroyed with the loop and asyncio prints "Task was destroyed but it is
    pending!" after the one-line error."""
    before_init, before_stop, before_shutdown = app.post_init, app.post_stop, app.post_shutdown
    task: asyncio.Task | None = None

    async def cancel() -> None:
        nonlocal task
        if task is None:
            return
        running, task = task, None
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await running  # finished here, on the loop it belongs to

    async def start(application: Application) -> None:
        nonlocal task
        if before_init:
            await before_init(application)
        task = asyncio.create_task(work(), name=name)

    async def stop(application: Application) -> None:
        await cancel()
        if before_stop:
            await before_stop(application)

    async def shutdown(application: Application) -> None:
        await cancel()
        if before_shutdown:
            await before_shutdown(application)

    app.post_init, app.post_stop, app.post_shutdown = start, stop, shutdown
