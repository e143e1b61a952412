"""Fetching a file from a URL: sources people link to, results the provider made.

A URL a person typed is untrusted, so its fetch is always guarded (``guard=True``; only
the provider's result files may skip it, by MASHUP_RESULTS_ALLOW_PRIVATE, see
``mashups.runner.results_guarded``): with ``guard=True`` every address it resolves to, and
every redirect's, must be public (no loopback, private, link-local, multicast or reserved
ranges: the classic server-side request forgery targets such as 169.254.169.254), and the
connection goes to the very address that was checked, so a name whose DNS answer changes
between the check and the connection (rebinding) cannot lead inside. Size and time are
capped either way; the file streams to disk.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from django.conf import settings

MAX_REDIRECTS = 5
Resolver = Callable[[str], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Policy = Callable[[IPAddress], bool]


class DownloadError(Exception):
    """``str(error)`` is a message for the person whose link it was."""


def resolve(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except socket.gaierror as error:
        raise DownloadError(f"the host {host} could not be found") from error


# IPv6 ranges that ``is_global`` counts as public on some Python versions (3.12.1 among
# them) but that lead to IPv4 space or a site's own network: IPv4-compatible (::/96),
# NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48, RFC 8215), site-local
# (fec0::/10), 6to4 (2002::/16) and Teredo (2001::/32). They are refused whole: what they
# embed is reached through a translator or relay we do not control.
NOT_PUBLIC_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in ("::/96", "64:ff9b::/96", "64:ff9b:1::/48", "fec0::/10", "2002::/16", "2001::/32")
)


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            return is_public(ip.ipv4_mapped)
        if any(ip in net for net in NOT_PUBLIC_V6):
            return False
    return ip.is_global and not ip.is_multicast


def check_public(
    url: str, *, resolver: Resolver = resolve, public: Policy = is_public
) -> list[str]:
    """The addresses ``url``'s host resolves to, all of them public, or DownloadError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError("only http(s) links can be fetched")
    addresses = resolver(parts.hostname)
    for address in addresses:
        if not public(ipaddress.ip_address(address.split("%")[0])):
            raise DownloadError(
                f"the link points to a private or local address ({parts.hostname}), "
                "which is not allowed"
            )
    return addresses


def pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(URL, headers, httpx extensions) that connect to ``address`` itself, not to whatever
    the name resolves to a moment later (DNS rebinding): the Host header keeps the name for
    the server, and TLS still verifies the certificate against the name (httpcore's
    ``sni_hostname`` extension becomes the handshake's server_hostname)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1]}
    extensions = {"sni_hostname": parts.hostname or ""} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), headers, extensions


def literal_only(host: str) -> list[str]:
    """A resolver that looks nothing up: a literal address, or localhost, as itself; a name
    as no address. For checks that must not wait on DNS (a form), ahead of the real one."""
    if host == "localhost" or host.endswith(".localhost"):
        return ["127.0.0.1"]
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        return []


def fetch(
    url: str,
    target: Path,
    *,
    guard: bool,
    max_bytes: int | None = None,
    timeout: float | None = None,
    resolver: Resolver = resolve,
    public: Policy = is_public,
) -> Path:
    """Download ``url`` into ``target``; follows redirects itself so each hop is checked."""
    max_bytes = max_bytes or settings.MASHUP_FETCH_MAX_MB * 1024 * 1024
    timeout = timeout or settings.MASHUP_FETCH_TIMEOUT
    try:
        return _fetch(url, target, guard, max_bytes, timeout, resolver, public)
    except DownloadError:
        target.unlink(missing_ok=True)  # never leave half a file behind
        raise


def _fetch(
    url: str,
    target: Path,
    guard: bool,
    max_bytes: int,
    timeout: float,
    resolver: Resolver,
    public: Policy,
) -> Path:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            target_url, headers, extensions = url, dict[str, str](), dict[str, str]()
            if guard:
                # Connect to an address that was checked, never to a second lookup's answer.
                addresses = check_public(url, resolver=resolver, public=public)
                if not addresses:
                    raise DownloadError(f"the host {urlsplit(url).hostname} could not be found")
                target_url, headers, extensions = pinned(url, addresses[0])
            try:
                with client.stream(
                    "GET", target_url, headers=headers, extensions=extensions
                ) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    _save(response, target, max_bytes, deadline)
                    return target
            except httpx.TimeoutException as error:
                raise DownloadError("the link took too long to answer") from error
            except httpx.HTTPError as error:
                raise DownloadError(
                    f"the link could not be fetched ({type(error).__name__})"
                ) from error
    raise DownloadError("the link redirects too many times")


def _save(response: httpx.Response, target: Path, max_bytes: int, deadline: float) -> None:
    if response.status_code != 200:
        raise DownloadError(f"the link answered HTTP {response.status_code}")
    declared = int(response.headers.get("content-length") or 0)
    if declared > max_bytes:
        raise DownloadError(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    size = 0
    with target.open("wb") as out:
        for chunk in response.iter_bytes(1 << 16):
            size += len(chunk)
            if size > max_bytes:
                raise DownloadError(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
            if time.monotonic() > deadline:
                raise DownloadError("the download took too long")
            out.write(chunk)
