"""Door: the deployment itself. SECURE_COOKIES=1 means HTTPS all the way (secure cookies,
HSTS, a redirect to HTTPS, and the proxy header setting that makes it work behind a TLS
proxy); private pages and files are never kept by shared caches; secret tokens in URLs
never reach an access log; and the task queue's schedules cannot be made to run an
arbitrary function by staff."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django_q.models import Schedule

from tests.factories import UserFactory, finished_mashup
from tests.fakes.jobs import remote_job

ROOT = Path(__file__).resolve().parent.parent.parent

SHOW = """
import json
from django.conf import settings
print(json.dumps({
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "redirect": settings.SECURE_SSL_REDIRECT,
    "exempt": settings.SECURE_REDIRECT_EXEMPT,
    "proxy_header": settings.SECURE_PROXY_SSL_HEADER,
}))
"""


def shown(tmp_path: Path, **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SHOW],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path / "var"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_secure_cookies_means_https_all_the_way(tmp_path) -> None:
    secure = shown(tmp_path, SECURE_COOKIES="1")
    assert secure["session_secure"] and secure["csrf_secure"]
    assert secure["hsts"] >= 31_536_000  # a year
    assert secure["redirect"] is True
    assert secure["exempt"] == ["^healthz$"]  # load balancers probe over plain HTTP
    assert secure["proxy_header"] is None  # only when a proxy is said to set it
    behind = shown(tmp_path, SECURE_COOKIES="1", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https")
    assert behind["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    plain = shown(tmp_path)
    assert (plain["hsts"], plain["redirect"], plain["session_secure"]) == (0, False, False)


def test_a_malformed_proxy_header_stops_start_up(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "VAR_DIR": str(tmp_path / "var"),
            "SECURE_PROXY_SSL_HEADER": "https",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER" in result.stderr


# --- Cache-Control: private ----------------------------------------------------------------------


@pytest.mark.django_db
def test_private_pages_and_files_are_not_for_shared_caches(owner_client: Client, owner) -> None:
    mashup = finished_mashup(owner=owner)
    for url in (
        "/",
        mashup.get_absolute_url(),
        f"/mashups/{mashup.pk}/tracks/1/audio/",
        f"/mashups/{mashup.pk}/tracks/1/image/?download=1",
    ):
        response = owner_client.get(url)
        assert response.status_code == 200, url
        assert "private" in response["Cache-Control"], url


@pytest.mark.django_db
def test_staff_files_and_provider_links_are_private_too(staff_client: Client, owner) -> None:
    mashup = finished_mashup(owner=owner)
    response = staff_client.get(mashup.tracks.get(position=1).audio.url)
    assert "private" in response["Cache-Control"]
    job = remote_job(owner, uploaded=True)
    source = job.sources.get(position=1)
    response = Client().get(f"/sources/{source.access_token}/")
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]


# --- tokens stay out of the access log ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_secret_tokens_never_reach_the_web_servers_logs(tmp_path) -> None:
    """The Procfile's own web command (gunicorn), over real HTTP on loopback."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "VAR_DIR": str(tmp_path / "var"),
        "WEB_PORT": str(port),
        "WEB_WORKERS": "1",
    }
    # Its log goes to a file: a pipe nobody reads until the end fills (64 KB of tracebacks
    # from pages that fail here without a database) and then blocks the server mid-request.
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        ["sh", "-c", "exec " + line.removeprefix("web:").strip()],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    token = secrets.token_urlsafe(32)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        httpx.get(f"{base}/callbacks/{token}/", timeout=10)  # 405: GET
        httpx.get(f"{base}/sources/{token}/?x=1", timeout=10)  # no database here: a 500
        httpx.get(f"{base}/accounts/reset/MQ/{token}/", timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    output = (tmp_path / "gunicorn.log").read_text()
    assert "/healthz" in output  # the access log is on
    assert "/callbacks/" in output and "/sources/" in output
    assert token not in output


# --- django-q schedules run only the app's own tasks ---------------------------------------------


def schedule_form(func: str, hook: str = "") -> dict[str, str]:
    return {
        "name": "evil",
        "func": func,
        "hook": hook,
        "args": "",
        "kwargs": "",
        "schedule_type": "O",
        "minutes": "",
        "repeats": "-1",
        "next_run_0": "2030-01-01",
        "next_run_1": "00:00:00",
        "cron": "",
        "cluster": "",
        "intended_date_kwarg": "",
    }


@pytest.mark.django_db
def test_staff_who_are_not_superusers_cannot_edit_schedules() -> None:
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(content_type__app_label="django_q"))
    client = Client()
    client.force_login(clerk)
    response = client.post("/admin/django_q/schedule/add/", schedule_form("os.system"))
    assert response.status_code == 403
    sweeper = Schedule.objects.create(name="s", func="mashup_site.mashups.retention.sweep")
    change = f"/admin/django_q/schedule/{sweeper.pk}/change/"
    client.post(change, schedule_form("os.system"))
    assert Schedule.objects.get(pk=sweeper.pk).func == "mashup_site.mashups.retention.sweep"
    assert client.get("/admin/django_q/schedule/").status_code == 200  # they may look


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("func", "hook"),
    [
        ("os.system", ""),
        ("subprocess.run", ""),
        ("mashup_site.mashups.retention.sweep", "os.system"),
        ("mashup_site.mashups.tasks.enqueue_run", ""),  # the app's, but not a task
    ],
)
def test_even_a_superuser_schedules_only_the_apps_own_tasks(staff_client, func, hook) -> None:
    response = staff_client.post("/admin/django_q/schedule/add/", schedule_form(func, hook))
    assert response.status_code == 200  # the form again, with its error
    assert "not one of the app" in response.content.decode()
    assert not Schedule.objects.filter(name="evil").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "func",
    [
        "mashup_site.mashups.retention.sweep",
        "mashup_site.mashups.retention.sweep_orphans",
        "mashup_site.mashups.tasks.reconcile",  # refused until stop 28: its own schedule
    ],
)
def test_a_superuser_schedules_each_of_the_apps_sweepers(staff_client, func) -> None:
    form = schedule_form(func)
    response = staff_client.post("/admin/django_q/schedule/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Schedule.objects.filter(name="evil").exists()


@pytest.mark.django_db
def test_every_schedule_the_app_makes_is_one_a_superuser_may_edit() -> None:
    # The reconciler's own schedule named a task the admin refused: editing it in the
    # admin (its interval, say) failed with "not one of the app's tasks".
    from django.core.management import call_command

    from mashup_site.mashups.admin import SCHEDULABLE

    call_command("migrate", verbosity=0)
    made = set(Schedule.objects.values_list("func", flat=True))
    assert len(made) >= 3 and made <= SCHEDULABLE
