"""``manage.py worker``: the django-q2 worker, started safely (the Procfile runs this).

Before the cluster starts: refuse to start when the database does not answer (a worker
that cannot save results would take jobs from the broker and drop them), then hand back
whatever a previous worker or the broker lost (``tasks.reconcile``) and delete the
temporary files killed processes left (``retention.clean_temp``), then run
``qcluster``.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from mashup_site.mashups import retention, tasks


class Command(BaseCommand):
    help = "Check the database, recover lost jobs, then run the django-q2 cluster."

    def handle(self, *args: Any, **options: Any) -> None:
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
