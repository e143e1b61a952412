"""Start-up checks (mashups/checks.py): a remote provider that cannot call us back is said
once at start-up, by Django's system checks and in the worker's log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from mashup_site.mashups.checks import callbacks_notice, check_callbacks
from tests.test_settings import manage
from tests.workers import worker_env

ROOT = Path(django_settings.BASE_DIR)


@pytest.mark.parametrize(
    ("provider", "base_url", "warned"),
    [
        ("remote", "http://127.0.0.1:8000", True),
        ("remote", "http://[::1]:8000", True),
        ("remote", "http://homeserver:8000", True),
        ("remote", "https://mashups.example.com", False),
        ("local", "http://127.0.0.1:8000", False),
    ],
)
def test_it_warns_when_the_provider_cannot_call_back(settings, provider, base_url, warned):
    settings.MASHUP_PROVIDER, settings.PUBLIC_BASE_URL = provider, base_url
    found = check_callbacks()
    assert [w.id for w in found] == (["mashups.W001"] if warned else [])
    if warned:
        assert base_url in found[0].msg and "polling" in found[0].msg


def test_the_notice_says_where_uploaded_songs_go(settings) -> None:
    settings.MASHUP_PROVIDER, settings.PUBLIC_BASE_URL = "remote", "http://192.168.1.5:8000"
    settings.MASHUP_SOURCE_DELIVERY = "auto"
    assert "uploaded songs go to the provider's upload service" in callbacks_notice()
    settings.MASHUP_SOURCE_DELIVERY = "link"
    assert "cannot download either" in callbacks_notice()


def test_manage_py_says_it_at_start_up(tmp_path) -> None:
    result = manage(
        tmp_path,
        "check",
        MASHUP_PROVIDER="remote",
        MASHUP_API_KEY="sk-test",
        PUBLIC_BASE_URL="http://127.0.0.1:8000",
    )
    assert result.returncode == 0, result.stderr
    assert "mashups.W001" in result.stderr and "callbacks will not arrive" in result.stderr


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_says_it_once_in_its_log(settings, tmp_path) -> None:
    log = tmp_path / "worker.log"
    env = worker_env(
        settings,
        MASHUP_PROVIDER="remote",
        MASHUP_API_KEY="sk-test",
        PUBLIC_BASE_URL="http://127.0.0.1:8000",
    )
    process = subprocess.Popen(
        [sys.executable, "manage.py", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "reconciled at start" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    text = log.read_text()
    assert text.count("callbacks will not arrive") == 1, text[-2000:]
    assert "mashups.W001" in text  # Django's system check, run by the command
