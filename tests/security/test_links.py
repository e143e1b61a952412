"""Door: links. A link a person gives is fetched by our worker (the local engine), so it is
always guarded against server-side request forgery: every address its host resolves to
must be public, including the IPv6 ranges Python's ``is_global`` lets through and IPv4
addresses embedded in IPv6 ones. MASHUP_RESULTS_ALLOW_PRIVATE concerns only the provider's
result files (a provider on this machine), never people's links."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.test import Client

from mashup_site.providers import download

ROOT = Path(__file__).resolve().parent.parent.parent


class Song(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"ID3x")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def inside():
    """A server on loopback: what a forged link would reach inside our network."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Song)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/song.mp3"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("flag", ["MASHUP_RESULTS_ALLOW_PRIVATE", "MASHUP_FETCH_ALLOW_PRIVATE"])
def test_a_persons_link_is_guarded_whatever_the_results_flag(
    settings, inside, tmp_path, flag
) -> None:
    setattr(settings, flag, True)
    with pytest.raises(download.DownloadError, match="private or local address"):
        download.fetch(inside, tmp_path / "song.mp3", guard=True)
    assert not (tmp_path / "song.mp3").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("flag", ["MASHUP_RESULTS_ALLOW_PRIVATE", "MASHUP_FETCH_ALLOW_PRIVATE"])
def test_the_form_refuses_a_private_link_whatever_the_results_flag(
    owner_client: Client, settings, flag
) -> None:
    setattr(settings, flag, True)
    response = owner_client.post(
        "/mashups/new/",
        {"model": "V5", "prompt": "x", "url1": "http://127.0.0.1/a.mp3", "url2": "http://[::1]/b"},
    )
    assert response.status_code == 422
    assert "private or local address" in response.content.decode()


def test_the_results_flag_still_lets_results_come_from_this_machine(settings, inside, tmp_path):
    settings.MASHUP_RESULTS_ALLOW_PRIVATE = True
    from mashup_site.mashups.runner import results_guarded

    assert results_guarded() is False
    assert download.fetch(inside, tmp_path / "r.mp3", guard=False).read_bytes() == b"ID3x"
    settings.MASHUP_RESULTS_ALLOW_PRIVATE = False
    assert results_guarded() is True


@pytest.mark.parametrize(
    "address",
    [
        "::7f00:1",  # ::/96, IPv4-compatible 127.0.0.1
        "::a00:1",  # ::/96, 10.0.0.1
        "::808:808",  # ::/96 is deprecated whatever it embeds
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::808:808",  # NAT64 reaches whatever the translator can
        "64:ff9b:1::a00:1",  # local-use NAT64 (RFC 8215)
        "fec0::1",  # site-local (deprecated, still routed inside some networks)
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:808:808::1",  # 6to4 as a whole
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",  # IPv4-mapped metadata service
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "127.0.0.1",
        "169.254.169.254",
        "10.1.2.3",
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "224.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(download.DownloadError, match="private or local"):
        download.check_public(
            f"http://[{address}]/a.mp3" if ":" in address else f"http://{address}/a.mp3",
            resolver=download.literal_only,
        )


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "93.184.215.14"])
def test_public_addresses_pass(address: str) -> None:
    url = f"http://[{address}]/a.mp3" if ":" in address else f"http://{address}/a.mp3"
    assert download.check_public(url, resolver=download.literal_only) == [address]


def show_flags(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import warnings; warnings.simplefilter('always');"
        "from django.conf import settings; settings.MASHUP_RESULTS_ALLOW_PRIVATE;"
        "print(settings.MASHUP_RESULTS_ALLOW_PRIVATE)"
    )
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup();" + code],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "mashup_site.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_old_flag_name_still_works_with_a_deprecation_note(tmp_path) -> None:
    old = show_flags(tmp_path, MASHUP_FETCH_ALLOW_PRIVATE="1")
    assert old.stdout.strip() == "True"
    assert "MASHUP_FETCH_ALLOW_PRIVATE is deprecated" in old.stderr
    assert "MASHUP_RESULTS_ALLOW_PRIVATE" in old.stderr
    new = show_flags(tmp_path, MASHUP_RESULTS_ALLOW_PRIVATE="1")
    assert (new.stdout.strip(), new.stderr) == ("True", "")
    assert show_flags(tmp_path).stdout.strip() == "False"
