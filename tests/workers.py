"""Worker processes that tests start for real (``manage.py worker`` or ``qcluster``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.db import connection


def worker_env(settings: Any, **extra: str) -> dict[str, str]:
    """The environment of a worker process started by a test: the file test database (see
    tests/conftest.py), this test's media folder and signing key (django-q2 signs its task
    packages), one worker process; ``extra`` on top."""
    database = Path(connection.settings_dict["NAME"])
    assert database.name == "db.sqlite3", "the worker needs the file test database"
    return {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "VAR_DIR": str(database.parent),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": settings.SECRET_KEY,
        "Q_WORKERS": "1",
        **extra,
    }
