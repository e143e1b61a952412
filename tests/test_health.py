"""Liveness, readiness, and pages that survive a Redis outage (issue 12): a real
redis-server on a spare loopback port, stopped for real."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import MashupFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(settings, redis_broker):
    """CACHE=redis as settings.py configures it, on the test's own redis-server."""
    settings.CACHES = {
        "default": {
            "BACKEND": "mashup_site.cache.DegradingRedisCache",
            "LOCATION": redis_broker.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    return redis_broker


def test_liveness_needs_nothing_but_the_process(client: Client) -> None:
    assert client.get("/healthz").content == b"ok"


def test_readiness_answers_ready_when_database_cache_and_broker_answer(
    client: Client, redis_cache
) -> None:
    response = client.get(reverse("mashups:readyz"))
    assert response.status_code == 200 and response.content == b"ready"


def test_readiness_is_503_naming_what_is_down_when_redis_stops(client: Client, redis_cache) -> None:
    redis_cache.stop()
    response = client.get(reverse("mashups:readyz"))
    assert response.status_code == 503
    assert response.content == b"not ready: cache, broker down"


def test_the_gallery_renders_without_its_cache_while_redis_is_down(
    owner_client: Client, owner, redis_cache
) -> None:
    MashupFactory(owner=owner, title="Still here")
    assert owner_client.get(reverse("mashups:gallery")).status_code == 200  # cached
    redis_cache.stop()
    response = owner_client.get(reverse("mashups:gallery"))
    assert response.status_code == 200
    assert "Still here" in response.content.decode()
