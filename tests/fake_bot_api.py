"""A fake Telegram Bot API server on 127.0.0.1, as strict as Telegram about what the bot sends:
it refuses a message over 4096 characters and HTML that Telegram's parser would refuse.

It runs its own event loop in a thread; tests queue updates (messages, button presses, inline
queries) and read what the bot sent. Like Telegram, after a 429 it answers 429 to every further
sendMessage until the retry_after it gave has passed, so a bot that does not wait is caught.
"""
from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field

from aiohttp import web

from polling import poll

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "tg-spoiler", "span", "blockquote", "tg-emoji"}
_TAG = re.compile(r'<(/?)([a-zA-Z-]+)((?:\s+[a-z-]+="[^"<>]*")*)\s*>')
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def html_error(text: str) -> str | None:
    """Why Telegram would refuse this HTML, or None when it parses."""
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            m = _TAG.match(text, i)
            if not m:
                return f"Unsupported start tag or bare '<' at byte offset {i}"
            closing, name = m.group(1), m.group(2).lower()
            if name not in ALLOWED_TAGS:
                return f"Unsupported start tag \"{name}\" at byte offset {i}"
            if closing:
                if not stack or stack[-1] != name:
                    return f"Unmatched end tag at byte offset {i}, expected \"</{stack[-1] if stack else ''}>\""
                stack.pop()
            else:
                stack.append(name)
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, i)
            if not m:
                return f"Bare '&' at byte offset {i}"
            i = m.end()
        elif ch == ">":
            return f"Bare '>' at byte offset {i}"  # Telegram tolerates it, but escaping it is the contract
        else:
            i += 1
    if stack:
        return f"Can't find end tag corresponding to start tag \"{stack[-1]}\""
    return None


def visible_text(html: str) -> str:
    import html as html_lib

    return html_lib.unescape(re.sub(r"<[^>]+>", "", html))


@dataclass
class Sent:
    method: str
    params: dict
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int:
        return int(self.params.get("chat_id", 0))

    @property
    def text(self) -> str:
        return self.params.get("text", "")


class FakeBotAPI:
    def __init__(self, token: str, username: str = "citebot_test_bot"):
        self.token = token
        self.username = username
        self.bot_id = int(token.split(":")[0])
        self.updates: list[dict] = []
        self.languages: dict[int, str] = {}  # user id → the language_code their Telegram app sends
        self.sent: list[Sent] = []
        self.rejected: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.fail_next: dict[str, int] = {}  # method -> how many 429s to answer
        self.fail_calls: dict[str, set[int]] = {}  # method -> which calls (1st, 2nd, ...) get a 429
        self.floods: list[tuple[float, float]] = []  # (when a 429 was answered, until when it holds)
        self.calls: dict[str, int] = {}
        self.admins: dict[int, set[int]] = {}  # group id -> its administrators' user ids
        self.inline_queries: set[str] = set()
        self.supports_inline = True
        self.break_next: dict[str, int] = {}  # method -> how many 500s to answer
        self._next_update = 1
        self._next_message = 1000
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._new_update: asyncio.Event | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._started = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "FakeBotAPI":
        self._thread.start()
        assert self._started.wait(10), "fake Bot API did not start"
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._new_update = asyncio.Event()
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    # -- what tests do -----------------------------------------------------------------------
    def _user(self, user_id: int) -> dict:
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if user_id in self.languages:
            user["language_code"] = self.languages[user_id]
        return user

    def _chat(self, chat_id: int, kind: str) -> dict:
        chat = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = f"User{chat_id}"
        else:
            chat["title"] = f"Group {chat_id}"
        return chat

    def _push(self, update: dict) -> int:
        with self._lock:
            update["update_id"] = self._next_update
            self._next_update += 1
            self.updates.append(update)
        self._loop.call_soon_threadsafe(self._new_update.set)
        return update["update_id"]

    def message(self, user_id: int, text: str | None = None, chat_id: int | None = None, kind: str = "private",
                reply_to: dict | None = None, **extra) -> int:
        with self._lock:
            mid = self._next_message
            self._next_message += 1
        msg = {"message_id": mid, "date": int(time.time()), "chat": self._chat(chat_id or user_id, kind),
               "from": self._user(user_id), **extra}
        if text is not None:
            msg["text"] = text
            if text.startswith("/"):
                cmd = text.split()[0]
                msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(cmd)}]
            m = re.search("@" + re.escape(self.username), text)
            if m:
                msg.setdefault("entities", []).append({"type": "mention", "offset": m.start(), "length": m.end() - m.start()})
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        return self._push({"message": msg})

    def sticker(self, user_id: int) -> int:
        return self.message(user_id, sticker={"file_id": "stk", "file_unique_id": "stk1", "type": "regular",
                                              "width": 512, "height": 512, "is_animated": False, "is_video": False})

    def inline(self, user_id: int, query: str) -> str:
        """An inline query (`@bot query` typed in some chat); returns its id."""
        qid = f"iq{time.monotonic_ns()}"
        self.inline_queries.add(qid)
        self._push({"inline_query": {"id": qid, "from": self._user(user_id), "query": query, "offset": "",
                                     "chat_type": "private"}})
        return qid

    def inline_answer(self, qid: str, timeout: float = 60.0) -> "Sent":
        return self.wait_for(lambda: next((s for s in list(self.sent) if s.method == "answerInlineQuery"
                                           and s.params.get("inline_query_id") == qid), None),
                             timeout, f"the answer to inline query {qid}")

    def press(self, user_id: int, sent: "Sent", data: str) -> int:
        msg = self._as_message(sent)
        return self._push({"callback_query": {"id": f"cb{time.monotonic_ns()}", "from": self._user(user_id),
                                              "chat_instance": "ci", "data": data, "message": msg}})

    def _as_message(self, sent: "Sent") -> dict:
        return {"message_id": sent.params.get("_message_id", 1), "date": int(time.time()),
                "chat": self._chat(sent.chat_id, "private" if sent.chat_id > 0 else "group"),
                "from": {"id": self.bot_id, "is_bot": True, "first_name": "citebot", "username": self.username},
                "text": visible_text(sent.text)}

    def messages_to(self, chat_id: int) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.method == "sendMessage" and s.chat_id == chat_id]

    def wait_for(self, predicate, timeout: float = 60.0, what: str = "condition"):
        """Poll (bounded) until predicate() is truthy; returns its value."""
        try:
            return poll(predicate, timeout, what)
        except AssertionError as e:
            raise AssertionError(f"{e}; sent so far: {[(s.method, s.chat_id, s.text[:60]) for s in self.sent][-10:]}") \
                from None

    def wait_messages(self, chat_id: int, n: int = 1, timeout: float = 60.0) -> list[Sent]:
        return self.wait_for(lambda: (m := self.messages_to(chat_id)) and len(m) >= n and m,
                             timeout, f"{n} message(s) to chat {chat_id}")

    # -- the API -----------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict:
        params = dict(request.query)
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                params.update(await request.json())
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items()})
        for key in ("reply_markup", "link_preview_options", "allowed_updates", "results", "button"):
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    pass
        return params

    def _error(self, code: int, description: str, **extra) -> web.Response:
        body = {"ok": False, "error_code": code, "description": description}
        if extra:
            body["parameters"] = extra
        return web.json_response(body, status=code)

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        if token != self.token:
            return self._error(401, "Unauthorized")
        params = await self._params(request)
        self.requests.append(method)
        with self._lock:
            self.calls[method] = n = self.calls.get(method, 0) + 1
        now = time.monotonic()
        flooded = method == "sendMessage" and any(start <= now < until for start, until in self.floods)
        if self.fail_next.get(method) or n in self.fail_calls.get(method, ()) or flooded:
            if self.fail_next.get(method):
                self.fail_next[method] -= 1
            if not flooded:
                self.floods.append((now, now + 1.0))
            return self._error(429, "Too Many Requests: retry after 1", retry_after=1)
        if self.break_next.get(method):
            self.break_next[method] -= 1
            return self._error(500, "Internal Server Error")
        if method == "getMe":
            return self._ok({"id": self.bot_id, "is_bot": True, "first_name": "citebot", "username": self.username,
                             "can_join_groups": True, "can_read_all_group_messages": False,
                             "supports_inline_queries": self.supports_inline})
        if method == "getChatMember":
            return self._chat_member(int(params["chat_id"]), int(params["user_id"]))
        if method == "answerInlineQuery":
            problem = self._inline_error(params)
            if problem:
                self.rejected.append((method, problem))
                return self._error(400, f"Bad Request: {problem}")
            with self._lock:
                self.sent.append(Sent(method, params))
            return self._ok(True)
        if method == "getUpdates":
            return await self._get_updates(params)
        if method in ("sendMessage", "editMessageText"):
            text = str(params.get("text", ""))
            if len(text) > 4096:
                self.rejected.append((method, "MESSAGE_TOO_LONG"))
                return self._error(400, "Bad Request: message is too long")
            if not text.strip():
                self.rejected.append((method, "empty"))
                return self._error(400, "Bad Request: message text is empty")
            if params.get("parse_mode") == "HTML":
                problem = html_error(text)
                if problem:
                    self.rejected.append((method, problem))
                    return self._error(400, f"Bad Request: can't parse entities: {problem}")
            with self._lock:
                mid = self._next_message
                self._next_message += 1
                params["_message_id"] = mid
                self.sent.append(Sent(method, params))
            return self._ok({"message_id": mid, "date": int(time.time()),
                             "chat": self._chat(int(params["chat_id"]), "private" if int(params["chat_id"]) > 0 else "group"),
                             "from": {"id": self.bot_id, "is_bot": True, "first_name": "citebot"},
                             "text": visible_text(text)})
        with self._lock:
            self.sent.append(Sent(method, params))
        return self._ok(True)  # sendChatAction, answerCallbackQuery, deleteWebhook, ...

    def _chat_member(self, chat_id: int, user_id: int) -> web.Response:
        user = self._user(user_id)
        if user_id in self.admins.get(chat_id, set()):
            rights = dict.fromkeys(("can_be_edited", "is_anonymous", "can_post_stories", "can_edit_stories",
                                    "can_delete_stories"), False)
            rights.update(dict.fromkeys(("can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                                         "can_restrict_members", "can_promote_members", "can_change_info",
                                         "can_invite_users"), True))
            return self._ok({"status": "administrator", "user": user, **rights})
        return self._ok({"status": "member", "user": user})

    def _inline_error(self, params: dict) -> str | None:
        """Why Telegram would refuse this answerInlineQuery, or None."""
        if params.get("inline_query_id") not in self.inline_queries:
            return "query is too old and response timeout expired or query ID is invalid"
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            return "RESULTS_TOO_MUCH" if isinstance(results, list) else "results must be a JSON array"
        ids = [str(r.get("id", "")) for r in results]
        if len(set(ids)) != len(ids) or any(not i or len(i.encode()) > 64 for i in ids):
            return "RESULT_ID_INVALID"
        for r in results:
            if r.get("type") != "article" or not str(r.get("title", "")).strip():
                return "RESULT_TITLE_EMPTY"
            content = r.get("input_message_content") or {}
            text = str(content.get("message_text", ""))
            if not text.strip():
                return "MESSAGE_EMPTY"
            if len(text) > 4096:
                return "MESSAGE_TOO_LONG"
            if content.get("parse_mode") == "HTML" and html_error(text):
                return f"can't parse entities: {html_error(text)}"
        return None

    def _ok(self, result) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, params: dict) -> web.Response:
        offset = int(params.get("offset", 0) or 0)
        timeout = min(float(params.get("timeout", 0) or 0), 2.0)  # bounded long poll
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if offset:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                pending = list(self.updates[:100])
            if pending or time.monotonic() >= deadline:
                return self._ok(pending)
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass
