"""Polite, safe HTTP for feeds and pages: robots.txt honoured (protego), conditional requests, a
per-host concurrency limit (and the site's Crawl-delay), a timeout on the whole request, a size
limit counted on what is read, at most 5 redirects, a content-type check, a User-Agent naming
citebot, and no request to a loopback, private or link-local address unless allowed (a URL pasted
into a chat must not reach the newsroom's internal services).

The address check runs before every hop of a redirect chain and the connection goes to the very
address that was checked (the URL is asked of that IP, with the name in the Host header and TLS
SNI), so a name that resolves differently the second time (DNS rebinding) cannot lead elsewhere.
IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are judged by the
IPv4 address inside.

A request's timeout counts from when it starts, after it got one of its host's slots; the wait for
a slot (behind slow pages of the same site) has its own bound, so a quick page queued behind two
slow ones is not "timed out".
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
from .addresses import AddressRefused, FetchError, is_public

PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
                        "text/xml", "application/x-rss+xml"})
ROBOTS_MAX_BYTES = 512 * 1024
MAX_CRAWL_DELAY_S = 10.0  # a site asking for more is still visited, no slower than this
REDIRECTS = {301, 302, 303, 307, 308}


class _Unreachable(Exception):
    """One address did not take the connection; the next one may."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def check_address(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses `host` resolves to, once; refused when any is outside the public internet
    (unless allowed). The connection then goes to one of these, not to a second lookup."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchError(f"cannot resolve the host name {host}") from None
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if not is_public(ip):
                raise AddressRefused(f"{host} is a loopback, private or local address ({ip}): refused "
                                     "(CITEBOT_FETCH_ALLOW_PRIVATE=1 allows it)")
    if not addresses:
        raise FetchError(f"cannot resolve the host name {host}")
    return addresses


MAX_ADDRESSES_TRIED = 3


def _pinned(parts, address: str, port: int) -> str:
    """The URL asked of one checked address: same scheme, path and query, the IP as its host."""
    host = f"[{address}]" if ":" in address else address
    return urlunsplit((parts.scheme, f"{host}:{port}", parts.path or "/", parts.query, ""))


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
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchError(f"the port of {url} is not a number") from None
        addresses = check_address(parts.hostname, port, self.config.allow_private)
        # the name travels in the Host header and TLS SNI; the connection goes to the checked address
        headers = {**headers, "Host": parts.netloc.rpartition("@")[2]}
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        with self._slot(parts.netloc):
            deadline = time.monotonic() + self.config.timeout_s  # the request starts now, not in the queue
            for i, address in enumerate(addresses[:MAX_ADDRESSES_TRIED]):
                try:
                    return self._exchange(url, _pinned(parts, address, port), headers, extensions, accept,
                                          max_bytes, deadline)
                except _Unreachable as e:
                    if i + 1 >= min(len(addresses), MAX_ADDRESSES_TRIED) or time.monotonic() > deadline:
                        raise FetchError(f"cannot connect ({e.reason})") from None
        raise FetchError("cannot connect")  # not reached: the loop returns or raises

    def _exchange(self, url: str, target: str, headers: dict, extensions: dict, accept: frozenset[str] | None,
                  max_bytes: int, deadline: float) -> Response:
        """One GET of `target` (the checked address) for `url`, done by `deadline`."""
        timeout = self.config.timeout_s
        left = max(0.01, deadline - time.monotonic())
        try:
            with self.client.stream("GET", target, headers=headers, extensions=extensions,
                                    timeout=httpx.Timeout(min(timeout, left))) as r:
                self.requests += 1
                resp = Response(url, r.status_code, {k.lower(): v for k, v in r.headers.items()})
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
            raise _Unreachable(str(e)[:120] or "refused") from None
        except httpx.HTTPError as e:
            raise FetchError(f"{type(e).__name__}: {str(e)[:120]}") from None

    @contextlib.contextmanager
    def _slot(self, host: str) -> Iterator[None]:
        """At most `per_host` requests at once to a host, spaced by its Crawl-delay."""
        with self._lock:
            sem = self._slots.setdefault(host, threading.BoundedSemaphore(self.config.per_host))
        wait = self.config.queue_timeout_s
        if not sem.acquire(timeout=wait):
            raise FetchError(f"waited over {wait:g} s for a free connection to the site (its other pages are slow)")
        try:
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
        finally:
            sem.release()

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
