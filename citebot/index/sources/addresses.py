"""URLs and addresses as the fetcher judges them: one spelling per URL, and whether an IP address
is on the public internet (IPv6 forms that carry an IPv4 address judged by the IPv4 inside)."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from ..text.controls import one_line


class FetchError(Exception):
    """Why a URL could not be fetched, in a few words (the caller names the URL). It may quote what
    a server sent (a content type, an error text): control characters are taken out of it."""

    def __init__(self, message: str = "") -> None:
        super().__init__(one_line(str(message)))


class AddressRefused(FetchError):
    """The URL leads to a loopback, private or link-local address."""


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


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the IPv4 is the last 32 bits
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215, local-use translation: never public
_SIIT = ipaddress.ip_network("::ffff:0:0:0/96")  # IPv4-translated (RFC 2765): ::ffff:0:a.b.c.d
_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible: ::a.b.c.d


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, whichever form carries them."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    out = []
    if ip.ipv4_mapped is not None:
        out.append(ip.ipv4_mapped)
    if ip in _NAT64 or ip in _SIIT or (ip in _COMPATIBLE and int(ip) > 1):
        out.append(low32)
    if ip.sixtofour is not None:
        out.append(ip.sixtofour)
    if ip.teredo is not None:
        out.extend(ip.teredo)  # (server, client): the client is the host reached
    return out


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """On the public internet, and so is every IPv4 address it embeds."""
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        return all(is_public(v4) for v4 in embedded_ipv4(ip))
    return True
