"""What keeps `citebot serve` safe by default, as one ASGI middleware around every route: the API
key (when one is set, nothing answers without it), a rate limit per client, and the security
headers on every response (a Content-Security-Policy that allows no inline script, no framing).

The key is accepted as `Authorization: Bearer KEY`, as `X-API-Key: KEY`, or as the password of
HTTP Basic authentication: a browser asks for it by itself, so the page needs no script and no key
in a URL (where proxies and histories would keep it)."""
from __future__ import annotations

import base64
import hmac
import json
import time

from limits import parse, storage, strategies

HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                 b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
UNLIMITED = ("/healthz", "/static/")  # a monitor's probe and the page's own files are not questions


class Guard:
    """ASGI middleware: security headers on every HTTP response, then the API key, then the rate limit."""

    def __init__(self, app, api_key: str | None = None, per_minute: int = 60):
        self.app = app
        self.key = api_key.encode() if api_key else None
        self.per_minute = per_minute
        self.limit = parse(f"{per_minute}/minute") if per_minute else None
        self.limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage()) if per_minute else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in HEADERS if h[0] not in names]
            await send(message)

        path = scope.get("path", "")
        if self.key is not None and not self._authorised(scope):
            page = not path.startswith("/api/") and path != "/healthz"
            await _error(send_with_headers, 401, "an API key is required: send it as 'Authorization: Bearer KEY' "
                         "or 'X-API-Key: KEY'", [(b"www-authenticate", b'Basic realm="citebot"')] if page else [])
            return
        if self.limiter is not None and not path.startswith(UNLIMITED):
            client = (scope.get("client") or ("unknown", 0))[0]
            if not self.limiter.hit(self.limit, client):
                reset = self.limiter.get_window_stats(self.limit, client).reset_time
                wait = max(1, int(reset - time.time()) + 1)
                await _error(send_with_headers, 429, f"too many requests: at most {self.per_minute} a minute from one "
                             f"client; try again in {wait} s", [(b"retry-after", str(wait).encode())])
                return
        await self.app(scope, receive, send_with_headers)

    def _authorised(self, scope) -> bool:
        headers = dict(scope.get("headers") or [])
        offered = [headers.get(b"x-api-key", b"")]
        scheme, _, value = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer":
            offered.append(value.strip())
        elif scheme.lower() == b"basic":
            try:
                offered.append(base64.b64decode(value.strip(), validate=True).partition(b":")[2])
            except ValueError:
                pass
        return any(o and hmac.compare_digest(o, self.key) for o in offered)


async def _error(send, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    """A one-line JSON error: {"error": "..."} (the page's visitors read it too: it says what to do)."""
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), *headers]})
    await send({"type": "http.response.body", "body": body})
