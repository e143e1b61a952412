"""django-q2 tasks: plain functions that take a primary key and re-read the row.

Every task is idempotent (docs/design.md, rule 5): a retry after a crash, or the same task delivered
twice, never submits a job twice and never moves a job backwards. The row is the state;
tasks claim it under ``select_for_update`` before any side effect.

- ``run_mashup``: the first task of every job, enqueued after the create transaction
  commits. Local jobs run the engine here; remote jobs are submitted here.
- ``poll_mashup``: the job's loop, scheduled with back-off (django-q2 ``Schedule.ONCE``; its
  scheduler wakes about every 30 s, so short delays round up to its next tick; callbacks
  carry the fast path). It reads the provider's record when callbacks are late or lost,
  submits again when the provider refused for now (busy, out of credits), and fails a job
  (remote or local) that is not final after ``MASHUP_GIVE_UP_MINUTES``.
- ``copy_results``: keeps our own copy of the provider's files (they die after 14 days).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from mashup_site.providers.base import ProviderError, TaskSnapshot

from . import pipeline
from .models import Mashup, Provider

log = logging.getLogger(__name__)

TASKS = "mashup_site.mashups.tasks"
POLL_FIRST_DELAY = 5.0
POLL_GROWTH = 1.5
POLL_MAX_DELAY = 60.0
TIMED_OUT = "Timed out: the mashup was not finished within {minutes} minutes, so it was stopped."


def enqueue_run(mashup: Mashup) -> None:
    """Start the job once the row that describes it is committed."""
    pk = mashup.pk
    transaction.on_commit(
        lambda: async_task(f"{TASKS}.run_mashup", pk, task_name=f"mashup-{pk}-run")
    )


def run_mashup(pk: int) -> None:
    mashup = Mashup.objects.filter(pk=pk).first()
    if mashup is None:
        return  # deleted before the worker got to it
    if mashup.provider == Provider.LOCAL:
        run_local(pk)
    else:
        submit_remote(pk)


# --- local ------------------------------------------------------------------------------------


def run_local(pk: int) -> None:
    """Run the engine in this worker, reporting its stages as snapshots."""
    lease = timedelta(seconds=int(settings.Q_CLUSTER["timeout"]))  # type: ignore[call-overload]
    if not pipeline.claim(pk, lease=lease):
        return
    schedule_watchdog(pk)
    pipeline.run_local_engine(pk)


# --- remote -----------------------------------------------------------------------------------


def submit_remote(pk: int) -> None:
    """Submit once. The claim is saved before the request, so a crash after the provider
    accepted the job but before its task id was saved cannot submit it again: the retry sees
    the claim and waits for the job's callback (which names the task id) or gives up.
    The first poll is scheduled before the request for the same reason."""
    if not pipeline.claim_submission(pk):
        return
    schedule_poll(pk, POLL_FIRST_DELAY)
    try:
        task_id = pipeline.submit(pk)
    except ProviderError as error:
        if error.permanent:
            pipeline.fail(pk, error.code, str(error))
        elif error.maybe_accepted:
            log.warning("submit of mashup %s may have reached the provider: %s", pk, error)
        else:  # refused for now (busy, credits, maintenance): the next poll submits again
            pipeline.release_submission(pk, str(error))
        return
    pipeline.record_task_id(pk, task_id)


def poll_mashup(pk: int) -> None:
    """One tick of the job's loop: give up when too late, (re)submit or read the provider's
    record, then schedule the next tick with back-off until the job is final."""
    mashup = Mashup.objects.filter(pk=pk).first()
    if mashup is None or mashup.is_final:
        return
    now = pipeline.now()
    if mashup.next_poll_at and mashup.next_poll_at > now + timedelta(seconds=1):
        return  # a duplicate of an earlier poll; a later one is already scheduled
    if pipeline.timed_out(mashup, now):
        pipeline.fail(pk, None, TIMED_OUT.format(minutes=settings.MASHUP_GIVE_UP_MINUTES))
        return
    if mashup.provider == Provider.LOCAL:
        schedule_watchdog(pk)  # the engine is still running in a worker
        return
    if not mashup.provider_task_id and not mashup.claimed_at:
        submit_remote(pk)  # the provider refused the last try for now
    elif mashup.provider_task_id:
        poll_provider(mashup)
    # Callbacks carry the fast path once they arrive; polling is then only the fallback.
    slow = Mashup.objects.filter(pk=pk, callbacks_received__gt=0).exists()
    schedule_poll(pk, POLL_MAX_DELAY if slow else next_delay(mashup.polls))


def poll_provider(mashup: Mashup) -> None:
    try:
        snapshot = pipeline.fetch(mashup)
    except ProviderError as error:
        if error.permanent:
            pipeline.fail(mashup.pk, error.code, str(error))
        else:
            log.warning("poll of mashup %s failed, will retry: %s", mashup.pk, error)
        return
    pipeline.apply_snapshot(mashup.pk, snapshot)


def next_delay(polls: int) -> float:
    """About 5 s, growing by half each time, to at most 60 s."""
    return min(POLL_FIRST_DELAY * POLL_GROWTH**polls, POLL_MAX_DELAY)


def schedule_poll(pk: int, delay: float) -> None:
    mashup = Mashup.objects.filter(pk=pk).first()
    if mashup is None or mashup.is_final:
        return
    when = pipeline.now() + timedelta(seconds=delay)
    Mashup.objects.filter(pk=pk).update(next_poll_at=when, polls=mashup.polls + 1)
    schedule(
        f"{TASKS}.poll_mashup",
        pk,
        name=f"mashup-{pk}-poll-{mashup.polls + 1}",
        schedule_type=Schedule.ONCE,
        next_run=when,
        repeats=-1,  # a ONCE schedule with negative repeats deletes itself after running
    )


def schedule_watchdog(pk: int) -> None:
    """A local job whose worker died is failed at the give-up time, not left running."""
    mashup = Mashup.objects.filter(pk=pk).first()
    if mashup is not None:
        delay = (pipeline.give_up_at(mashup) - pipeline.now()).total_seconds()
        schedule_poll(pk, max(delay, 0) + 1)


def on_callback(pk: int, snapshot: TaskSnapshot) -> None:
    """Apply a trusted callback; polling keeps going until the job is final."""
    pipeline.apply_snapshot(pk, snapshot)


# --- results ----------------------------------------------------------------------------------


def copy_results(pk: int) -> None:
    pipeline.copy_results(pk)


def enqueue_copy(pk: int) -> None:
    transaction.on_commit(
        lambda: async_task(f"{TASKS}.copy_results", pk, task_name=f"mashup-{pk}-copy")
    )
