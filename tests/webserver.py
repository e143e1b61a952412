"""The Procfile's web server (gunicorn) started for real on loopback, and slow uploaders.

Used by tests/test_webserver.py and benchmarks/slow_clients.py: a signed-in person's slow
upload (a multipart body trickling in) must not pin the server (issue 12).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent
CREATE = "/mashups/new/"
BOUNDARY = "slowslowslow"
CSRF = "slowclientslowclientslowclient12"  # a CSRF secret (32 characters), as a browser has


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def procfile_web() -> str:
    """The Procfile's web command, as honcho runs it."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    return line.removeprefix("web:").strip()


def start_web(env: dict[str, str], log: IO[str], command: str | None = None) -> subprocess.Popen:
    """gunicorn as the Procfile starts it (``command`` to try another), once /healthz
    answers. Its log goes to a file: a pipe nobody reads would fill and block it."""
    server = subprocess.Popen(
        ["sh", "-c", "exec " + (command or procfile_web())],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['WEB_PORT']}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=2)
            return server
        except httpx.HTTPError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("gunicorn did not start") from None
            time.sleep(0.2)


class SlowUpload(threading.Thread):
    """A signed-in person's upload of ``size`` bytes sent ``rate`` bytes a second (a slow
    phone line), for at most ``seconds``; it then hangs up."""

    def __init__(self, port: int, session: str, *, size: int, rate: int, seconds: float):
        super().__init__(daemon=True)
        self.port, self.session = port, session
        self.size, self.rate, self.seconds = size, rate, seconds
        self.sent = 0
        self.stop = threading.Event()
        self.error = ""

    def run(self) -> None:
        head = (
            f"POST {CREATE} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{self.port}\r\n"
            f"Cookie: sessionid={self.session}; csrftoken={CSRF}\r\n"
            f"X-CSRFToken: {CSRF}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {self.size}\r\n\r\n"
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="audio1"; filename="song.mp3"\r\n'
            "Content-Type: audio/mpeg\r\n\r\n"
        ).encode()
        tick = 0.25
        chunk = b"\0" * max(1, int(self.rate * tick))
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
                sock.sendall(head)
                ends = time.monotonic() + self.seconds
                while not self.stop.is_set() and time.monotonic() < ends:
                    sock.sendall(chunk)
                    self.sent += len(chunk)
                    self.stop.wait(tick)
        except OSError as error:  # the server cut it
            self.error = str(error)


def healthz_latency(port: int, timeout: float) -> float | None:
    """Seconds /healthz took to answer on a new connection, None if not within ``timeout``."""
    began = time.monotonic()
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=timeout)
    except httpx.HTTPError:
        return None
    return time.monotonic() - began if response.status_code == 200 else None


def stop_web(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
