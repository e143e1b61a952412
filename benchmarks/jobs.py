"""Figures of a remote job's life (mashups/runner.py), against the fake remote API
(tests/fakes/fake_api.py) over loopback HTTP, on a fresh SQLite database in a temporary
VAR_DIR.

1. Submit-to-provider latency with the ORM broker: a job is committed and enqueued (at a
   random moment); a real `manage.py qcluster` process (1 worker) picks it up and submits
   it. Measured from the enqueue to the fake receiving the submit request.
2. Callback-to-page-update latency: the fake posts a callback to the app (a real HTTP
   server in this process); a poller asks for the page's progress region every 2 s, like
   the page's htmx trigger, from a random phase. Measured from the callback's send to the
   first poll answer showing the new stage; also the server-side costs alone.
3. Provider requests per job, callbacks on and callbacks lost, for a provider that takes
   30 s / 90 s / 180 s to text / first / complete (a typical generation), on a fake clock:
   with polls run exactly when due, and on django-q2's scheduler, which wakes every ~30 s.
4. The same job from a home server (PUBLIC_BASE_URL on loopback, MASHUP_SOURCE_DELIVERY
   auto): two uploaded songs go to the upload service, no callback comes, polls keep the
   30 s pace; against a public PUBLIC_BASE_URL whose callbacks were lost (60 s pace).
   Requests (uploads + submit + polls) and when the job was seen complete.

    .venv/bin/python benchmarks/jobs.py [--jobs 10] [--samples 8]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.fake_api import FakeApi, make_files  # noqa: E402

TIMELINE = (30.0, 90.0, 180.0)
SCHEDULER_TICK = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def summary(values: list[float], unit: str = "ms", scale: float = 1000) -> str:
    scaled = sorted(v * scale for v in values)
    p95 = scaled[min(len(scaled) - 1, math.ceil(0.95 * len(scaled)) - 1)]
    return (
        f"median {statistics.median(scaled):.0f} {unit}, mean {statistics.fmean(scaled):.0f} "
        f"{unit}, p95 {p95:.0f} {unit}, min {scaled[0]:.0f}, max {scaled[-1]:.0f} (n={len(scaled)})"
    )


def setup(var_dir: Path, fake: FakeApi, port: int) -> dict[str, str]:
    env = {
        "VAR_DIR": str(var_dir),
        "SECRET_KEY": secrets.token_urlsafe(40),
        "MASHUP_API_KEY": fake.key,
        "MASHUP_API_BASE_URL": fake.url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "Q_WORKERS": "1",
        "MASHUP_RESULTS_ALLOW_PRIVATE": "1",  # the fake's track files are on loopback
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "mashup_site.settings",
    }
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def serve(port: int) -> None:
    """The app over real HTTP in this process (threaded, like gunicorn's workers)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", port), Quiet, allow_reuse_address=True)
    server.set_app(WSGIHandler())
    threading.Thread(target=server.serve_forever, daemon=True).start()


def new_job(owner, *, uploaded: bool = False):  # type: ignore[no-untyped-def]
    from django.core.files.base import ContentFile

    from mashup_site.mashups.models import Mashup, Source

    mashup = Mashup.objects.create(
        owner=owner,
        provider="remote",
        model="V5",
        prompt="benchmark",
        payload={"customMode": False, "model": "V5", "instrumental": False, "prompt": "bench"},
    )
    for position in (1, 2):
        if uploaded:
            source = Source(mashup=mashup, position=position, original_name=f"{position}.mp3")
            source.file.save(f"{position}.mp3", ContentFile(b"ID3 %d" % position), save=True)
            continue
        Source.objects.create(
            mashup=mashup, position=position, url=f"https://example.com/{position}.mp3"
        )
    return mashup


# --- 1 ----------------------------------------------------------------------------------------


def submit_latency(fake: FakeApi, env: dict[str, str], owner, jobs: int) -> list[float]:  # type: ignore[no-untyped-def]
    from django.db import transaction

    from mashup_site.mashups.tasks import enqueue_run

    log = open(Path(env["VAR_DIR"]) / "qcluster.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    latencies: list[float] = []
    try:
        for n in range(jobs + 1):  # the first one warms the worker up
            time.sleep(random.uniform(0, 1))  # jobs arrive at any phase of the broker's poll
            with transaction.atomic():
                mashup = new_job(owner)
                enqueue_run(mashup)
            started = time.perf_counter()
            wait_for(lambda n=n: fake.count("submit") > n, seconds=60)
            arrived = [t for name, t in fake.arrivals if name == "submit"][n]
            if n:
                latencies.append(arrived - started)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()
    return latencies


def wait_for(condition, seconds: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.005)


# --- 2 ----------------------------------------------------------------------------------------


def page_latency(fake: FakeApi, port: int, owner, samples: int) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    import httpx
    from django.test import Client

    from mashup_site.mashups import jobs
    from mashup_site.mashups.models import Mashup

    session = Client()
    session.force_login(owner)
    cookies = {"sessionid": session.cookies["sessionid"].value}
    base = f"http://127.0.0.1:{port}"
    results: dict[str, list[float]] = {"update": [], "callback": [], "render": []}
    with httpx.Client(base_url=base, cookies=cookies, timeout=10) as http:
        for _ in range(samples):
            mashup = new_job(owner)
            jobs.claim_submission(mashup.pk)
            task_id = secrets.token_hex(6)
            Mashup.objects.filter(pk=mashup.pk).update(provider_task_id=task_id)
            from tests.fakes.fake_api import FakeTask

            task = FakeTask(task_id, {"callBackUrl": f"{base}/callbacks/{mashup.callback_token}/"})
            fake.tasks[task_id] = task
            url = f"/mashups/{mashup.pk}/"
            seen = threading.Event()
            sent: list[float] = []
            saw: list[float] = []

            def poll(url: str = url, seen: threading.Event = seen, saw: list[float] = saw) -> None:
                while not seen.is_set():
                    tick = time.perf_counter()
                    answer = http.get(url, headers={"HX-Request": "true"})
                    results["render"].append(time.perf_counter() - tick)
                    if "First track ready" in answer.text:
                        saw.append(time.perf_counter())
                        seen.set()
                        return
                    time.sleep(max(0.0, 2.0 - (time.perf_counter() - tick)))

            poller = threading.Thread(target=poll)
            poller.start()
            time.sleep(random.uniform(0.1, 2.1))  # the callback lands at a random poll phase
            sent.append(time.perf_counter())
            fake.post_callback(task, fake.callback_body(task, "first"))
            results["callback"].append(time.perf_counter() - sent[0])
            poller.join(timeout=10)
            results["update"].append(saw[0] - sent[0])
    return results


# --- 3 ----------------------------------------------------------------------------------------


COUNTED = ("submit", "record", "stream-upload", "url-upload")


def requests_per_job(  # type: ignore[no-untyped-def]
    fake: FakeApi, owner, clock, *, callbacks: bool, tick: float | None, uploaded: bool = False
) -> tuple[int, float]:
    """(requests the job cost at the provider and its upload service, seconds from the
    submit until the job was seen complete)."""
    from mashup_site.mashups import tasks
    from mashup_site.mashups.models import Mashup

    before = sum(fake.count(name) for name in COUNTED)
    mashup = new_job(owner, uploaded=uploaded)
    start = clock.now
    tasks.run_mashup(mashup.pk)
    task = fake.tasks[Mashup.objects.get(pk=mashup.pk).provider_task_id]
    pending = list(zip(TIMELINE, ("text", "first", "complete"), strict=True)) if callbacks else []
    for _ in range(500):
        job = Mashup.objects.get(pk=mashup.pk)
        if job.is_final:
            break
        due = job.next_poll_at
        if tick:  # the scheduler runs due schedules when it wakes
            offset = (due - start).total_seconds()
            due = start + timedelta(seconds=math.ceil(offset / tick) * tick)
        while pending and start + timedelta(seconds=pending[0][0]) <= due:
            at, kind = pending.pop(0)
            clock.now = start + timedelta(seconds=at)
            fake.post_callback(task, fake.callback_body(task, kind))
        if Mashup.objects.get(pk=mashup.pk).is_final:
            break
        clock.now = due
        tasks.poll_mashup(mashup.pk)
    took = (clock.now - start).total_seconds()
    return sum(fake.count(name) for name in COUNTED) - before, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=8)
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="mashup-bench-"))
    (var_dir / "staticfiles").mkdir()  # whitenoise looks for it; pages need no static files
    fake = FakeApi(*make_files(var_dir)).start()
    port = free_port()
    env = setup(var_dir, fake, port)
    serve(port)
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.create_user("bench", password="bench-password-1")
    print(f"Pipeline figures (fake API at {fake.url}, app at 127.0.0.1:{port}, {var_dir})")

    latencies = submit_latency(fake, env, owner, args.jobs)
    print(f"1. enqueue → provider receives submit (ORM broker, poll 1 s): {summary(latencies)}")

    page = page_latency(fake, port, owner, args.samples)
    print(f"2. callback sent → page shows it (2 s htmx poll):  {summary(page['update'])}")
    print(f"   callback round trip (server side):              {summary(page['callback'])}")
    print(f"   progress region render (HX GET):               {summary(page['render'])}")

    import time_machine
    from django.conf import settings
    from django.utils import timezone

    from mashup_site.providers import remote
    from tests.conftest import Clock

    travel = time_machine.travel(timezone.now(), tick=False)  # the one clock, frozen
    clock = Clock(travel.start())
    remote.default_sleep = lambda seconds: None  # type: ignore[assignment]
    fake.timeline, fake.clock = TIMELINE, lambda: clock.now.timestamp()
    print(f"3. provider requests per job (submit + polls), generation {TIMELINE} s:")
    for tick, label in (
        (None, "polls exactly when due"),
        (SCHEDULER_TICK, "scheduler wakes /30 s"),
    ):
        settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{port}"  # the fake calls back here
        on, _ = requests_per_job(fake, owner, clock, callbacks=True, tick=tick)
        settings.PUBLIC_BASE_URL = "https://mashups.example.com"  # public, callbacks lost
        lost, _ = requests_per_job(fake, owner, clock, callbacks=False, tick=tick)
        print(f"   {label:24} callbacks on: {on:3d}   callbacks lost: {lost:3d}")
    print("4. uploaded songs, callbacks lost: requests (uploads + submit + polls), seen complete")
    settings.MASHUP_UPLOAD_BASE_URL = fake.upload_url
    for tick, label in (
        (None, "polls exactly when due"),
        (SCHEDULER_TICK, "scheduler wakes /30 s"),
    ):
        settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{port}"  # a home server: upload, 30 s
        home, home_s = requests_per_job(
            fake, owner, clock, callbacks=False, tick=tick, uploaded=True
        )
        settings.PUBLIC_BASE_URL = "https://mashups.example.com"  # public: our links, 60 s
        public, public_s = requests_per_job(
            fake, owner, clock, callbacks=False, tick=tick, uploaded=True
        )
        print(
            f"   {label:24} home server: {home:3d} requests, {home_s:4.0f} s   "
            f"public URL: {public:3d} requests, {public_s:4.0f} s"
        )
    travel.stop()
    fake.stop()
    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
