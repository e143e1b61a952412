"""The Procfile's web server, for real on loopback: slow clients cannot pin it (issue 12).

A signed-in person's upload is read as it arrives; with gunicorn's sync workers each slow
body held a whole worker process, so two slow uploads made every page unreachable and a
slow 100 MB upload was cut at the 120 s timeout. benchmarks/slow_clients.py measures
/healthz under 20 slow uploaders.
"""

from __future__ import annotations

import time

import httpx
import pytest
from django.test import Client

from tests.webserver import CREATE, SlowUpload, free_port, healthz_latency, start_web, stop_web
from tests.workers import worker_env

# The server reads the file test database (the worker marker), where the session is.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

MB = 1024 * 1024


def test_slow_uploads_leave_the_server_answering(owner, settings, tmp_path) -> None:
    client = Client()
    client.force_login(owner)
    session = client.cookies["sessionid"].value
    port = free_port()
    env = worker_env(settings, WEB_PORT=str(port), WEB_WORKERS="1", STATIC_MANIFEST="0")
    with (tmp_path / "gunicorn.log").open("w") as log:
        server = start_web(env, log)
        uploads = [
            SlowUpload(port, session, size=100 * MB, rate=8_000, seconds=120) for _ in range(4)
        ]
        try:
            for upload in uploads:
                upload.start()
            deadline = time.monotonic() + 30
            while not all(upload.sent > 16_000 for upload in uploads):
                assert time.monotonic() < deadline, "the uploads did not start"
                time.sleep(0.2)
            # Four bodies trickle into a single worker process: it still answers.
            assert healthz_latency(port, timeout=10) is not None
            assert healthz_latency(port, timeout=10) is not None
            # The upload gate still judges a request before reading it.
            too_big = httpx.post(
                f"http://127.0.0.1:{port}{CREATE}",
                headers={
                    "Cookie": f"sessionid={session}",
                    "Content-Type": "multipart/form-data; boundary=x",
                },
                content=b"x" * (settings.UPLOAD_MAX_MB * 4 * MB + 1),
                timeout=30,
            )
            assert too_big.status_code == 413
            assert not any(upload.error for upload in uploads)  # still being read, not cut
        finally:
            for upload in uploads:
                upload.stop.set()
            stop_web(server)
