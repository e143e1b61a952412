"""``manage.py worker``: the django-q2 worker, started and stopped safely (the Procfile
runs this).

Before the cluster starts: refuse to start when the database does not answer (a worker
that cannot save results would take jobs from the broker and drop them), then hand back
whatever a previous worker or the broker lost (``tasks.reconcile``) and delete the
temporary files killed processes left (``retention.clean_temp``), then run django-q2's
cluster (what ``qcluster`` runs). Django's system checks run first, as for every command:
the worker's log says once when the remote provider cannot call us back (``checks.py``).

Stopping (SIGTERM or SIGINT: Ctrl-C, honcho, systemd, a parent that died): the cluster is
asked to stop and given ``STOP_GRACE`` seconds, enough when it is idle or a job is about
to end; what still runs then is killed, and the jobs this worker held are handed back at
once (``tasks.hand_back``: freed and queued again, a clean stop not counted as an
attempt), so another worker, or this one started again, takes them without waiting for
the lease (``Q_TIMEOUT``) to lapse. Then the process ends without Python's slow teardown.
Every process of the cluster dies with its parent (``PR_SET_PDEATHSIG``), so even a
SIGKILLed worker leaves none behind; its jobs are then recovered when their lease lapses.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, connections

from mashup_site.mashups import retention, runner, tasks

log = logging.getLogger(__name__)

STOP_GRACE = 1.5  # seconds the cluster has to stop by itself (honcho waits 5, then kills)


class Command(BaseCommand):
    help = "Check the database, recover lost jobs, then run the django-q2 cluster."

    def handle(self, *args: Any, **options: Any) -> None:
        die_with_parent()
        # Every process the cluster forks (its sentinel; the sentinel's workers, pusher and
        # monitor) is killed when the process that forked it dies: no orphan, ever.
        os.register_at_fork(after_in_child=lambda: _ask_linux(signal.SIGKILL))
        try:
            connection.ensure_connection()
            tasks.ensure_schedule()
        except DatabaseError as error:  # say why, not a traceback
            raise CommandError(
                f"The worker will not start: the database does not answer ({error})."
            ) from None
        retention.clean_temp()  # what killed engine runs and uploads left behind
        counts = tasks.reconcile()
        self.stdout.write(f"worker: reconciled at start: {counts}")
        name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        os.environ[runner.WORKER_ID] = name  # the cluster's processes claim jobs as this
        run_cluster(name, self.stdout.write)


def run_cluster(name: str, say: Any) -> None:
    """Run django-q2's cluster until SIGTERM or SIGINT (or its end), then stop it quickly
    and hand back what it held; never returns."""
    from django_q.cluster import Cluster

    stopping: list[int] = []  # a plain flag: a handler that took a lock could deadlock
    connections.close_all()  # the forked processes open their own
    cluster = Cluster()  # it sets its own SIGTERM/SIGINT handlers: stop() while starting
    cluster.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stopping.append(signum))
    while not stopping:
        if cluster.sentinel is None or not cluster.sentinel.is_alive():
            break  # the cluster ended by itself (or was stopped while starting)
        time.sleep(0.1)
    began = time.monotonic()
    stop_cluster(cluster)
    handed = tasks.hand_back(name)
    if handed:
        say(f"worker: handed back mashups {handed} to be run again")
    say(f"worker: stopped in {time.monotonic() - began:.2f} s")
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    logging.shutdown()
    # Python's own teardown of this process (the audio libraries' modules, the forked
    # cluster's finalizers) takes seconds and does nothing the worker needs.
    os._exit(0)


def stop_cluster(cluster: Any) -> None:
    """Ask the cluster to stop; after ``STOP_GRACE`` kill every process it still has."""
    sentinel = cluster.sentinel
    if sentinel is None:
        return
    family = descendants(sentinel.pid)
    if sentinel.is_alive() and cluster.stop_event is not None:
        # set() waits until the sentinel wakes; one killed meanwhile (honcho and systemd
        # signal the whole group) never does, so it is not waited for here.
        threading.Thread(target=cluster.stop_event.set, daemon=True).start()
    sentinel.join(STOP_GRACE)
    if sentinel.is_alive():
        log.warning("worker: the cluster did not stop within %s s; stopping it", STOP_GRACE)
        family = [sentinel.pid, *descendants(sentinel.pid), *family]
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        sentinel.join()
    deadline = time.monotonic() + 5
    while any(running(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.02)  # a job's process must be gone before its job is handed back


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux's /proc; elsewhere none are found)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed grandchild waits for init to reap it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """A worker whose parent (honcho in ``make run``) is killed outright is told to stop
    (SIGTERM: django-q2 stops its cluster), instead of running on as an orphan. Linux only;
    the Procfile ``exec``s, so that the parent is honcho itself, not a shell."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    _ask_linux(signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request took effect
        raise CommandError("The worker's parent is gone: not starting.")


def _ask_linux(sig: int) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
