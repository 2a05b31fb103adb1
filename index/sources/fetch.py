"""Polite, safe HTTP for feeds and pages: robots.txt honoured (protego), conditional requests, a
per-host concurrency limit (and the site's Crawl-delay), a timeout on the whole request, a size
limit counted on what is read, at most 5 redirects, a content-type check, a User-Agent naming
citebot, and no request to a loopback, private or link-local address unless allowed (a URL pasted
into a chat must not reach the newsroom's internal services).

The address check runs before every hop of a redirect chain; a name that resolves differently
between the check and the connection (DNS rebinding) is not covered.
"""
from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from ..config import FetchConfig

PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
                        "text/xml", "application/x-rss+xml"})
ROBOTS_MAX_BYTES = 512 * 1024
MAX_CRAWL_DELAY_S = 10.0  # a site asking for more is still visited, no slower than this
REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """Why a URL could not be fetched, in a few words (the caller names the URL)."""


class AddressRefused(FetchError):
    """The URL leads to a loopback, private or link-local address."""


@dataclass
class Response:
    url: str  # where the request ended, after redirects
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("'\"")
        return None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def _size(n: int) -> str:
    return f"{n / 2**20:.3g} MB" if n >= 2**20 else f"{n / 1024:.3g} KB"


def is_url(text: str) -> bool:
    return str(text).strip().lower().startswith(("http://", "https://"))


def normalize_url(url: str) -> str:
    """One spelling per URL, so that a source or an article is the same whoever typed it: scheme
    and host lower-case, no default port, no fragment."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url}")
    try:
        port = parts.port
    except ValueError:
        raise FetchError(f"the port of {url} is not a number") from None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def check_address(host: str, port: int, allow_private: bool) -> None:
    """Refuse a host that resolves to an address outside the public internet."""
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchError(f"cannot resolve the host name {host}") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise AddressRefused(f"{host} is a loopback, private or local address ({ip}): refused "
                             "(CITEBOT_FETCH_ALLOW_PRIVATE=1 allows it)")


class Fetcher:
    """One per refresh; safe to share between the threads that fetch a feed's pages."""

    def __init__(self, config: FetchConfig | None = None):
        self.config = config or FetchConfig()
        self.client = httpx.Client(follow_redirects=False, timeout=httpx.Timeout(self.config.timeout_s),
                                   headers={"User-Agent": self.config.user_agent}, trust_env=False)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._next_at: dict[str, float] = {}
        self._robots: dict[str, object] = {}  # origin → Protego, or a FetchError saying why nothing may be read
        self._robots_locks: dict[str, threading.Lock] = {}
        self.requests = 0

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the public call -----------------------------------------------------------------
    def get(self, url: str, accept: frozenset[str] | None = None, etag: str | None = None,
            last_modified: str | None = None) -> Response:
        """GET with redirects followed (each hop checked), robots.txt honoured, and a conditional
        request when validators are given (a 304 comes back as such). Raises FetchError."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = ", ".join(sorted(accept)) + ", */*;q=0.1"
        for _ in range(self.config.max_redirects + 1):
            self._check_robots(url)
            resp = self._request(url, headers, accept, self.config.max_bytes)
            if resp.status in REDIRECTS and resp.headers.get("location"):
                url = urljoin(url, resp.headers["location"])
                continue
            if resp.status >= 400:
                raise FetchError(f"HTTP {resp.status}")
            return resp
        raise FetchError(f"more than {self.config.max_redirects} redirects")

    # -- one request -------------------------------------------------------------------------
    def _request(self, url: str, headers: dict, accept: frozenset[str] | None, max_bytes: int) -> Response:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not an http(s) URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        check_address(parts.hostname, port, self.config.allow_private)
        timeout = self.config.timeout_s
        deadline = time.monotonic() + timeout
        try:
            with self._slot(parts.netloc), self.client.stream("GET", url, headers=headers) as r:
                self.requests += 1
                resp = Response(str(r.url), r.status_code, {k.lower(): v for k, v in r.headers.items()})
                if r.status_code in REDIRECTS or r.status_code == 304 or r.status_code >= 400:
                    return resp
                if accept is not None and resp.media_type not in accept:
                    what = "a web page" if accept <= PAGE_TYPES else "a web page or feed"
                    raise FetchError(f"not {what} (content type {resp.media_type or 'not given'})")
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(f"over the size limit ({_size(int(declared))}, at most {_size(max_bytes)})")
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise FetchError(f"over the size limit of {_size(max_bytes)}")
                    if time.monotonic() > deadline:
                        raise FetchError(f"timed out after {timeout:g} s")
                resp.body = bytes(body)
                return resp
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {timeout:g} s") from None
        except httpx.ConnectError as e:
            raise FetchError(f"cannot connect ({str(e)[:120] or 'refused'})") from None
        except httpx.HTTPError as e:
            raise FetchError(f"{type(e).__name__}: {str(e)[:120]}") from None

    @contextlib.contextmanager
    def _slot(self, host: str) -> Iterator[None]:
        """At most `per_host` requests at once to a host, spaced by its Crawl-delay."""
        with self._lock:
            sem = self._slots.setdefault(host, threading.BoundedSemaphore(self.config.per_host))
        with sem:
            robots = self._robots.get(host)
            delay = 0.0
            if robots is not None and not isinstance(robots, FetchError):
                delay = min(float(robots.crawl_delay(self._agent) or 0), MAX_CRAWL_DELAY_S)
            if delay:
                with self._lock:
                    now = time.monotonic()
                    start = max(now, self._next_at.get(host, now))
                    self._next_at[host] = start + delay
                if start > now:
                    time.sleep(start - now)
            yield

    # -- robots.txt ----------------------------------------------------------------------------
    @property
    def _agent(self) -> str:
        return self.config.user_agent.split("/")[0].split()[0] or "citebot"

    def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        rules = self._robots_for(parts.scheme, parts.netloc)
        if isinstance(rules, FetchError):
            raise rules
        if not rules.can_fetch(url, self._agent):
            raise FetchError("robots.txt of the site disallows it")

    def _robots_for(self, scheme: str, netloc: str):
        """The site's rules, read once per refresh (RFC 9309: a missing file allows everything; a
        server error or no answer allows nothing until it can be read)."""
        from protego import Protego

        with self._lock:
            lock = self._robots_locks.setdefault(netloc, threading.Lock())
        with lock:
            if netloc in self._robots:
                return self._robots[netloc]
            url = f"{scheme}://{netloc}/robots.txt"
            rules: object
            try:
                resp = self._follow(url)
                if resp.status >= 500:
                    rules = FetchError(f"robots.txt of the site answered HTTP {resp.status}: nothing fetched from it")
                elif resp.status >= 400:
                    rules = Protego.parse("")
                else:
                    rules = Protego.parse(resp.body.decode("utf-8", errors="replace"))
            except AddressRefused:
                raise
            except FetchError as e:
                rules = FetchError(f"robots.txt of the site could not be read ({e}): nothing fetched from it")
            self._robots[netloc] = rules
            return rules

    def _follow(self, url: str) -> Response:
        for _ in range(self.config.max_redirects + 1):
            resp = self._request(url, {}, None, ROBOTS_MAX_BYTES)
            if resp.status in REDIRECTS and resp.headers.get("location"):
                url = urljoin(url, resp.headers["location"])
                continue
            return resp
        raise FetchError(f"more than {self.config.max_redirects} redirects")
