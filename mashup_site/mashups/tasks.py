"""django-q2's entry points, and the only places work is enqueued.

Tasks are plain functions that take a primary key and re-read the row (docs/design.md,
rule 5); what they do is in ``runner.py`` (its docstring tells a job's whole life). Every
task is idempotent: a retry after a crash, or the same task delivered twice, never submits
a job twice and never moves a job backwards. Their dotted names are stored in django-q2's
queue and schedules, so they keep them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.tasks import async_task

from mashup_site.providers.base import TaskSnapshot

from . import jobs, models, quotas, runner
from .models import FollowUp, Mashup, Source, Status, Track

log = logging.getLogger(__name__)

TASKS = runner.TASKS
RECONCILE_SCHEDULE = "mashups: recover lost jobs"
RECONCILE_FUNC = f"{TASKS}.reconcile"  # stored in the schedule's row: keep it
RECONCILE_EVERY_MINUTES = 1


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


def run_follow_up(pk: int) -> None:
    """A follow-up's first task, enqueued after the transaction that asked for it."""
    runner.start_follow_up(pk)


def poll_follow_up(pk: int) -> None:
    """One tick of a follow-up's loop (a django-q2 ``Schedule.ONCE``)."""
    runner.poll_follow_up(pk)


def reconcile() -> dict[str, int]:
    """Hand back what a broker or a worker lost (``runner.recover``): a django-q2 schedule
    every minute, and once at worker start (``manage.py worker``). Idempotent: a job
    handed twice runs once, a submitted job is never submitted again."""
    found = runner.recover(timezone.now())
    for pk in found.run:
        hand_to_broker(pk)
    for pk in found.poll:
        enqueue_poll_now(pk)
    lost, stalled = runner.recover_follow_ups(timezone.now())
    for pk in lost:
        hand_follow_up(pk)
    for pk in stalled:
        enqueue_follow_up_poll_now(pk)
    if found.run or found.poll or found.timed_out:
        log.warning(
            "reconciler: %s jobs handed again, %s polls restarted, %s timed out",
            len(found.run),
            len(found.poll),
            found.timed_out,
        )
    return {"run": len(found.run), "poll": len(found.poll), "timed_out": found.timed_out}


def hand_back(worker: str) -> list[int]:
    """A stopping worker's inline jobs, freed (``jobs.hand_back``) and handed to the broker
    again at once; one the broker does not take now, the reconciler hands later."""
    handed = jobs.hand_back(worker)
    for pk in handed:
        hand_to_broker(pk)
    return handed


# --- enqueueing -------------------------------------------------------------------------------


def broker_ready() -> bool:
    """Whether the broker answers now (the create view asks before it saves a job)."""
    try:
        return bool(get_broker().ping())
    except Exception as error:  # redis-py's ConnectionError, TimeoutError, an OS error
        log.warning("the task broker does not answer: %s", error)
        return False


def enqueue_run(mashup: Mashup) -> None:
    """Start the job once the row that describes it is committed."""
    pk = mashup.pk
    transaction.on_commit(lambda: hand_to_broker(pk))


def hand_to_broker(pk: int) -> bool:
    """Give a job's first task to the broker. When the broker is down the job stays queued,
    never handed (``enqueued_at`` empty), and the reconciler hands it once it is back."""
    try:
        async_task(f"{TASKS}.run_mashup", pk, task_name=f"mashup-{pk}-run")
    except Exception as error:  # the broker's connection errors; the job is safe in the database
        log.warning("could not hand mashup %s to the broker; the reconciler will: %s", pk, error)
        return False
    jobs.mark_enqueued(pk, timezone.now())
    return True


def enqueue_retry(mashup: Mashup, *, by_owner: bool = False) -> bool:
    """Queue a failed job again from the start (``jobs.retry_failed``); False if it is not
    (or no longer) failed. By its owner, it is a new start: both limits hold, under the
    person's lock (``quotas.Refused``); staff's retries are not counted.

    The failed run's pending polls are cancelled first: the new run numbers its polls from
    1 again, and django-q2 refuses a schedule name that exists."""
    with transaction.atomic():
        start = quotas.start(mashup.owner_id) if by_owner else None
        runner.cancel_polls(mashup.pk)
        if not jobs.retry_failed(mashup.pk, final_too=not by_owner):
            transaction.set_rollback(True)
            return False
        if start is not None:
            start.mashup = mashup
            start.save(update_fields=["mashup"])
    enqueue_run(mashup)
    return True


ONLY_LOCAL = (
    "Only mashups made by our own engine can be made again {how}: the mashup service has "
    "no such option."
)


OFFBEAT_HOW, GIVEN_HOW = "half a beat over", "at a tempo or in a key you give"
NO_BEAT_TO_MOVE = (
    "This mashup cannot be made again half a beat over: no steady beat was heard in song "
    "{position} ({label}), so the two songs are laid together by their own timing, with no "
    "beat to move the backing half a beat from. If you know that song's tempo, give it "
    "below to have it laid on that beat."
)


def remake_refusal(mashup: Mashup, how: str, sources: Sequence[Source] | None = None) -> str:
    """Why ``mashup`` cannot be made again ``how`` (words for its owner), or "" when it
    can: the one rule the page (whether to offer it) and ``enqueue_remake`` follow
    (``jobs.remake`` asks again, under the row lock, whether it is finished and holds both
    its songs: nothing else here changes once it is). ``sources``: its songs, when read."""
    if mashup.provider != "local":
        return ONLY_LOCAL.format(how=how)
    if mashup.status != Status.COMPLETE or mashup.expiry.is_expired:
        return jobs.ONLY_FINISHED
    songs = list(sources if sources is not None else mashup.sources.all())
    if len(songs) != 2:
        return jobs.SONGS_MISSING
    # Back on its first grid is always a place; half a beat over needs both songs' beats
    # (the engine lays a song without one by its own timing: ``matching.match``). Not
    # known (``beat_heard`` None: made before it was kept), it stays offered.
    beatless = [song for song in songs if song.beat_heard is False]
    if how == OFFBEAT_HOW and not mashup.backing_offbeat and beatless:
        return NO_BEAT_TO_MOVE.format(position=beatless[0].position, label=beatless[0].label)
    return ""


def enqueue_offbeat_remake(mashup: Mashup) -> tuple[Mashup, bool]:
    """``mashup`` made again by the local engine with the backing half a beat over (or, for
    one that was, back on its first grid), its songs at the tempi and in the keys given: see
    ``enqueue_remake``."""
    return enqueue_remake(
        mashup,
        backing_offbeat=not mashup.backing_offbeat,
        given=jobs.given_for(mashup),
        how=OFFBEAT_HOW,
    )


def enqueue_given_remake(mashup: Mashup, given: jobs.Givens) -> tuple[Mashup, bool]:
    """``mashup`` made again by the local engine with each song's beat read at the tempo
    its owner gave and planned in the key given (``jobs.Given``; None and "": as heard),
    laid as before: see ``enqueue_remake``."""
    return enqueue_remake(
        mashup, backing_offbeat=mashup.backing_offbeat, given=given, how=GIVEN_HOW
    )


def enqueue_remake(
    mashup: Mashup, *, backing_offbeat: bool, given: jobs.Givens, how: str
) -> tuple[Mashup, bool]:
    """``mashup`` made again by the local engine, laid so: a new job of its owner's and a
    new start (both limits hold: ``quotas.Refused``), True; or the one already made (or
    being made) so, False. ``jobs.NotRemade`` when it cannot be (``how`` says what was asked)."""
    if refusal := remake_refusal(mashup, how):
        raise jobs.NotRemade(refusal)
    with transaction.atomic():
        # The person's lock first, then the mashup's, as every start takes them. A remake
        # already being made is followed before the limits are asked (it holds a place).
        quotas.lock_person(mashup.owner_id)
        if made := jobs.existing_remake(mashup.pk, backing_offbeat=backing_offbeat, given=given):
            return made, False
        start = quotas.start(mashup.owner_id)
        copy, new = jobs.remake(mashup.pk, backing_offbeat=backing_offbeat, given=given)
        if not new:
            transaction.set_rollback(True)  # the start is not counted twice
            return copy, False
        start.mashup = copy
        start.save(update_fields=["mashup"])
    enqueue_run(copy)
    return copy, True


class FollowUpRefused(Exception):
    """A follow-up that cannot be made for this track; its text is for the person."""


NOT_FINISHED = "Follow-ups are made from a finished track: wait until the mashup is complete."


def ask_follow_up(
    track: Track, kind: str, *, user_id: int | None, by_owner: bool = True
) -> FollowUp:
    """The track's follow-up of ``kind``: the one already asked for (a double click, two
    parallel posts, a second tab), or a new one, queued once the transaction commits.
    By its owner, a paid follow-up is a start against the daily limit (``quotas.Refused``);
    staff's are not counted. ``FollowUpRefused`` when it cannot be made at all."""
    mashup = track.mashup
    provider = runner.provider_of(mashup)
    refusal = provider.follow_up_refusal(kind, instrumental=mashup.instrumental)
    if refusal:
        raise FollowUpRefused(refusal)
    if mashup.status != Status.COMPLETE or not track.audio:
        raise FollowUpRefused(NOT_FINISHED)
    with transaction.atomic():
        follow_up, created = jobs.new_follow_up(track.pk, kind, user_id)
        if created and by_owner:
            start = quotas.start_follow_up(mashup.owner_id, paid=not provider.runs_inline)
            if start is not None:
                start.mashup = mashup
                start.save(update_fields=["mashup"])
    if created:
        pk = follow_up.pk
        transaction.on_commit(lambda: hand_follow_up(pk))
    return follow_up


def hand_follow_up(pk: int) -> None:
    try:
        async_task(f"{TASKS}.run_follow_up", pk, task_name=f"follow-up-{pk}-run")
    except Exception as error:  # the broker is down: the row stays queued
        log.warning("could not hand follow-up %s to the broker: %s", pk, error)


def enqueue_follow_up_poll_now(pk: int) -> None:
    """A follow-up's callback says "look now": its next tick is made due and queued."""
    FollowUp.objects.filter(pk=pk).update(next_poll_at=None)
    async_task(f"{TASKS}.poll_follow_up", pk, task_name=f"follow-up-{pk}-callback")


def enqueue_copy(pk: int) -> None:
    transaction.on_commit(
        lambda: async_task(f"{TASKS}.copy_results", pk, task_name=f"mashup-{pk}-copy")
    )


def enqueue_poll_now(pk: int) -> None:
    """Staff's re-poll: ``poll_mashup`` skips a poll that comes before the scheduled one,
    so this one is made due first."""
    Mashup.objects.filter(pk=pk).update(next_poll_at=None)
    async_task(f"{TASKS}.poll_mashup", pk, task_name=f"mashup-{pk}-repoll")


def ensure_schedule(using: str = "default", **kwargs: Any) -> None:
    """The reconciler's schedule (a post_migrate handler, like the sweeper's)."""
    models.ensure_schedule(RECONCILE_SCHEDULE, RECONCILE_FUNC, RECONCILE_EVERY_MINUTES, using)
