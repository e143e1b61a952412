"""Guarded downloads against a real loopback server: private addresses refused (also after a
redirect, and when DNS changes its answer between the check and the connection), size and
time capped. A fake DNS and an address policy in which 127.0.0.1 stands for the public
internet let the guard be exercised without leaving this machine."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address

import pytest

from mashup_site.providers.download import (
    DownloadError,
    IPAddress,
    check_public,
    fetch,
    is_public,
    literal_only,
    pinned,
)

PAYLOAD = b"RIFF" + b"\x00" * 4096


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def handle(self) -> None:
        # The client hangs up on purpose when a cap is hit.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path == "/file":
            self._send(PAYLOAD)
        elif self.path == "/big-chunked":  # no Content-Length: the cap must count bytes
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(64):
                chunk = b"x" * 65536
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/slow":
            time.sleep(0.6)
            self._send(PAYLOAD)
        elif self.path == "/to-file":
            self._redirect(f"http://songs.test:{port}/file")
        elif self.path == "/to-private":
            self._redirect(f"http://10.0.0.8:{port}/file")
        elif self.path == "/loop":
            self._redirect("/loop")
        else:
            self.send_error(404)

    def _send(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    yield server.server_address[1]
    server.shutdown()


# Guarded fetches over loopback: 127.0.0.1 (where the test server listens) stands for the
# public internet; every other private, loopback or link-local address stays private.
STAND_IN = ip_address("127.0.0.1")


def stand_in_is_public(ip: IPAddress) -> bool:
    return ip == STAND_IN or is_public(ip)


def fake_dns(host: str) -> list[str]:
    """songs.test is "public" (the test server); other names as literal addresses."""
    return ["127.0.0.1"] if host == "songs.test" else literal_only(host)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.mp3",
        "http://localhost/a.mp3",
        "http://[::1]/a.mp3",
        "http://10.0.0.8/a.mp3",
        "http://192.168.1.1/a.mp3",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/a.mp3",
        "http://[fe80::1]/a.mp3",
        "http://0.0.0.0/a.mp3",
    ],
)
def test_it_refuses_private_loopback_and_link_local_addresses(url: str) -> None:
    with pytest.raises(DownloadError, match="private or local address"):
        check_public(url)


@pytest.mark.parametrize("url", ["ftp://example.com/a.mp3", "file:///etc/passwd", "http:///x"])
def test_it_only_fetches_http_links(url: str, tmp_path) -> None:
    with pytest.raises(DownloadError, match="only http"):
        fetch(url, tmp_path / "out", guard=True)


def test_a_public_address_passes() -> None:
    check_public("https://songs.example/a.mp3", resolver=lambda host: ["93.184.216.34"])


def test_a_guarded_fetch_of_a_loopback_server_is_refused(port: int, tmp_path) -> None:
    target = tmp_path / "out"
    with pytest.raises(DownloadError, match="private or local"):
        fetch(f"http://127.0.0.1:{port}/file", target, guard=True)
    assert not target.exists()


def test_a_redirect_to_a_private_address_is_refused(port: int, tmp_path) -> None:
    target = tmp_path / "out"
    with pytest.raises(DownloadError, match=r"private or local address \(10\.0\.0\.8\)"):
        fetch(
            f"http://songs.test:{port}/to-private",
            target,
            guard=True,
            resolver=fake_dns,
            public=stand_in_is_public,
        )
    assert not target.exists()


def test_it_connects_to_the_address_it_checked_not_to_a_second_lookup(
    port: int, tmp_path, monkeypatch
) -> None:
    """DNS rebinding: the name is public when checked and private when connected to. The
    fetch must connect to the checked address (here 127.0.0.2, where nothing listens),
    never to the later answer (127.0.0.1, "the internal service")."""
    answers = iter(["127.0.0.2"] + ["127.0.0.1"] * 10)
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "rebind.test":
            host = next(answers)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    public = lambda ip: ip == ip_address("127.0.0.2")  # noqa: E731
    with pytest.raises(DownloadError, match="could not be fetched"):
        fetch(f"http://rebind.test:{port}/file", tmp_path / "o", guard=True, public=public)
    assert not (tmp_path / "o").exists()


def test_a_pinned_request_keeps_the_name_for_the_host_header_and_tls() -> None:
    url, headers, extensions = pinned("https://user@songs.example:8443/a.mp3?x=1", "2001:db8::1")
    assert url == "https://[2001:db8::1]:8443/a.mp3?x=1"
    assert headers == {"Host": "songs.example:8443"}
    assert extensions == {"sni_hostname": "songs.example"}  # the certificate is checked for it


def test_private_addresses_are_reached_only_unguarded(port: int, tmp_path, settings) -> None:
    """Only the provider's results skip the guard (MASHUP_RESULTS_ALLOW_PRIVATE, for tests
    and a provider on this machine); the flag never opens a guarded fetch."""
    url = f"http://127.0.0.1:{port}/file"
    assert settings.MASHUP_RESULTS_ALLOW_PRIVATE is False  # the default
    settings.MASHUP_RESULTS_ALLOW_PRIVATE = True
    with pytest.raises(DownloadError):
        fetch(url, tmp_path / "out", guard=True)
    assert fetch(url, tmp_path / "out", guard=False).read_bytes() == PAYLOAD


def test_a_redirect_between_public_hosts_is_followed(port: int, tmp_path) -> None:
    target = fetch(
        f"http://127.0.0.1:{port}/to-file",
        tmp_path / "out",
        guard=True,
        resolver=fake_dns,
        public=stand_in_is_public,
    )
    assert target.read_bytes() == PAYLOAD


def test_endless_redirects_stop(port: int, tmp_path) -> None:
    with pytest.raises(DownloadError, match="redirects too many times"):
        fetch(f"http://127.0.0.1:{port}/loop", tmp_path / "out", guard=False)


def test_an_unguarded_fetch_of_a_result_works(port: int, tmp_path) -> None:
    assert fetch(f"http://127.0.0.1:{port}/file", tmp_path / "o", guard=False).read_bytes() == (
        PAYLOAD
    )


def test_a_declared_size_over_the_cap_is_refused(port: int, tmp_path) -> None:
    with pytest.raises(DownloadError, match="larger than"):
        fetch(f"http://127.0.0.1:{port}/file", tmp_path / "o", guard=False, max_bytes=1024)


def test_an_undeclared_size_over_the_cap_is_cut_off(port: int, tmp_path) -> None:
    target = tmp_path / "o"
    with pytest.raises(DownloadError, match="larger than 1 MB"):
        fetch(f"http://127.0.0.1:{port}/big-chunked", target, guard=False, max_bytes=1 << 20)
    assert not target.exists()  # the partial file is removed


def test_a_slow_server_hits_the_time_cap(port: int, tmp_path) -> None:
    with pytest.raises(DownloadError, match="took too long"):
        fetch(f"http://127.0.0.1:{port}/slow", tmp_path / "o", guard=False, timeout=0.2)


def test_a_missing_file_says_its_status(port: int, tmp_path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(f"http://127.0.0.1:{port}/nothing", tmp_path / "o", guard=False)


def test_an_unknown_host_is_named(tmp_path) -> None:
    with pytest.raises(DownloadError, match="could not be found"):
        fetch("http://no-such-host.invalid/a.mp3", tmp_path / "o", guard=True)


@pytest.mark.parametrize(
    ("host", "addresses"),
    [
        ("localhost", ["127.0.0.1"]),
        ("media.localhost", ["127.0.0.1"]),
        ("10.0.0.7", ["10.0.0.7"]),
        ("[::1]", ["::1"]),
        ("example.com", []),  # a name: left to the worker's real lookup
    ],
)
def test_literal_only_resolves_without_dns(host: str, addresses: list[str]) -> None:
    assert literal_only(host) == addresses
