"""/healthz while slow uploaders trickle 100 MB songs in (issue 12): the target is an
answer within 1 s throughout.

Starts gunicorn as the Procfile does (on a SQLite database of its own in a temporary
folder, migrated, with one signed-in person), then N signed-in uploaders that each send a
100 MB multipart body at a slow line's pace, and asks /healthz on a new connection every
quarter second while they do. Prints the latencies (median, p99, max) and how many asks
went unanswered within 5 s. ``--sync`` runs the Procfile's former command (sync workers)
for comparison.

    .venv/bin/python benchmarks/slow_clients.py [--uploaders 20] [--seconds 30]
        [--rate 50000] [--sync]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.webserver import (  # noqa: E402
    SlowUpload,
    free_port,
    healthz_latency,
    procfile_web,
    start_web,
    stop_web,
)

MB = 1024 * 1024
SESSION = (
    "from django.contrib.auth import get_user_model\n"
    "from django.test import Client\n"
    "user = get_user_model().objects.create_user('slow', password='slow-slow-slow-1')\n"
    "client = Client()\n"
    "client.force_login(user)\n"
    "print(client.cookies['sessionid'].value)\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploaders", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=50_000, help="bytes a second per uploader")
    parser.add_argument("--sync", action="store_true", help="the former sync workers")
    args = parser.parse_args()
    command = procfile_web()
    if args.sync:
        command = command.replace("--worker-class gthread --threads ${WEB_THREADS:-32} ", "")
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            "VAR_DIR": tmp,
            "SECRET_KEY": secrets.token_urlsafe(40),
            "STATIC_MANIFEST": "0",
            "WEB_PORT": str(port),
            "LOG_LEVEL": "WARNING",
        }
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
        session = subprocess.run(
            [*manage, "shell", "-c", SESSION],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        with (Path(tmp) / "gunicorn.log").open("w") as log:
            server = start_web(env, log, command)
            uploads = [
                SlowUpload(port, session, size=100 * MB, rate=args.rate, seconds=args.seconds)
                for _ in range(args.uploaders)
            ]
            try:
                for upload in uploads:
                    upload.start()
                time.sleep(2.0)  # every upload is being read
                latencies: list[float] = []
                unanswered = 0
                ends = time.monotonic() + args.seconds - 2.0
                while time.monotonic() < ends:
                    seconds = healthz_latency(port, timeout=5.0)
                    if seconds is None:
                        unanswered += 1
                    else:
                        latencies.append(seconds)
                    time.sleep(0.25)
                cut = sum(bool(upload.error) for upload in uploads)
            finally:
                for upload in uploads:
                    upload.stop.set()
                stop_web(server)
    kind = "sync" if args.sync else "gthread"
    print(
        f"{kind} workers, {args.uploaders} slow uploaders at {args.rate / 1000:.0f} kB/s "
        f"for {args.seconds:.0f} s; uploads cut: {cut}"
    )
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"/healthz: {len(latencies)} answered, {unanswered} not within 5 s; "
            f"median {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms"
        )
    else:
        print(f"/healthz: none of {unanswered} asks answered within 5 s")


if __name__ == "__main__":
    main()
