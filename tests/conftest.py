"""Shared fixtures: personas (an owner, a stranger, a staff member) and isolated media."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    """Every test writes its files under its own MEDIA_ROOT; static files need no build."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def owner(db):
    return UserFactory(username="olivia")


@pytest.fixture
def stranger(db):
    return UserFactory(username="sam")


@pytest.fixture
def staff(db):
    return UserFactory(username="stella", is_staff=True, is_superuser=True)


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def stranger_client(stranger) -> Client:
    client = Client()
    client.force_login(stranger)
    return client


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
    yield api
    api.stop()
