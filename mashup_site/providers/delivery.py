"""How the remote provider gets the songs people uploaded, and whether it can reach us.

The provider downloads the two songs from the URLs in ``uploadUrlList`` and calls back to
``callBackUrl`` (docs/api-contract.md, "Files" and "Callback"). Both need this app to be
reachable from the internet at ``PUBLIC_BASE_URL``. A home server behind NAT, a laptop, a
private network is not: then uploaded songs go to the reseller's upload service instead
(``upload``: its ``downloadUrl`` is submitted), and polling is the only way we hear back.

``reachable`` is the one rule, on the URL's text alone (no DNS look-up: a start-up check
must not depend on the network): a loopback, private, link-local or otherwise non-global
address, a bare host name without a dot (``localhost``, ``nas``) or a special-use name
(``*.localhost``, ``*.local``, ``*.internal``, ``*.lan``, ``*.home.arpa``, ``*.test``,
``*.invalid``: RFC 6761, RFC 6762, RFC 8375) cannot be reached from the internet.
"""

from __future__ import annotations

import ipaddress
from typing import Final
from urllib.parse import urlsplit

from .download import is_public

AUTO: Final = "auto"
LINK: Final = "link"
UPLOAD: Final = "upload"
MODES = (AUTO, LINK, UPLOAD)
# What a job records: how its uploaded songs reached the provider.
CHOICES = [(LINK, "Our secret links"), (UPLOAD, "Upload service")]

# Names that never resolve on the public internet (or only inside a site's own network).
PRIVATE_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".lan",
    ".home",
    ".home.arpa",
    ".test",
    ".invalid",
    ".example",
)


def reachable(base_url: str) -> bool:
    """Whether the internet can reach ``base_url`` (a guess from its text: a public name or
    address may still sit behind a firewall, which only ``link``'s failures would show)."""
    host = (urlsplit(base_url.strip()).hostname or "").rstrip(".").lower()
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        address = None
    if address is not None:
        return is_public(address)
    if "." not in host:
        return False  # a bare name: localhost, a machine on the local network
    if host.rsplit(".", 1)[-1].isdigit():
        return False  # not an address, not a name (e.g. "10.1"): nothing the internet has
    return not any(host == suffix[1:] or host.endswith(suffix) for suffix in PRIVATE_SUFFIXES)


def choose(mode: str, base_url: str) -> str:
    """``link`` or ``upload``: ``auto`` uploads when the provider could not download from us."""
    if mode == AUTO:
        return LINK if reachable(base_url) else UPLOAD
    if mode not in (LINK, UPLOAD):
        raise ValueError(f"unknown source delivery {mode!r}; use one of {', '.join(MODES)}")
    return mode
