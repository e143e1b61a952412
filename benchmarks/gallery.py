"""How fast the gallery serves one person with many mashups, against a trivial view.

    .venv/bin/python benchmarks/gallery.py [--mashups 1000] [--seconds 10] [--connections 8]

Builds a throwaway SQLite database under benchmarks/.cache/ with one person and
``--mashups`` finished mashups (two tracks each, plus some in progress and failed), then:

1. in this process: the queries per gallery page and the server time to make one (median
   of repeated requests through Django's test client, no network), both for a page served
   from the gallery's fragment cache and for one rendered afresh (after any change);
2. serves the app with gunicorn (2 workers) on loopback and loads ``/`` (signed in) and
   ``/healthz`` (no session, no database) from another process for a bounded time with
   ``wrk`` (from PATH, or Debian's package fetched with ``apt-get download`` into
   benchmarks/.cache/tools on first use), else a Python loop of httpx clients.

Prints requests per second for both, their ratio, and the figures of step 1. Targets: the
gallery at >= 50% of the trivial view's throughput, <= 8 queries per page. A benchmark,
not a test: it asserts nothing, and numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache" / "gallery"
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
FLOOR = "/accounts/password_change/done/"

ENV = {
    **os.environ,
    "VAR_DIR": str(CACHE),
    "DJANGO_SETTINGS_MODULE": "mashup_site.settings",
    "DEBUG": "0",
    "STATIC_MANIFEST": "0",  # no collectstatic needed: pages only, not their assets
    "LOG_LEVEL": "WARNING",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mashups", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--load", nargs=3, metavar=("URL", "SECONDS", "COOKIE"), help="internal")
    args = parser.parse_args()
    if args.load:
        url, seconds, cookie = args.load
        print(json.dumps(python_load(url, float(seconds), args.connections, cookie)))
        return

    cookie, figures = prepare(args.mashups)
    port = free_port()
    server = serve(port, args.workers)
    try:
        base = f"http://127.0.0.1:{port}"
        for path, sent in (("/healthz", ""), ("/", cookie), (FLOOR, cookie)):
            load(f"{base}{path}", 1, args.connections, sent)  # warm up: lazy imports, caches
        trivial = load(f"{base}/healthz", args.seconds, args.connections, "")
        gallery = load(f"{base}/", args.seconds, args.connections, cookie)
        # The cheapest signed-in page (session + user + the base template): no page behind
        # the sign-in can be faster, so it shows how much of the gap is the gallery's own.
        floor = load(f"{base}{FLOOR}", args.seconds, args.connections, cookie)
    finally:
        server.terminate()
        server.wait(timeout=10)
    report(args, trivial, gallery, floor, figures)


# --- the data -------------------------------------------------------------------------------


def prepare(count: int) -> tuple[str, dict[str, tuple[int, float]]]:
    """A fresh database with one person and ``count`` mashups; returns their session
    cookie and, uncached and cached, the queries of one gallery page and its median time
    in ms (through Django's test client: the server's work, no network)."""
    shutil.rmtree(CACHE, ignore_errors=True)
    (CACHE / "staticfiles").mkdir(parents=True)  # whitenoise warns about a missing one
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    person = seed(count)

    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(person)
    client.get("/")
    figures = {}
    for label, clear in (("uncached", True), ("cached", False)):
        cache.clear()
        client.get("/")  # fills the cache
        if clear:
            cache.clear()
        connection.queries_log.clear()  # a full log (9000 entries) would capture nothing
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/")
        queries = len(captured)  # now: a later reconnection empties the log it reads
        assert response.status_code == 200, response.status_code
        timings = []
        for _ in range(30):
            if clear:
                cache.clear()
            started = time.perf_counter()
            client.get("/")
            timings.append((time.perf_counter() - started) * 1000)
        figures[label] = (queries, statistics.median(timings))
    connection.close()
    cookies = f"sessionid={client.cookies['sessionid'].value}"
    return f"{cookies}; csrftoken={client.cookies['csrftoken'].value}", figures


def seed(count: int):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from mashup_site.mashups.models import Mashup, Status, Track

    person = get_user_model().objects.create_user("bench", password="bench-password-1")
    now = timezone.now()
    statuses = [Status.COMPLETE] * 8 + [Status.FAILED, Status.FIRST]
    mashups = Mashup.objects.bulk_create(
        Mashup(
            owner=person,
            payload={"customMode": True, "model": "V5", "instrumental": False},
            custom_mode=True,
            model="V5",
            title=f"Benchmark mashup {n}",
            style="lofi, jazz, warm",
            prompt="A verse\nA chorus",
            status=statuses[n % len(statuses)],
            error_message="The provider timed out." if n % 10 == 8 else "",
            expires_at=now + timedelta(hours=6 * (n + 1)) if n % 10 < 8 else None,
        )
        for n in range(count)
    )
    Track.objects.bulk_create(
        Track(
            mashup=mashup,
            position=position,
            title=mashup.title,
            duration=180.0,
            audio_url=f"https://cdn.example.com/{mashup.pk}-{position}.mp3",
            image_url=f"https://cdn.example.com/{mashup.pk}-{position}.jpeg",
        )
        for mashup in mashups
        if mashup.status == Status.COMPLETE
        for position in (1, 2)
    )
    return person


# --- the server and the load ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [GUNICORN, "mashup_site.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=ENV)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)  # waiting for another process to listen, with a deadline
    server.terminate()
    raise SystemExit("gunicorn did not start within 30 s")


TOOLS = ROOT / "benchmarks" / ".cache" / "tools"
WRK_PACKAGES = ("wrk", "libluajit-5.1-2")


@functools.cache
def wrk_command() -> list[str] | None:
    """wrk from PATH, else Debian's package unpacked into benchmarks/.cache/tools (fetched
    with ``apt-get download`` on first use, like the engine benchmark's songs), else None."""
    if found := shutil.which("wrk"):
        return [found]
    binary = TOOLS / "usr" / "bin" / "wrk"
    if not binary.exists():
        TOOLS.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["apt-get", "download", *WRK_PACKAGES], cwd=TOOLS, check=True)
            for deb in TOOLS.glob("*.deb"):
                subprocess.run(["dpkg", "-x", str(deb), str(TOOLS)], check=True)
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"(wrk unavailable: {error}; falling back to a Python load)")
            return None
    libs = TOOLS / "usr" / "lib" / "x86_64-linux-gnu"
    return ["env", f"LD_LIBRARY_PATH={libs}", str(binary)]


def load(url: str, seconds: int, connections: int, cookie: str) -> dict[str, float]:
    """Requests per second and mean latency at ``url``, from another process."""
    if wrk_command():
        return wrk(url, seconds, connections, cookie)
    command = [PYTHON, __file__, "--connections", str(connections)]
    command += ["--load", url, str(seconds), cookie or "-"]
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=ENV)
    return json.loads(output.stdout)


def wrk(url: str, seconds: int, connections: int, cookie: str) -> dict[str, float]:
    command = [
        *(wrk_command() or []),
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if os.environ.get("BENCH_VERBOSE"):
        print(out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    mean_ms = float(latency.group(1)) * scale[latency.group(2)] if latency else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "latency_ms": mean_ms, "errors": int(errors.group(1)) if errors else 0}


def python_load(url: str, seconds: float, connections: int, cookie: str) -> dict[str, float]:
    """The fallback load: ``connections`` threads, each with a keep-alive httpx client."""
    import threading

    import httpx

    cookies = dict(part.split("=", 1) for part in cookie.split("; ")) if cookie != "-" else {}
    counts = [0] * connections
    errors = [0] * connections
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        with httpx.Client(cookies=cookies, timeout=30) as http:
            while time.monotonic() < stop:
                started = time.perf_counter()
                ok = http.get(url).status_code == 200
                latencies.append((time.perf_counter() - started) * 1000)
                counts[index] += ok
                errors[index] += not ok

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "rps": sum(counts) / seconds,
        "latency_ms": statistics.mean(latencies) if latencies else float("nan"),
        "errors": sum(errors),
    }


# --- the report -----------------------------------------------------------------------------


def report(args, trivial, gallery, floor, figures) -> None:  # type: ignore[no-untyped-def]
    ratio = gallery["rps"] / trivial["rps"] if trivial["rps"] else float("nan")
    tool = "wrk" if wrk_command() else "python httpx threads"
    print(f"gallery benchmark: 1 person, {args.mashups} mashups, gunicorn --workers {args.workers}")
    print(f"load: {tool}, {args.connections} connections, {args.seconds} s per URL, loopback")
    rows = (("/healthz (trivial)", trivial), ("/ (gallery)", gallery), (FLOOR, floor))
    for label, figures_of in rows:
        print(
            f"  {label:32} {figures_of['rps']:8.1f} req/s"
            f"   mean latency {figures_of['latency_ms']:6.1f} ms"
        )
    print(f"  ({FLOOR} is the cheapest signed-in page: session, user, base template)")
    print(f"  ratio gallery/trivial: {ratio:.0%}   (target >= 50%)")
    print(f"  ratio gallery/cheapest signed-in page: {gallery['rps'] / floor['rps']:.0%}")
    for label, (queries, ms) in figures.items():
        print(
            f"  {label:>8} gallery page: server time {ms:5.1f} ms (median, in-process), "
            f"{queries} queries (target <= 8)"
        )
    if trivial["errors"] or gallery["errors"] or floor["errors"]:
        print(f"  non-2xx answers: {trivial['errors']}, {gallery['errors']}, {floor['errors']}")


if __name__ == "__main__":
    main()
