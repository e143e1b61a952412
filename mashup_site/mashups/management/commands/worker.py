"""``manage.py worker``: the django-q2 worker, started safely (the Procfile runs this).

Before the cluster starts: refuse to start when the database does not answer (a worker
that cannot save results would take jobs from the broker and drop them), then hand back
whatever a previous worker or the broker lost (``tasks.reconcile``) and delete the
temporary files killed processes left (``retention.clean_temp``), then run
``qcluster``. Django's system checks run first, as for every command: the worker's log
says once when the remote provider cannot call us back (``checks.py``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from mashup_site.mashups import retention, tasks


class Command(BaseCommand):
    help = "Check the database, recover lost jobs, then run the django-q2 cluster."

    def handle(self, *args: Any, **options: Any) -> None:
        die_with_parent()
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
        call_command("qcluster")


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """A worker whose parent (honcho in ``make run``) is killed outright is told to stop
    (SIGTERM: django-q2 stops its cluster), instead of running on as an orphan. Linux only;
    the Procfile ``exec``s, so that the parent is honcho itself, not a shell."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request took effect
        raise CommandError("The worker's parent is gone: not starting.")
