"""Every change to a job's state, each under the job's row lock. Nothing here enqueues.

A callback and a poll arriving together cannot interleave (``select_for_update``), and
nothing moves a job backwards (``models.advances``): a late "first" after "complete" is
ignored, a final job never moves. The runner (``runner.py``), the callback view, retention
and the doors call these; what happens next (a copy, the next poll) is theirs to decide.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from mashup_site.engine import KEY_NAMES
from mashup_site.providers.base import TaskSnapshot, TrackResult, user_message

from . import storage
from .models import (
    FOLLOW_UP_FILES_ALL,
    STAGE_FIELDS,
    FollowUp,
    Mashup,
    Source,
    Status,
    Track,
    advances,
    new_token,
)

# Everything a run writes, back to how a new job starts.
RESET = {
    "status": Status.QUEUED,
    "provider_task_id": "",
    "error_code": None,
    "error_message": "",
    "error_final": False,
    "analysis_text": "",
    "last_response": None,
    "next_poll_at": None,
    "claimed_at": None,
    "claimed_by": "",
    "polls": 0,
    "submitted_at": None,
    "text_at": None,
    "first_at": None,
    "completed_at": None,
    "failed_at": None,
    "expires_at": None,
    "enqueued_at": None,
    "attempts": 0,
    "source_delivery": "",
}
DIED = (
    "The worker making this mashup stopped {attempts} times before it was finished, so it "
    "was stopped. Try again; staff have been told if it keeps happening."
)


@contextmanager
def locked(pk: int) -> Iterator[Mashup | None]:
    with transaction.atomic():
        yield Mashup.objects.select_for_update().filter(pk=pk).first()


# --- claims -----------------------------------------------------------------------------------


def claim(pk: int, *, lease: timedelta, by: str = "") -> bool:
    """Take an inline job, unless it is final or another worker's lease is still running.

    Each take is an attempt: a worker that died with the job (killed, out of memory) never
    finished its attempt, so after ``MASHUP_MAX_ATTEMPTS`` takes the next one fails the job
    instead of running it again (django-q2 never counts a killed delivery)."""
    moment = timezone.now()
    with locked(pk) as mashup:
        if mashup is None or mashup.is_final:
            return False
        if mashup.claimed_at and mashup.claimed_at > moment - lease:
            return False
        if mashup.attempts >= settings.MASHUP_MAX_ATTEMPTS:
            _move(mashup, Status.FAILED, moment)
            mashup.error_message = DIED.format(attempts=mashup.attempts)
            mashup.save()
            return False
        mashup.claimed_at = moment
        mashup.claimed_by = by
        mashup.attempts += 1
        _move(mashup, Status.SUBMITTED, moment)
        mashup.save()
        return True


def release_lapsed(pk: int, claimed_at: datetime) -> bool:
    """Free an inline job whose worker's lease lapsed (the worker died, or was killed at its
    timeout), so that the next delivery takes it at once. Only that very claim is freed: a
    worker that took the job since keeps it."""
    return bool(
        Mashup.objects.in_progress()
        .filter(pk=pk, claimed_at=claimed_at)
        .update(claimed_at=None, claimed_by="")
    )


def hand_back(by: str) -> list[int]:
    """A worker that stops gives back the inline jobs it holds (``by`` is the worker's
    ``claimed_by``): their lease is freed at once, not after ``Q_TIMEOUT``, and the stop
    is not counted as a death (``attempts``). The caller hands them to the broker again."""
    handed = []
    held = Mashup.objects.in_progress().filter(claimed_by=by, claimed_at__isnull=False)
    for pk in held.values_list("pk", flat=True):
        with locked(pk) as mashup:
            if mashup is None or mashup.is_final or mashup.claimed_by != by:
                continue
            mashup.claimed_at = None
            mashup.claimed_by = ""
            mashup.attempts = max(mashup.attempts - 1, 0)
            mashup.save(update_fields=["claimed_at", "claimed_by", "attempts", "updated_at"])
            handed.append(pk)
    return handed


def mark_enqueued(pk: int, moment: datetime) -> None:
    Mashup.objects.filter(pk=pk).update(enqueued_at=moment)


def claim_submission(pk: int) -> bool:
    """Mark a job as being submitted. False when it has a task id, or a submission is
    claimed that may have reached the provider: then only its callback (which names the
    task id) or the give-up time ends it. Never submit twice."""
    moment = timezone.now()
    with locked(pk) as mashup:
        if mashup is None or mashup.is_final or mashup.provider_task_id or mashup.claimed_at:
            return False
        mashup.claimed_at = moment
        mashup.callbacks_received = 0  # a fresh attempt (e.g. a retried job) starts unheard
        _move(mashup, Status.SUBMITTED, moment)
        mashup.save()
        return True


def release_submission(pk: int, notice: str) -> None:
    """The provider refused the submission (busy, out of credits): the next poll tries again,
    and the person sees why it waits."""
    Mashup.objects.filter(pk=pk, provider_task_id="").update(claimed_at=None, error_message=notice)


def record_delivery(pk: int, delivery: str) -> None:
    """How this submission delivers its uploaded songs (staff see it in the admin)."""
    Mashup.objects.filter(pk=pk).update(source_delivery=delivery)


def record_hosted(pk: int, position: int, url: str) -> None:
    """A song's copy on the provider's upload service, saved as soon as it exists, before
    the submit: a job submitted again (refused for now, tried again) reuses it."""
    Source.objects.filter(mashup_id=pk, position=position).update(
        hosted_url=url, hosted_at=timezone.now()
    )
    Mashup.objects.filter(pk=pk).update(source_delivery="upload")


def record_task_id(pk: int, task_id: str) -> None:
    Mashup.objects.filter(pk=pk, provider_task_id="").update(provider_task_id=task_id)


def heard_callback(pk: int, task_id: str) -> None:
    """A verified callback about ``task_id``: keep the id (a callback after a lost save) and
    count it (polling slows down once callbacks arrive)."""
    record_task_id(pk, task_id)
    Mashup.objects.filter(pk=pk).update(callbacks_received=F("callbacks_received") + 1)


def count_request(pk: int) -> None:
    """One more request at the provider (submit or poll), for staff and the benchmark."""
    Mashup.objects.filter(pk=pk).update(provider_requests=F("provider_requests") + 1)


def give_up_at(mashup: Mashup) -> datetime:
    """From the moment the run was queued, not taken: a job no worker ever took ends too."""
    return mashup.queued_at + timedelta(minutes=settings.MASHUP_GIVE_UP_MINUTES)


def timed_out(mashup: Mashup, moment: datetime) -> bool:
    return moment > give_up_at(mashup)


# --- what the provider says -------------------------------------------------------------------


def apply_snapshot(pk: int, snapshot: TaskSnapshot, *, from_callback: bool = False) -> bool:
    """Record what the provider says; True when the job moved forward."""
    moment = timezone.now()
    with locked(pk) as mashup:
        if mashup is None or mashup.is_final:
            return False  # a final job never changes (its tracks neither)
        mashup.callbacks_received += int(from_callback)
        if snapshot.task_id and not mashup.provider_task_id:
            mashup.provider_task_id = snapshot.task_id  # a callback after a lost save
        if snapshot.raw:
            mashup.last_response = dict(snapshot.raw)
        _save_tracks(mashup, snapshot.tracks)
        moved = _move(mashup, snapshot.status, moment)
        if snapshot.analysis_text and (moved or not mashup.analysis_text):
            # A later stage's text is the fuller one (the local engine adds each track's
            # measured alignment); a repeated or late snapshot never rewrites it.
            mashup.analysis_text = snapshot.analysis_text
        _save_heard(mashup, snapshot)
        if moved and snapshot.status == Status.FAILED:
            mashup.error_code = snapshot.error_code
            mashup.error_message = user_message(snapshot.error_code, snapshot.error_message)
        elif moved:
            mashup.error_message = ""  # a notice such as "busy; retrying" no longer holds
        mashup.save()
        return moved


def _save_heard(mashup: Mashup, snapshot: TaskSnapshot) -> None:
    """Each song's tempo and key as heard, and whether a beat was, once: a repeated or
    late snapshot never rewrites them."""
    tempi, beats, keys = snapshot.tempi_heard, snapshot.beats_heard, snapshot.keys_heard
    if not tempi and not beats and not keys:
        return
    for source in mashup.sources.filter(position__lte=max(len(tempi), len(beats), len(keys))):
        changed = []
        at = source.position - 1
        if source.tempo_heard is None and at < len(tempi) and tempi[at] is not None:
            source.tempo_heard = tempi[at]
            changed.append("tempo_heard")
        if source.beat_heard is None and at < len(beats):
            source.beat_heard = beats[at]
            changed.append("beat_heard")
        if not source.key_heard and at < len(keys) and keys[at] in KEY_NAMES:
            source.key_heard = keys[at]
            changed.append("key_heard")
        if changed:
            source.save(update_fields=changed)


def fail(pk: int, code: int | None, message: str, *, final: bool = False) -> None:
    """Mark a job failed, saying why; ``final``: trying it again would fail the same way."""
    with locked(pk) as mashup:
        if mashup is None or not _move(mashup, Status.FAILED, timezone.now()):
            return
        mashup.error_code = code
        mashup.error_message = message
        mashup.error_final = final
        mashup.save()


def _move(mashup: Mashup, status: str, moment: datetime) -> bool:
    if not advances(mashup.status, status):
        return False
    mashup.status = status
    field = STAGE_FIELDS.get(Status(status))
    if field and getattr(mashup, field) is None:
        setattr(mashup, field, moment)
    if status in (Status.COMPLETE, Status.FAILED):
        # A failed job keeps its uploads as long, so that it can be tried again; then the
        # sweeper takes them (otherwise failed jobs would hold their songs forever).
        mashup.expires_at = moment + timedelta(days=settings.RETENTION_DAYS)
    return True


def _save_tracks(mashup: Mashup, tracks: tuple[TrackResult, ...]) -> None:
    for place, track in enumerate(tracks[:2], start=1):
        position = track.position if track.position in (1, 2) else place
        row, _ = Track.objects.get_or_create(mashup=mashup, position=position)
        row.provider_track_id = track.id or row.provider_track_id
        row.title = track.title or row.title
        row.tags = track.tags or row.tags
        row.prompt = track.prompt or row.prompt
        row.model_name = track.model_name or row.model_name
        row.duration = track.duration if track.duration is not None else row.duration
        row.audio_url = track.audio_url or row.audio_url
        row.stream_audio_url = track.stream_audio_url or row.stream_audio_url
        row.image_url = track.image_url or row.image_url
        row.provider_created_at = track.created_at or row.provider_created_at
        # An inline provider hands over files on this machine: store them now, they are
        # temporary.
        for field, path in (("audio", track.local_audio_path), ("image", track.local_image_path)):
            if path and not getattr(row, field):
                storage.keep(getattr(row, field), path, save=False)
        # What the local engine keeps for follow-ups, made with the render.
        for name, path in track.local_extras.items():
            if name in FOLLOW_UP_FILES_ALL and not getattr(row, name):
                storage.keep(getattr(row, name), path, save=False)
        row.waveform = list(track.waveform) or row.waveform
        row.save()


# --- people and staff -------------------------------------------------------------------------


def retry_failed(pk: int, *, final_too: bool = True) -> bool:
    """Put a failed job back to the start; False if it is not (or no longer) failed, or,
    unless ``final_too`` (staff), failed for good (``Mashup.error_final``). The caller
    enqueues it (``tasks.enqueue_run``).

    The callback token changes, so a late callback about the failed attempt cannot be
    applied to the new one (the callback view trusts the token in its URL).
    """
    with transaction.atomic():
        mashup = Mashup.objects.select_for_update().filter(pk=pk, status=Status.FAILED).first()
        if mashup is None or (mashup.error_final and not final_too):
            return False
        storage.delete_tracks(mashup)
        for field, value in RESET.items():
            setattr(mashup, field, value)
        mashup.queued_at = timezone.now()
        mashup.callback_token = new_token()
        mashup.save()
    return True


# What a remade job takes from its source rows: the song itself, shared, not copied (an
# upload another live mashup uses is spared when one of them is deleted: storage.release).
SOURCE_FIELDS = ("file", "url", "original_name", "sha256", "size", "format_name", "duration")


class NotRemade(Exception):
    """Why a mashup cannot be made again; its text is for the person."""


ONLY_FINISHED = "Only a finished mashup can be made again."
SONGS_MISSING = (
    "This mashup cannot be made again: it does not hold both its songs. Start a new "
    "mashup with the songs."
)


class Given(NamedTuple):
    """What its owner gave for one song of a remake: the tempo (BPM) its beat is read at
    and its key ("F# minor"); None and "": as the engine hears them."""

    tempo: float | None = None
    key: str = ""

    @classmethod
    def of(cls, source: Source) -> Given:
        """What was given for ``source`` when its mashup was made."""
        return cls(source.tempo_given, source.key_given)


Givens = tuple[Given, ...]  # for each song, in order


def given_for(mashup: Mashup) -> Givens:
    """What its owner gave for each of ``mashup``'s songs, in order."""
    return tuple(Given.of(source) for source in mashup.sources.order_by("position"))


def existing_remake(pk: int, *, backing_offbeat: bool, given: Givens) -> Mashup | None:
    """The version of mashup ``pk`` so laid (backing half a beat over or not, the songs at
    the tempi and in the keys given) that the local engine is still making, or made and
    still kept, or failed for good (``Mashup.error_final``), if any: asking again shows it
    (the engine would make the same again). It is looked for among every version of the
    same first mashup (``versions``): half a beat over and back is that first mashup
    again, and a tempo asked from one remake may have been made from another. An expired
    one, or one failed in a way that may pass, is made anew."""
    made = (
        Mashup.objects.filter(
            pk__in=versions(pk), provider="local", backing_offbeat=backing_offbeat
        )
        .exclude(pk=pk)
        .exclude(status=Status.EXPIRED)
        .exclude(status=Status.FAILED, error_final=False)
        .order_by("pk")
    )
    return next((m for m in made if not m.expiry.is_expired and given_for(m) == given), None)


def versions(pk: int) -> set[int]:
    """The mashups made from the same first mashup as ``pk`` (by ``remade_from``, up to
    the first and down every branch), ``pk`` and the first among them. A remake's first
    mashup may have been deleted: its versions are then those from the oldest one left."""
    first, seen = pk, {pk}
    while (
        up := Mashup.objects.filter(pk=first).values_list("remade_from_id", flat=True).first()
    ) and (up not in seen):
        first = up
        seen.add(up)
    family, frontier = {first}, {first}
    while frontier:
        frontier = (
            set(Mashup.objects.filter(remade_from_id__in=frontier).values_list("pk", flat=True))
            - family
        )
        family |= frontier
    return family


def remake(pk: int, *, backing_offbeat: bool, given: Givens) -> tuple[Mashup, bool]:
    """A new job with the request and the songs of finished mashup ``pk``, laid so (see
    ``existing_remake``), True; or the one already made again so (False: a double
    click, parallel posts), in the caller's transaction, under the finished one's row lock
    (so it cannot expire meanwhile): ``NotRemade`` when it is not finished, does not hold
    both its songs, or its uploads are gone."""
    mashup = Mashup.objects.select_for_update().filter(pk=pk).first()
    if mashup is None:  # deleted in another tab meanwhile
        raise NotRemade("This mashup was deleted.")
    if made := existing_remake(pk, backing_offbeat=backing_offbeat, given=given):
        return made, False
    if mashup.status != Status.COMPLETE or mashup.expiry.is_expired:
        raise NotRemade(ONLY_FINISHED)
    if len(given) != 2 or mashup.sources.count() != 2:
        raise NotRemade(SONGS_MISSING)
    if missing := storage.missing_uploads(mashup):
        raise NotRemade(
            f"This mashup cannot be made again: {', '.join(missing)} is no longer stored. "
            "Start a new mashup with the songs."
        )
    copy = Mashup.objects.create(
        owner_id=mashup.owner_id,
        payload=mashup.payload,
        custom_mode=mashup.custom_mode,
        instrumental=mashup.instrumental,
        model=mashup.model,
        title=mashup.title,
        style=mashup.style,
        prompt=mashup.prompt,
        provider=mashup.provider,
        backing_offbeat=backing_offbeat,
        remade_from=mashup,
    )
    for source, (tempo, key) in zip(mashup.sources.order_by("position"), given, strict=True):
        # What the engine heard is the song's, whatever is given: it hears it the same.
        heard = ("tempo_heard", "key_heard")
        values = {name: getattr(source, name) for name in (*SOURCE_FIELDS, *heard)}
        Source.objects.create(
            mashup=copy, position=source.position, tempo_given=tempo, key_given=key, **values
        )
    return copy, True


def expire(pk: int, at: datetime | None = None) -> bool:
    """Delete one due mashup's files and mark it expired; re-checked under the row lock, so
    a mashup staff extended a moment ago is left alone."""
    with transaction.atomic():
        mashup = Mashup.objects.due(at).select_for_update().filter(pk=pk).first()
        if mashup is None:
            return False
        _mark_expired(mashup)
    return True


def purge_now(mashup: Mashup) -> None:
    """Staff: delete the files now and mark the mashup expired, whatever its expiry."""
    with transaction.atomic():
        _mark_expired(Mashup.objects.select_for_update().get(pk=mashup.pk))


def _mark_expired(mashup: Mashup) -> None:
    storage.delete_files(mashup)
    # The provider's copies are gone after its retention too: no URL is left to play.
    Track.objects.filter(mashup=mashup).update(
        audio="",
        image="",
        audio_url="",
        stream_audio_url="",
        image_url="",
        vocals="",
        instrumental="",
        wav="",
    )
    mashup.status = Status.EXPIRED
    mashup.expires_at = mashup.expires_at or timezone.now()
    mashup.keep_forever = False
    mashup.save(update_fields=["status", "expires_at", "keep_forever", "updated_at"])


# --- follow-ups (each a job of its own; runner.start_follow_up) -----------------------------


def new_follow_up(track_pk: int, kind: str, user_id: int | None) -> tuple[FollowUp, bool]:
    """The track's live follow-up of ``kind``, or a new one; True when it is new. Under the
    track's row lock, so a double click or two parallel posts make one (the unique
    constraint on live follow-ups holds even where the lock does not). In the caller's
    transaction (which also counts it against the person's limits, or rolls back)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("jobs.new_follow_up must run in the caller's transaction")
    track = Track.objects.select_for_update().get(pk=track_pk)
    existing = FollowUp.objects.live().filter(track=track, kind=kind).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():  # a savepoint: the constraint's refusal leaves the rest
            return FollowUp.objects.create(track=track, kind=kind, requested_by_id=user_id), True
    except IntegrityError:
        return FollowUp.objects.live().get(track=track, kind=kind), False


@contextmanager
def locked_follow_up(pk: int) -> Iterator[FollowUp | None]:
    with transaction.atomic():
        yield FollowUp.objects.select_for_update().filter(pk=pk).first()


def claim_follow_up(pk: int) -> bool:
    """Take a queued follow-up to ask the provider (once: a duplicate delivery finds it
    taken). Each take is an attempt; after ``MASHUP_MAX_ATTEMPTS`` it fails instead."""
    moment = timezone.now()
    with locked_follow_up(pk) as follow_up:
        if follow_up is None or follow_up.status != Status.QUEUED or follow_up.claimed_at:
            return False
        if follow_up.attempts >= settings.MASHUP_MAX_ATTEMPTS:
            _end_follow_up(follow_up, Status.FAILED, moment)
            follow_up.message = FOLLOW_UP_GAVE_UP.format(attempts=follow_up.attempts)
            follow_up.save()
            return False
        follow_up.claimed_at = moment
        follow_up.attempts += 1
        follow_up.status = Status.SUBMITTED
        follow_up.submitted_at = follow_up.submitted_at or moment
        follow_up.save()
        return True


FOLLOW_UP_GAVE_UP = (
    "The provider refused this {attempts} times for now (busy or out of credits), so it "
    "was stopped. Ask again later."
)


def release_follow_up(pk: int, notice: str) -> None:
    """The provider refused for now: the next tick asks again, and the person sees why."""
    FollowUp.objects.filter(pk=pk, provider_task_id="").update(
        status=Status.QUEUED, claimed_at=None, message=notice
    )


def record_follow_up_task(pk: int, task_id: str, raw: Mapping[str, object] | None) -> None:
    FollowUp.objects.filter(pk=pk, provider_task_id="").update(provider_task_id=task_id)
    if raw:
        FollowUp.objects.filter(pk=pk).update(last_response=dict(raw))


def count_follow_up_request(pk: int, requests: int = 1) -> None:
    FollowUp.objects.filter(pk=pk).update(provider_requests=F("provider_requests") + requests)


def fail_follow_up(pk: int, code: int | None, message: str) -> bool:
    with locked_follow_up(pk) as follow_up:
        if follow_up is None or follow_up.is_final:
            return False
        _end_follow_up(follow_up, Status.FAILED, timezone.now())
        follow_up.error_code = code
        follow_up.message = message
        follow_up.save()
        return True


def complete_follow_up(
    pk: int,
    *,
    files: Mapping[str, Path],
    lyrics: list[dict[str, object]] | None = None,
    waveform: list[float] | None = None,
    raw: Mapping[str, object] | None = None,
) -> bool:
    """Keep what the follow-up made on its track (files of this machine: a download or the
    render's) and mark it complete; False when it was final already (a duplicate)."""
    with locked_follow_up(pk) as follow_up:
        if follow_up is None or follow_up.is_final:
            return False
        track = Track.objects.select_for_update().get(pk=follow_up.track_id)
        for name, path in files.items():
            if name in FOLLOW_UP_FILES_ALL and not getattr(track, name):
                storage.keep(getattr(track, name), path, save=False)
        if lyrics is not None:
            track.lyrics = lyrics
        if waveform:
            track.waveform = waveform
        track.save()
        _end_follow_up(follow_up, Status.COMPLETE, timezone.now())
        follow_up.message = ""
        if raw:
            follow_up.last_response = dict(raw)
        follow_up.save()
        return True


def record_follow_up_cost(pk: int, credits_after: int) -> None:
    """What it cost: the balance before it was asked less the balance now (other jobs
    running at the same moment are in it too: staff read it as "about")."""
    follow_up = FollowUp.objects.filter(pk=pk).first()
    if follow_up is not None and follow_up.credits_before is not None:
        cost = max(0, follow_up.credits_before - credits_after)
        FollowUp.objects.filter(pk=pk).update(cost_credits=cost)


def _end_follow_up(follow_up: FollowUp, status: str, moment: datetime) -> None:
    follow_up.status = status
    follow_up.next_poll_at = None
    if status == Status.COMPLETE:
        follow_up.completed_at = moment
    else:
        follow_up.failed_at = moment
