"""Background work that lives as long as the bot runs (the index watcher, the sources' refresh)."""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from telegram.ext import Application


def run_alongside(app: Application, work: Callable[[], Awaitable[None]], name: str) -> None:
    """Start `work()` as a task once the bot has started and cancel it when the bot stops, chained
    onto PTB's post_init and post_stop hooks. (Application.create_task would not do: stop() waits
    for those tasks, and this work never ends on its own.)"""
    before_init, before_stop = app.post_init, app.post_stop
    task: asyncio.Task | None = None

    async def start(application: Application) -> None:
        nonlocal task
        if before_init:
            await before_init(application)
        task = asyncio.create_task(work(), name=name)

    async def stop(application: Application) -> None:
        if task is not None:
            task.cancel()
        if before_stop:
            await before_stop(application)

    app.post_init, app.post_stop = start, stop
