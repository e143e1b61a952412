"""django-q2's entry points, and the only places work is enqueued.

Tasks are plain functions that take a primary key and re-read the row (docs/design.md,
rule 5); what they do is in ``runner.py`` (its docstring tells a job's whole life). Every
task is idempotent: a retry after a crash, or the same task delivered twice, never submits
a job twice and never moves a job backwards. Their dotted names are stored in django-q2's
queue and schedules, so they keep them.
"""

from __future__ import annotations

from django.db import transaction
from django_q.tasks import async_task

from mashup_site.providers.base import TaskSnapshot

from . import jobs, runner
from .models import Mashup

TASKS = runner.TASKS


# --- entry points -----------------------------------------------------------------------------


def run_mashup(pk: int) -> None:
    """The first task of every job, enqueued after the create transaction commits."""
    runner.start(pk)


def poll_mashup(pk: int) -> None:
    """One tick of the job's loop (a django-q2 ``Schedule.ONCE``, see ``runner.poll``)."""
    if runner.poll(pk):
        enqueue_copy(pk)


def copy_results(pk: int) -> None:
    """Keep our own copy of the provider's files (they die after 14 days)."""
    runner.copy_results(pk)


def on_callback(pk: int, snapshot: TaskSnapshot) -> None:
    """Apply a trusted callback (the callback view); polling goes on until the job is final."""
    if runner.apply(pk, snapshot, from_callback=True):
        enqueue_copy(pk)


def on_signed_callback(pk: int, task_id: str) -> None:
    """A signed callback (its signature vouches for the task id, not the body): re-read the
    provider's record now instead of trusting the tracks it carried."""
    jobs.heard_callback(pk, task_id)
    enqueue_poll_now(pk)


# --- enqueueing -------------------------------------------------------------------------------


def enqueue_run(mashup: Mashup) -> None:
    """Start the job once the row that describes it is committed."""
    pk = mashup.pk
    transaction.on_commit(
        lambda: async_task(f"{TASKS}.run_mashup", pk, task_name=f"mashup-{pk}-run")
    )


def enqueue_retry(mashup: Mashup) -> bool:
    """Queue a failed job again from the start (``jobs.retry_failed``); False if it is not
    (or no longer) failed."""
    if not jobs.retry_failed(mashup.pk):
        return False
    enqueue_run(mashup)
    return True


def enqueue_copy(pk: int) -> None:
    transaction.on_commit(
        lambda: async_task(f"{TASKS}.copy_results", pk, task_name=f"mashup-{pk}-copy")
    )


def enqueue_poll_now(pk: int) -> None:
    """Staff's re-poll: ``poll_mashup`` skips a poll that comes before the scheduled one,
    so this one is made due first."""
    Mashup.objects.filter(pk=pk).update(next_poll_at=None)
    async_task(f"{TASKS}.poll_mashup", pk, task_name=f"mashup-{pk}-repoll")
