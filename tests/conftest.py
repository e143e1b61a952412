"""Shared fixtures, each defined once: personas (an owner, a stranger, a staff member, and
their signed-in clients), the clock, isolated media, the fake API. (htmx's request headers
are ``tests.factories.HTMX``.)"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, UserFactory

WORKER = "worker"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{WORKER}: runs a real `manage.py qcluster` process against the test database"
    )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, request):
    """A worker process cannot see SQLite's in-memory test database: when a collected test
    needs one, the test database is a file named db.sqlite3 (on tmpfs when there is one), so
    the process finds it through VAR_DIR like the app does."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    needed = any(item.get_closest_marker(WORKER) for item in request.session.items)
    if not needed or not database["ENGINE"].endswith("sqlite3"):
        yield
        return
    shm = Path("/dev/shm")
    folder = (shm if shm.is_dir() else Path(settings.VAR_DIR)) / f"mashups-test-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    database.setdefault("TEST", {})["NAME"] = str(folder / "db.sqlite3")
    yield
    shutil.rmtree(folder, ignore_errors=True)  # after the test database is destroyed


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    """Every test writes its files under its own MEDIA_ROOT; static files need no build."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


class Clock:
    """The one clock (``django.utils.timezone.now``, and ``time.time`` with it), frozen by
    time-machine: it moves only when a test says so."""

    def __init__(self, traveller: time_machine.Coordinates) -> None:
        self._traveller = traveller

    @property
    def now(self) -> datetime:
        return timezone.now()

    @now.setter
    def now(self, moment: datetime) -> None:
        self._traveller.move_to(moment)

    def advance(self, seconds: float) -> None:
        self._traveller.shift(timedelta(seconds=seconds))


@pytest.fixture
def clock():
    """Freeze time where it is now; ``clock.now = t`` or ``clock.advance(s)`` moves it."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield Clock(traveller)


@pytest.fixture
def fake_clock():
    """An injected clock and sleep in seconds (the remote client's and the throttle's)."""
    from tests.fakes.clock import FakeClock

    return FakeClock()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def owner(db):
    return UserFactory(username="olivia")


@pytest.fixture
def stranger(db):
    return UserFactory(username="sam")


def signed_in(user) -> Client:
    """A test client signed in as ``user``."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(db):
    return UserFactory(username="stella", is_staff=True, is_superuser=True)


@pytest.fixture
def viewer(db):
    """Staff who may look at the jobs and their follow-ups, and change nothing."""
    from django.contrib.auth.models import Permission

    user = UserFactory(username="vera", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="mashups", codename__in=["view_mashup", "view_followup"]
        )
    )
    return user


@pytest.fixture
def viewer_client(viewer) -> Client:
    return signed_in(viewer)


@pytest.fixture
def owner_client(owner) -> Client:
    return signed_in(owner)


@pytest.fixture
def stranger_client(stranger) -> Client:
    return signed_in(stranger)


@pytest.fixture
def staff_client(staff) -> Client:
    return signed_in(staff)


@pytest.fixture(scope="session")
def fake_api_files(tmp_path_factory) -> tuple[bytes, bytes]:
    from tests.fakes.fake_api import make_files

    return make_files(tmp_path_factory.mktemp("fake-api"))


@pytest.fixture
def fake_api(fake_api_files, settings):
    """The fake remote API on loopback, configured as the app's provider."""
    from tests.fakes.fake_api import FakeApi

    api = FakeApi(*fake_api_files).start()
    settings.MASHUP_API_BASE_URL = api.url
    settings.MASHUP_API_KEY = api.key
    settings.MASHUP_RESULTS_ALLOW_PRIVATE = True  # its track files are on loopback
    yield api
    api.stop()


@pytest.fixture
def redis_broker(tmp_path, monkeypatch):
    """django-q2's Redis broker on a real redis-server of its own (a spare loopback port),
    which a test may stop and start again."""
    from django_q.conf import Conf

    from tests.fakes.redis_server import RedisServer

    server = RedisServer(tmp_path).start()
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", server.url)
    yield server
    server.stop()
