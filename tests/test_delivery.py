"""Which way uploaded songs reach the remote provider, and whether it can reach us at all
(providers/delivery.py): one rule over the text of PUBLIC_BASE_URL."""

from __future__ import annotations

import pytest

from mashup_site.providers.delivery import LINK, UPLOAD, choose, reachable

# (PUBLIC_BASE_URL, reachable from the internet)
TABLE = [
    # IPv4
    ("http://127.0.0.1:8000", False),  # loopback
    ("http://127.8.9.10", False),
    ("http://10.0.0.5:8000", False),  # private
    ("http://172.16.3.4", False),
    ("http://192.168.1.20:8000/", False),
    ("http://169.254.10.1", False),  # link-local
    ("http://100.64.1.2", False),  # carrier-grade NAT (Tailscale's addresses)
    ("http://0.0.0.0:8000", False),
    ("https://203.0.113.7", False),  # documentation range: not on the internet
    ("https://8.8.8.8", True),
    ("http://93.184.215.14:8080", True),
    # IPv6
    ("http://[::1]:8000", False),  # loopback
    ("http://[fe80::1%25eth0]:8000", False),  # link-local, with its zone
    ("http://[fd12:3456::1]", False),  # unique local (private)
    ("http://[::ffff:192.168.1.2]", False),  # IPv4-mapped private
    ("https://[2606:4700:4700::1111]", True),
    # names
    ("http://localhost:8000", False),
    ("http://LOCALHOST.", False),
    ("http://nas:8000", False),  # a bare host name: the local network's
    ("http://app.localhost", False),
    ("http://studio.local", False),  # mDNS
    ("http://music.home.arpa", False),
    ("http://box.lan", False),
    ("http://web.internal", False),
    ("https://mashups.example", False),  # a reserved top-level name (RFC 2606)
    ("https://mashups.example.com", True),  # a name on the internet
    ("https://studio.musician.dev", True),
    ("https://mashups.duckdns.org:8443/app", True),
    # not a URL at all
    ("", False),
    ("not a url", False),
]


@pytest.mark.parametrize(("url", "expected"), TABLE)
def test_it_tells_whether_the_internet_can_reach_a_base_url(url, expected) -> None:
    assert reachable(url) is expected


@pytest.mark.parametrize(("url", "expected"), TABLE)
def test_auto_uploads_exactly_when_the_provider_could_not_download_from_us(url, expected) -> None:
    assert choose("auto", url) == (LINK if expected else UPLOAD)


@pytest.mark.parametrize("mode", [LINK, UPLOAD])
def test_link_and_upload_are_taken_as_they_are(mode) -> None:
    assert choose(mode, "http://127.0.0.1:8000") == mode
    assert choose(mode, "https://mashups.example.org") == mode


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="auto, link, upload"):
        choose("ftp", "https://mashups.example.org")
