"""Kill and cut things, then count the jobs (issue 12): none may be lost.

The production configuration on this machine: PostgreSQL (a database of its own, dropped at
the end), django-q2's Redis broker on a redis-server of its own (a spare loopback port, no
persistence), real `manage.py worker` processes (1 worker each, own process groups), the
local engine on two short synthetic songs. Per scenario it prints the jobs submitted,
completed, failed with a message, and lost (not final, or failed without a message), and
how many submits were refused with "try again in a minute".

Scenarios:
  kill-redis   a worker SIGKILLed mid-job, Redis broker (the running and the fetched-ahead
               jobs are lost by the broker)
  kill-orm     the same on django-q2's ORM broker (Q_BROKER=orm)
  redis-down   Redis stopped while people submit (refused: no job) and while saved jobs
               are handed over (kept queued), then started again
  redis-lost   Redis restarted without persistence: its queue is gone

The reconciler's next run is simulated by moving the jobs' times back past the lease and
the unclaimed bound (django-q2's ORM queue and the workers run on the real clock).

    .venv/bin/python benchmarks/faults.py [--only kill-redis] [--jobs 3]
        [--database postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.redis_server import RedisServer  # noqa: E402

DEADLINE = 600.0


def setup(args: argparse.Namespace, var_dir: Path, redis_url: str) -> str:
    import psycopg

    name = f"mashups_faults_{os.getpid()}"
    with psycopg.connect(args.database, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = args.database.rsplit("/", 1)[0]
    env = {
        "DATABASE_URL": f"{base}/{name}",
        "VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "SECRET_KEY": secrets.token_urlsafe(40),
        "Q_BROKER": "redis",
        "REDIS_URL": redis_url,
        "CACHE": "local",
        "STATIC_MANIFEST": "0",  # no collectstatic here
        "LOG_LEVEL": "WARNING",
        "Q_WORKERS": "1",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mashup_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return name


def drop(args: argparse.Namespace, name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(args.database, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def songs(folder: Path) -> tuple[Path, Path]:
    from tests.audiofiles import write_audio
    from tests.signals import SR, song

    return (
        write_audio(folder / "first.wav", "wav", song(120, 0, "major", 16.0)["mix"], SR),
        write_audio(folder / "second.wav", "wav", song(100, 2, "minor", 16.0)["mix"], SR),
    )


def new_job(owner, paths: tuple[Path, Path]) -> int:
    from django.core.files import File
    from django.db import transaction

    from mashup_site.mashups.models import Mashup, Source
    from mashup_site.mashups.storage import store_content_addressed

    mashup = Mashup.objects.create(
        owner=owner, payload={"model": "V5", "prompt": "faults"}, model="V5", prompt="faults"
    )
    for position, path in enumerate(paths, start=1):
        with path.open("rb") as handle, transaction.atomic():  # as the create form stores
            stored = store_content_addressed(File(handle), prefix="sources")
            Source.objects.create(
                mashup=mashup, position=position, file=stored.name, original_name=path.name
            )
    return mashup.pk


class Workers:
    def __init__(self, var_dir: Path) -> None:
        self.log = (var_dir / "workers.log").open("a")
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, **env: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "worker"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def kill_all(self) -> None:
        for process in self.processes:
            self.kill(process)


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def reconcile_later(pks: list[int]) -> dict[str, int]:
    from django.conf import settings
    from django.db.models import F

    from mashup_site.mashups import runner, tasks
    from mashup_site.mashups.models import Mashup

    back = timedelta(
        seconds=max(runner.lease().total_seconds(), settings.MASHUP_UNCLAIMED_MINUTES * 60) + 1
    )
    Mashup.objects.filter(pk__in=pks).update(
        claimed_at=F("claimed_at") - back,
        enqueued_at=F("enqueued_at") - back,
        queued_at=F("queued_at") - back,
    )
    return tasks.reconcile()


def count(pks: list[int]) -> dict[str, int]:
    from mashup_site.mashups.models import Mashup, Status

    rows = list(Mashup.objects.filter(pk__in=pks))
    completed = sum(m.status == Status.COMPLETE for m in rows)
    failed = sum(m.status == Status.FAILED and bool(m.error_message) for m in rows)
    return {
        "submitted": len(pks),
        "completed": completed,
        "failed with a message": failed,
        "lost": len(pks) - completed - failed,
    }


def finish(workers: Workers, pks: list[int], **env: str) -> dict[str, int]:
    from mashup_site.mashups.models import Mashup

    workers.start(**env)
    wait_for(lambda: all(m.is_final for m in Mashup.objects.filter(pk__in=pks)), DEADLINE)
    workers.kill_all()
    return count(pks)


def kill_mid_job(ctx: dict, broker: str) -> dict[str, int]:
    from django_q.conf import Conf

    from mashup_site.mashups import tasks
    from mashup_site.mashups.models import Mashup

    env = {"Q_BROKER": broker}
    if broker == "orm":
        Conf.ORM = "default"
    pks = [new_job(ctx["owner"], ctx["songs"]) for _ in range(ctx["jobs"])]
    for pk in pks:
        tasks.hand_to_broker(pk)
    first = ctx["workers"].start(**env)
    # Killed as soon as the first claim shows: a pause after it let a fast machine finish
    # the job before the kill (tests/test_worker_faults.py had the same race).
    wait_for(lambda: Mashup.objects.get(pk=pks[0]).claimed_at is not None, 120)
    ctx["workers"].kill(first)
    reconcile_later(pks)
    result = finish(ctx["workers"], pks, **env)
    Conf.ORM = None
    return result


def redis_down(ctx: dict) -> dict[str, int]:
    from django.test import Client
    from django.urls import reverse

    from mashup_site.mashups import tasks

    redis: RedisServer = ctx["redis"]
    redis.stop()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(ctx["owner"])
    form = {
        "model": "V5",
        "prompt": "x",
        "url1": "https://a.example/1.mp3",
        "url2": "https://a.example/2.mp3",
    }
    answers = [client.post(reverse("mashups:create"), form).status_code for _ in range(3)]
    ctx["refused"] = sum(status == 503 for status in answers)
    ctx["errors"] = sum(status >= 500 and status != 503 for status in answers)
    pks = [new_job(ctx["owner"], ctx["songs"]) for _ in range(ctx["jobs"])]
    for pk in pks:
        tasks.hand_to_broker(pk)  # fails: the jobs stay queued
    redis.start()
    reconcile_later(pks)
    return finish(ctx["workers"], pks)


def redis_lost(ctx: dict) -> dict[str, int]:
    from mashup_site.mashups import tasks

    redis: RedisServer = ctx["redis"]
    pks = [new_job(ctx["owner"], ctx["songs"]) for _ in range(ctx["jobs"])]
    for pk in pks:
        tasks.hand_to_broker(pk)
    redis.stop()
    redis.start()  # no persistence: the queue is empty
    reconcile_later(pks)
    return finish(ctx["workers"], pks)


SCENARIOS: dict[str, Callable[[dict], dict[str, int]]] = {
    "kill-redis": lambda ctx: kill_mid_job(ctx, "redis"),
    "kill-orm": lambda ctx: kill_mid_job(ctx, "orm"),
    "redis-down": redis_down,
    "redis-lost": redis_lost,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SCENARIOS))
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="mashups-faults-"))
    redis = RedisServer(var_dir).start()
    name = setup(args, var_dir, redis.url)
    from django.contrib.auth import get_user_model

    ctx: dict = {
        "owner": get_user_model().objects.create_user("faults", password=secrets.token_hex(8)),
        "songs": songs(var_dir),
        "jobs": args.jobs,
        "redis": redis,
        "workers": Workers(var_dir),
    }
    from django.conf import settings

    settings.MASHUP_MAX_ACTIVE_PER_USER = settings.MASHUP_MAX_PER_DAY = 1000
    try:
        print(f"{'scenario':<12} submitted completed failed-with-message lost  notes")
        for scenario in [args.only] if args.only else list(SCENARIOS):
            started = time.monotonic()
            result = SCENARIOS[scenario](ctx)
            notes = f"{time.monotonic() - started:.0f} s"
            if scenario == "redis-down":
                notes += (
                    f"; submits refused with 'try again': {ctx['refused']}/3, 500s: {ctx['errors']}"
                )
            print(
                f"{scenario:<12} {result['submitted']:>9} {result['completed']:>9} "
                f"{result['failed with a message']:>19} {result['lost']:>4}  {notes}",
                flush=True,
            )
    finally:
        ctx["workers"].kill_all()
        redis.stop()
        drop(args, name)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
