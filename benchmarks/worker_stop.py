"""How long `manage.py worker` (the Procfile's) takes to stop on SIGTERM (issue 12).

honcho gives a process 5 s after SIGTERM before it kills it; the target is 2 s when idle.
For each round it starts the worker on a database of its own (SQLite in a temporary
folder, migrated once), waits until django-q2 says the cluster is running, waits a moment
more (the cluster settles), sends SIGTERM to the worker and times until the process and
every process of its group are gone. Prints each round and the median.

    .venv/bin/python benchmarks/worker_stop.py [--rounds 5] [--broker orm|redis] [--group]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNNING = b"running."
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def environment(var_dir: Path, redis_url: str = "") -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "SECRET_KEY": secrets.token_urlsafe(40),
        "Q_WORKERS": os.environ.get("Q_WORKERS", "2"),
        "LOG_LEVEL": "INFO",
    }
    if redis_url:
        env |= {"Q_BROKER": "redis", "REDIS_URL": redis_url}
    return env


def group_members(pgid: int) -> list[int]:
    """The live processes of a process group (a zombie waiting to be reaped is gone)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def group_alive(pgid: int) -> bool:
    return bool(group_members(pgid))


def one_round(env: dict[str, str], settle: float, group: bool) -> float:
    """Seconds from SIGTERM until the worker and all its processes are gone."""
    with tempfile.TemporaryFile() as log:
        return timed_stop(env, settle, group, log)


def timed_stop(env: dict[str, str], settle: float, group: bool, log: IO[bytes]) -> float:
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = time.monotonic()
    while True:
        log.seek(0)
        if RUNNING in log.read():
            break
        if worker.poll() is not None or time.monotonic() - started > START_TIMEOUT:
            log.seek(0)
            raise SystemExit(f"the worker did not start:\n{log.read().decode(errors='replace')}")
        time.sleep(0.05)
    time.sleep(settle)
    sent = time.monotonic()
    if group:  # as honcho (make run) and systemd do
        os.killpg(worker.pid, signal.SIGTERM)
    else:  # as Ctrl-C, `kill PID` or a parent that died (PR_SET_PDEATHSIG) do
        worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(STOP_TIMEOUT)
        while group_alive(worker.pid) and time.monotonic() - sent < STOP_TIMEOUT:
            time.sleep(0.01)
    finally:
        if group_alive(worker.pid):
            os.killpg(worker.pid, signal.SIGKILL)
            print("the worker's processes were still there: killed")
    return time.monotonic() - sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds idle before SIGTERM")
    parser.add_argument("--broker", choices=("orm", "redis"), default="orm")
    parser.add_argument(
        "--group", action="store_true", help="signal the whole process group, as honcho does"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        var_dir = Path(tmp)
        server = None
        redis_url = ""
        if args.broker == "redis":
            from tests.fakes.redis_server import RedisServer

            server = RedisServer(var_dir).start()
            redis_url = server.url
        env = environment(var_dir, redis_url)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        try:
            times = []
            for number in range(1, args.rounds + 1):
                seconds = one_round(env, args.settle, args.group)
                times.append(seconds)
                print(f"round {number}: stopped {seconds:.2f} s after SIGTERM (idle)", flush=True)
        finally:
            if server is not None:
                server.stop()
    print(
        f"idle stop, {args.broker} broker, {env['Q_WORKERS']} workers, SIGTERM to the "
        f"{'group' if args.group else 'worker'}: "
        f"median {statistics.median(times):.2f} s, max {max(times):.2f} s"
    )


if __name__ == "__main__":
    main()
