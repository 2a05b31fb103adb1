"""A small web site on 127.0.0.1 for the source tests: pages, feeds and robots.txt that a test
writes and changes, with ETags, slow answers, errors and redirects, and a log of every request.

It serves from a thread of its own; answers never wait longer than the delay a route asks for.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before answering (a slow page)
    location: str | None = None  # for a redirect
    send_length: bool = True


@dataclass
class Request:
    path: str
    headers: dict[str, str] = field(default_factory=dict)


class LocalSite:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                with site._lock:
                    site.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}))
                    route = site.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                if route.delay:
                    time.sleep(min(route.delay, 30))
                if (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                        route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified):
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.etag:
                    self.send_header("ETag", route.etag)
                if route.last_modified:
                    self.send_header("Last-Modified", route.last_modified)
                if route.location:
                    self.send_header("Location", route.location)
                if route.send_length:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "LocalSite":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def put(self, path: str, body: str | bytes, **kw) -> str:
        self.routes[path] = Route(body.encode() if isinstance(body, str) else body, **kw)
        return self.url(path)

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def forget(self) -> None:
        with self._lock:
            self.requests.clear()


def http_date(seconds: float) -> str:
    return formatdate(seconds, usegmt=True)


def page(title: str, paragraphs: list[str], date: str | None = None, author: str | None = None,
         site: str = "Marrow Bay Courier") -> str:
    meta = f'<meta property="og:site_name" content="{site}">'
    if date:
        meta += f'<meta property="article:published_time" content="{date}">'
    if author:
        meta += f'<meta name="author" content="{author}">'
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html><head><title>{title} | {site}</title>{meta}</head><body>"
            f"<nav>Home | News | Sport | Weather</nav><article><h1>{title}</h1>{body}</article>"
            f"<footer>© {site}. All rights reserved.</footer></body></html>")


def rss(title: str, link: str, items: list[dict]) -> str:
    """items: {title, link, date (RFC 822) or None}"""
    out = [f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>"
           f"<link>{link}</link><description>News from the bay</description>"]
    for it in items:
        out.append(f"<item><title>{it['title']}</title><link>{it['link']}</link><guid>{it['link']}</guid>"
                   + (f"<pubDate>{it['date']}</pubDate>" if it.get("date") else "") + "</item>")
    out.append("</channel></rss>")
    return "".join(out)


def atom(title: str, items: list[dict]) -> str:
    """items: {title, link, updated (ISO)}"""
    out = [f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>{title}</title>"
           "<id>urn:test:feed</id><updated>2026-03-05T10:00:00Z</updated>"]
    for it in items:
        out.append(f"<entry><title>{it['title']}</title><link href='{it['link']}'/><id>{it['link']}</id>"
                   f"<updated>{it['updated']}</updated></entry>")
    out.append("</feed>")
    return "".join(out)
