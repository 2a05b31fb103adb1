"""The bot keeping up with its sources: a refresh of every recorded source each
CITEBOT_REFRESH_MINUTES, and admins (CITEBOT_ADMIN_USERS) adding a page or a feed from the chat.

Both run `citebot index update|add` as a child process at low priority, one at a time: answers
never wait on a refresh (no shared interpreter lock, and the embedding model never loads into the
bot), a crash or a kill of the child leaves the served index as it was, and the running bot serves
the new index as soon as the child publishes it.
"""
from __future__ import annotations

import asyncio
import functools
import html
import json
import logging
import os
import re
import sys
import time
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, ContextTypes, MessageHandler, filters

from citebot.index.build_records import BuildReport, SourceReport

from .. import redact
from ..render import ago, human_date
from ..settings import Settings

log = logging.getLogger("citebot.refresh")
REFRESH_TIMEOUT_S = 30 * 60
ADD_TIMEOUT_S = 5 * 60
URL_ONLY = re.compile(r"^\s*(https?://\S+)\s*$", re.IGNORECASE)
MAX_SOURCES_SHOWN = 15
MAX_OVERVIEW_CHARS = 3500
NOT_ADMIN = "Only the bot's admins can add sources."


def _child_env() -> dict[str, str]:
    """The bot's environment without its token: the child only reads and writes the index."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_TELEGRAM_TOKEN")}


async def run_citebot(*args: str, timeout: float) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `citebot ARGS` run at low priority; killed after `timeout`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "citebot", *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=_child_env(), preexec_fn=lambda: os.nice(10))
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _last_error(stderr: str, about: str | None = None) -> str:
    """The most telling line a child said: a warning about `about`, else its error line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    if about:
        for ln in lines:
            if ln.startswith("warning:") and about in ln:
                return ln[len("warning:"):].strip()
    for ln in reversed(lines):
        if ln.startswith("error:"):
            return ln[len("error:"):].strip()
    return lines[-1] if lines else "it stopped without saying why"


class Refresher:
    """One child at a time: a refresh and an admin's /add never write the index at once."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.lock = asyncio.Lock()

    async def refresh_once(self) -> str:
        """Refresh every recorded source; the one-line summary that is logged."""
        from citebot.index.sources.registry import read_status

        async with self.lock:
            started = time.monotonic()
            code, out, err = await run_citebot("index", "update", "--json", timeout=REFRESH_TIMEOUT_S)
        seconds = time.monotonic() - started
        if code != 0:
            return f"refresh failed after {seconds:.0f} s: {_last_error(err)}"
        counts = _report(out)
        failing = {k: v.error for k, v in read_status(self.settings.index_dir).items() if v.error}
        line = (f"refresh: added {counts.added}, changed {counts.changed}, removed {counts.removed}, "
                f"unchanged {counts.unchanged} in {seconds:.0f} s")
        if failing:
            first = next(iter(failing.items()))
            line += f"; {len(failing)} source(s) failing, e.g. {first[0]} ({first[1]})"
        return line

    async def loop(self) -> None:
        minutes = self.settings.refresh_minutes
        log.info("refreshing the recorded sources every %g minutes", minutes)
        while True:
            await asyncio.sleep(minutes * 60)
            try:
                log.info("%s", redact.scrub(await self.refresh_once()))
            except asyncio.TimeoutError:
                log.error("refresh: stopped after %d minutes; the index is as it was", REFRESH_TIMEOUT_S // 60)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the bot goes on answering whatever a refresh does
                log.error("refresh: %s: %s", type(e).__name__, e)

    async def add(self, url: str) -> str:
        """Index a page or feed; the reply (HTML) with its title and date, or why not."""
        async with self.lock:
            try:
                code, out, err = await run_citebot("index", "add", url, "--json", timeout=ADD_TIMEOUT_S)
            except asyncio.TimeoutError:
                return f"Adding {html.escape(url)} took too long; nothing was changed."
        if code != 0:
            return f"Could not add {html.escape(url)}: {html.escape(_last_error(err, url))}"
        return "\n".join(_added(s) for s in _report(out).sources) or "Nothing new to add."


def _report(stdout: str) -> BuildReport:
    """The child's `--json` output: one BuildReport in its declared form (build_records.py)."""
    return BuildReport.from_json(json.loads(stdout))


def _when(iso: str | None) -> str:
    return f" ({human_date(iso)})" if iso else ""


def _added(source: SourceReport) -> str:
    e = html.escape
    if source.error:
        return f"Could not read {e(source.location)}: {e(source.error)}"
    items = source.items or []
    if source.kind == "page":
        if not items:
            return f"The page {e(source.location)} is already indexed and unchanged."
        return f"Added the page “{e(items[0]['title'])}”{_when(items[0].get('published'))}."
    latest = max((i for i in items if i.get("published")), key=lambda i: i["published"], default=None)
    text = f"Added the feed “{e(source.title or source.location)}”: {source.read} article(s) indexed"
    if latest:
        text += f", the latest “{e(latest['title'])}”{_when(latest['published'])}"
    return text + ". It will be refreshed with the other sources."


def sources_overview(settings: Settings, admin: bool) -> str:
    """What /sources adds: each recorded source and how fresh it is (HTML). Paths on the bot's
    machine are shown by their last part unless the asker is an admin."""
    from citebot.index.inspecting import list_sources
    from citebot.index.stores.base import IndexProblem

    try:
        rows = list_sources(settings.index_config())
    except IndexProblem:
        return ""
    if not rows:
        return ""
    lines = ["", "Sources:"]
    for r in rows[:MAX_SOURCES_SHOWN]:
        where = r["location"] if admin or r["kind"] in ("feed", "page") else Path(r["location"]).name
        name = f"“{r['title']}”" if r["title"] else where
        fresh = f"newest {human_date(r['newest']) or '?'}" if r["newest"] else "no dates"
        state = f"; failing: {r['last_error']}" if r["last_error"] else ""
        lines.append(f"• {html.escape(r['kind'])} {html.escape(name)}: {r['articles']} article(s), {fresh}, "
                     f"refreshed {ago(r['last_refresh'])}{html.escape(state)}")
    if len(rows) > MAX_SOURCES_SHOWN:
        lines.append(f"… and {len(rows) - MAX_SOURCES_SHOWN} more.")
    while len("\n".join(lines)) > MAX_OVERVIEW_CHARS:  # a reply stays within Telegram's 4096 characters
        lines.pop(-2 if lines[-1].startswith("…") else -1)
    return "\n".join(lines)


# --- Telegram wiring ----------------------------------------------------------------------------

def _is_admin(update: Update, settings: Settings) -> bool:
    user = update.effective_user
    return bool(user and user.id in settings.admin_users)


async def _add(update: Update, context: ContextTypes.DEFAULT_TYPE, url: str, refresher: Refresher) -> None:
    chat_id = update.effective_chat.id
    await context.bot.send_message(chat_id=chat_id, text=f"Adding {html.escape(url)} …")
    reply = await refresher.add(url)
    log.info("admin %s asked to add %s", update.effective_user.id, redact.scrub(url))
    await context.bot.send_message(chat_id=chat_id, text=reply)


async def add_command(update: Update, context: ContextTypes.DEFAULT_TYPE, refresher: Refresher) -> None:
    settings = refresher.settings
    if not _is_admin(update, settings):
        await context.bot.send_message(chat_id=update.effective_chat.id, text=NOT_ADMIN)
        raise ApplicationHandlerStop
    match = URL_ONLY.match(" ".join(context.args or []))
    if not match:
        await context.bot.send_message(chat_id=update.effective_chat.id,
                                       text="Send /add followed by the address of a page or a feed, "
                                            "e.g. /add https://example.org/news/rss")
        raise ApplicationHandlerStop
    await _add(update, context, match.group(1), refresher)
    raise ApplicationHandlerStop


async def url_message(update: Update, context: ContextTypes.DEFAULT_TYPE, refresher: Refresher) -> None:
    """An admin's message that is only a URL, in a private chat: add it."""
    await _add(update, context, URL_ONLY.match(update.effective_message.text).group(1), refresher)
    raise ApplicationHandlerStop


def install(app: Application, settings: Settings) -> Refresher:
    """/add and admins' URL messages (installed before the question handler of the same group, so
    they come first; the bot's access gate runs before both), and the background refresh."""
    refresher = Refresher(settings)
    app.add_handler(CommandHandler("add", functools.partial(add_command, refresher=refresher)))
    if settings.admin_users:
        app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.User(user_id=settings.admin_users)
                                       & filters.Regex(URL_ONLY), functools.partial(url_message, refresher=refresher)))
    if settings.refresh_minutes > 0:
        from .tasks import run_alongside

        run_alongside(app, refresher.loop, "citebot-refresh")
    return refresher
