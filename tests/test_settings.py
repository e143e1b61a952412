"""Settings come from the environment, with defaults that run a fresh checkout (settings.py).

Each case starts a real ``manage.py`` process with its own environment, because settings
are read once at import. The production switches (PostgreSQL through ``DATABASE_URL``,
Redis through ``Q_BROKER=redis``) run against the services on this machine; in CI they
must be there, elsewhere a missing service skips its test with the reason.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/15"  # a database number nothing else here uses

SHOW = """
import json
from django.conf import settings
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "broker": "redis" if "redis" in settings.Q_CLUSTER else settings.Q_CLUSTER.get("orm"),
    "provider": settings.MASHUP_PROVIDER,
    "debug": settings.DEBUG,
    "upload_max_mb": settings.UPLOAD_MAX_MB,
    "retention_days": settings.RETENTION_DAYS,
}))
"""


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` in a clean environment: only PATH, a private VAR_DIR and ``env``."""
    base = {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path / "var"), "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def shown(tmp_path: Path, **env: str) -> dict[str, object]:
    result = manage(tmp_path, "shell", "-c", SHOW, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def service_or_skip(port: int, name: str) -> None:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must test the production switches, but {name} is not running")
        pytest.skip(f"{name} is not running on 127.0.0.1:{port}")


def test_it_runs_a_fresh_checkout_on_embedded_defaults(tmp_path) -> None:
    assert shown(tmp_path) == {
        "engine": "django.db.backends.sqlite3",
        "broker": "default",
        "provider": "local",
        "debug": False,
        "upload_max_mb": 50,
        "retention_days": 14,
    }
    assert (tmp_path / "var" / "secret_key").exists()


def test_it_keeps_its_generated_secret_key_across_starts(tmp_path) -> None:
    shown(tmp_path)
    key = (tmp_path / "var" / "secret_key").read_text()
    shown(tmp_path)
    assert (tmp_path / "var" / "secret_key").read_text() == key


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"UPLOAD_MAX_MB": "lots"}, "UPLOAD_MAX_MB='lots' is not an integer"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"RETENTION_DAYS": "0"}, "RETENTION_DAYS=0 must be at least 1"),
        ({"MASHUP_PROVIDER": "cloud"}, "MASHUP_PROVIDER='cloud' must be one of local, remote"),
        ({"MASHUP_PROVIDER": "remote"}, "MASHUP_PROVIDER=remote needs MASHUP_API_KEY"),
        (
            {"MASHUP_SOURCE_DELIVERY": "cloud"},
            "MASHUP_SOURCE_DELIVERY='cloud' must be one of auto, link, upload",
        ),
        ({"Q_TIMEOUT": "600", "Q_RETRY": "600"}, "Q_RETRY (600) must be longer than Q_TIMEOUT"),
    ],
)
def test_it_stops_at_start_up_naming_a_bad_variable(tmp_path, env, message) -> None:
    result = manage(tmp_path, "check", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_it_never_leaks_the_api_key_in_a_configuration_error(tmp_path) -> None:
    result = manage(
        tmp_path, "check", MASHUP_PROVIDER="remote", MASHUP_API_KEY="sk-secret-123", DEBUG="x"
    )
    assert result.returncode != 0
    assert "sk-secret-123" not in result.stderr + result.stdout


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL database, dropped afterwards."""
    service_or_skip(5432, "PostgreSQL")
    import psycopg

    name = f"mashups_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES}/{name}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_it_runs_on_postgresql_from_database_url(tmp_path, postgres_url) -> None:
    migrated = manage(tmp_path, "migrate", "--no-input", DATABASE_URL=postgres_url)
    assert migrated.returncode == 0, migrated.stderr
    made = manage(
        tmp_path,
        "shell",
        "-c",
        "from django.contrib.auth.models import User;"
        "from mashup_site.mashups.models import Mashup;"
        "u = User.objects.create(username='pg');"
        "Mashup.objects.create(owner=u, payload={'model': 'V5'}, model='V5');"
        "from django.db import connection; print(connection.vendor, Mashup.objects.count())",
        DATABASE_URL=postgres_url,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.split()[-2:] == ["postgresql", "1"]


def test_it_shares_its_cache_through_redis_when_asked(tmp_path) -> None:
    service_or_skip(6379, "Redis")
    key = f"settings-test-{uuid.uuid4().hex}"
    write = f"from django.core.cache import cache; cache.set('{key}', 'shared', 60)"
    read = (
        "from django.core.cache import caches; cache = caches['default'];"
        f"print(type(cache).__name__, cache.get('{key}')); cache.delete('{key}')"
    )
    for script in (write, read):  # two processes: what one stores, the other reads
        result = manage(tmp_path, "shell", "-c", script, CACHE="redis", REDIS_URL=REDIS)
        assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["DegradingRedisCache", "shared"]  # cache.py


def test_it_queues_tasks_on_redis_when_asked(tmp_path) -> None:
    service_or_skip(6379, "Redis")
    script = (
        "from django_q.brokers import get_broker;"
        "from django_q.tasks import async_task;"
        "broker = get_broker();"
        "async_task('math.floor', 2.5, broker=broker);"
        "print(type(broker).__name__, broker.queue_size());"
        "broker.purge_queue()"
    )
    result = manage(tmp_path, "shell", "-c", script, Q_BROKER="redis", REDIS_URL=REDIS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["Redis", "1"]


def test_s3_storage_talks_to_the_configured_endpoint_and_region(tmp_path) -> None:
    show = (
        "from django.core.files.storage import default_storage as s; "
        "print(s.endpoint_url, s.region_name, s.url('sources/a.mp3').split('?')[0])"
    )
    result = manage(
        tmp_path,
        "shell",
        "-c",
        show,
        STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="mashups",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        AWS_S3_REGION_NAME="eu-west-3",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
    )
    assert result.returncode == 0, result.stderr
    endpoint, region, url = result.stdout.split()[-3:]
    assert (endpoint, region) == ("http://127.0.0.1:9000", "eu-west-3")
    assert url == "http://127.0.0.1:9000/mashups/sources/a.mp3"  # not amazonaws.com


def test_a_database_that_does_not_answer_is_a_designed_503_not_a_bare_500(tmp_path) -> None:
    ask = (
        "from django.test import Client; "
        "r = Client(raise_request_exception=False).post('/accounts/login/', "
        "{'username': 'a', 'password': 'b'}); "
        "print(r.status_code, r.headers.get('Retry-After'), 'try again in a minute' in r.text)"
    )
    result = manage(
        tmp_path,
        "shell",
        "-c",
        ask,
        DATABASE_URL="postgres://nobody@127.0.0.1:1/none",  # a closed loopback port
        ALLOWED_HOSTS="testserver",
        STATIC_MANIFEST="0",
    )
    assert result.stdout.split()[-3:] == ["503", "60", "True"], result.stderr[-2000:]
