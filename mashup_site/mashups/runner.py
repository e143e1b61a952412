"""What happens after Submit: a job's whole life, from the first task to our copies.

1. The create view saves the job (``forms.MashupForm.save``) and calls ``tasks.enqueue_run``:
   once the transaction commits, django-q2 runs ``tasks.run_mashup`` -> ``start`` here.
2. ``start`` asks the registry for the job's provider (``providers.get(mashup.provider)``)
   and goes one of two ways, by what the provider is, never by its name:
   - an **inline** provider (the local engine, ``runs_inline``) runs in this worker under a
     lease (``jobs.claim``): ``run`` builds the ``Job``, the provider makes both tracks and
     reports each status (analysed, first, complete) as a snapshot, which ``apply`` records
     (``jobs.apply_snapshot``). If the worker dies, the reconciler (``recover``) hands
     the job to another once the lease lapses, at most ``MASHUP_MAX_ATTEMPTS`` times; a
     worker that is stopped hands its jobs back at once (``jobs.hand_back``, from
     ``manage.py worker``). A job whose uploaded song this worker cannot read (another
     machine's upload with STORAGE=local) fails at once, saying so.
   - any other provider is **submitted** once (``submit``): the claim is saved before the
     request (``jobs.claim_submission``), so a retry after a crash never submits twice, and
     the first poll is scheduled before the request for the same reason. Its songs reach
     it by ``source_delivery`` (MASHUP_SOURCE_DELIVERY, ``providers/delivery.py``): our
     secret links, or the provider's upload service, each upload saved on its song
     (``jobs.record_hosted``) before the submit, so that a job submitted again (refused
     for now) or tried again reuses it (``hosted_url``, for ``HOSTED_FOR``).
3. The provider calls back (``callbacks.callback`` -> ``tasks.on_callback`` -> ``apply``),
   and ``poll`` (``tasks.poll_mashup``, a django-q2 ``Schedule.ONCE`` with back-off: about
   5 s growing to 60 s, or to 30 s when no callback can reach PUBLIC_BASE_URL; 60 s once
   callbacks arrive) reads the provider's record as the fallback, submits again when the
   provider (or its upload service) refused for now (busy, out of credits), and fails a
   job that is not final after ``MASHUP_GIVE_UP_MINUTES``.
4. When a snapshot brings finished tracks at URLs, ``apply`` says so and the caller
   enqueues ``tasks.copy_results`` -> ``copy_results`` here: our own copy of each audio and
   cover (the provider deletes them after 14 days).
5. The reconciler (``tasks.reconcile``: a django-q2 schedule every minute, and at worker
   start) finds what a broker or a worker lost and hands it back (``recover``); a job that
   is not final ``MASHUP_GIVE_UP_MINUTES`` after it was queued fails as timed out.
6. The job's page (``views.detail``) polls until the job is final and its copies exist
   (``Mashup.still_changing``); retention (``retention.sweep``) expires it later.

Every state change is in ``jobs.py`` (row-locked, never backwards); every stored file goes
through ``storage.py``; the provider's API is in ``providers/``.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import schedule

from mashup_site import providers
from mashup_site.engine.probe import split_suffix
from mashup_site.providers import delivery, download
from mashup_site.providers.base import (
    FOLLOW_UP_FILES,
    FollowUpKind,
    FollowUpRequest,
    FollowUpSnapshot,
    Job,
    Provider,
    ProviderError,
    Song,
    Status,
    TaskSnapshot,
    TimedWord,
    user_message,
)

from . import jobs, storage
from .models import FollowUp, Mashup, Source, SubmitSlot, Track

log = logging.getLogger(__name__)

TASKS = "mashup_site.mashups.tasks"  # django-q2 stores task names: keep them
POLL_FIRST_DELAY = 5.0
POLL_GROWTH = 1.5
POLL_MAX_DELAY = 60.0
# Without callbacks (PUBLIC_BASE_URL cannot be reached from the internet), polling is the
# only way we hear back: at the contract's pace, about every 30 s ("Poll").
POLL_UNHEARD_MAX_DELAY = 30.0
# A song's copy on the upload service is reused for this long: the service deletes files
# after 3 days (24 hours on kie.ai), and the provider downloads them while it works.
HOSTED_FOR = timedelta(hours=20)
TIMED_OUT = "Timed out: the mashup was not finished within {minutes} minutes, so it was stopped."
UNEXPECTED = "The mashup engine hit an unexpected problem; staff have been told."
UNREADABLE = (
    "The worker that took this mashup cannot read the uploaded {names}, so it was stopped. "
    "Staff have been told; try again later."
)


def provider_of(mashup: Mashup) -> Provider:
    # The submission window lives in the database, shared by every worker process.
    return providers.get(mashup.provider, slots=SubmitSlot.objects)


def start(pk: int) -> None:
    """The first task of every job."""
    mashup = Mashup.objects.filter(pk=pk).first()
    if mashup is None:
        return  # deleted before the worker got to it
    provider = provider_of(mashup)
    if provider.runs_inline:
        run(pk, provider)
    else:
        submit(pk, provider)


def apply(pk: int, snapshot: TaskSnapshot, *, from_callback: bool = False) -> bool:
    """Record a snapshot; True when it moved the job to finished tracks that we should copy
    (tracks at URLs: an inline provider's files are stored as they come)."""
    moved = jobs.apply_snapshot(pk, snapshot, from_callback=from_callback)
    return (
        moved
        and snapshot.status in (Status.FIRST, Status.COMPLETE)
        and Track.objects.filter(mashup_id=pk).exclude(audio_url="").exists()
    )


# --- inline providers -------------------------------------------------------------------------


def run(pk: int, provider: Provider) -> None:
    """Make the job in this worker, recording its stages as they come."""
    if not jobs.claim(pk, lease=lease(), by=worker_id()):
        return
    mashup = Mashup.objects.get(pk=pk)
    if missing := storage.missing_uploads(mashup):
        # With STORAGE=local each machine sees only the uploads it received: a worker on
        # another machine would fail deep in the engine with nothing to say why.
        log.error(
            "mashup %s: this worker cannot read its uploaded songs %s from its storage "
            "(with STORAGE=local a worker sees only its own machine's uploads: more than "
            "one machine needs STORAGE=s3)",
            pk,
            missing,
        )
        jobs.fail(pk, None, UNREADABLE.format(names=", ".join(f"“{n}”" for n in missing)))
        return
    job = job_of(mashup)
    try:
        provider.start(job, partial(record, pk))
    except ProviderError as error:
        jobs.fail(pk, error.code, str(error), final=error.final)
    except Exception:
        log.exception("the provider failed on mashup %s", pk)
        jobs.fail(pk, None, UNEXPECTED)


def record(pk: int, snapshot: TaskSnapshot) -> None:
    """What a provider reports while it works (in a worker: results are copied now)."""
    if apply(pk, snapshot):
        copy_results(pk)


# --- submitted providers ----------------------------------------------------------------------


def submit(pk: int, provider: Provider) -> None:
    """Submit once. The claim is saved before the request, so a crash after the provider
    accepted the job but before its task id was saved cannot submit it again: the retry sees
    the claim and waits for the job's callback (which names the task id) or gives up.
    The first poll is scheduled before the request for the same reason."""
    if not jobs.claim_submission(pk):
        return
    schedule_poll(pk, POLL_FIRST_DELAY)
    job = job_of(Mashup.objects.get(pk=pk))
    jobs.record_delivery(pk, job.delivery)
    jobs.count_request(pk)
    try:
        task_id = provider.start(job, partial(record, pk))
    except ProviderError as error:
        if error.permanent:
            jobs.fail(pk, error.code, str(error), final=error.final)
        elif error.maybe_accepted:
            log.warning("submit of mashup %s may have reached the provider: %s", pk, error)
        else:  # refused for now (busy, credits, maintenance): the next poll submits again
            jobs.release_submission(pk, str(error))
        return
    jobs.record_task_id(pk, task_id)


def poll(pk: int) -> bool:
    """One tick of the job's loop: give up when too late, (re)submit or read the provider's
    record, then schedule the next tick with back-off until the job is final. True when
    finished tracks wait to be copied."""
    mashup = Mashup.objects.filter(pk=pk).first()
    if mashup is None or mashup.is_final:
        return False
    now = timezone.now()
    if mashup.next_poll_at and mashup.next_poll_at > now + timedelta(seconds=1):
        return False  # a duplicate of an earlier poll; a later one is already scheduled
    if jobs.timed_out(mashup, now):
        jobs.fail(pk, None, TIMED_OUT.format(minutes=settings.MASHUP_GIVE_UP_MINUTES))
        return False
    provider = provider_of(mashup)
    if provider.runs_inline:
        return False  # it runs in a worker; the reconciler watches its lease (``recover``)
    copy = False
    if not mashup.provider_task_id and not mashup.claimed_at:
        submit(pk, provider)  # the provider refused the last try for now
    elif mashup.provider_task_id:
        copy = _read_record(mashup, provider)
    # Callbacks carry the fast path once they arrive; polling is then only the fallback.
    slow = Mashup.objects.filter(pk=pk, callbacks_received__gt=0).exists()
    schedule_poll(pk, POLL_MAX_DELAY if slow else next_delay(mashup.polls, cap=poll_cap()))
    return copy


def callbacks_reach_us() -> bool:
    """Whether the provider can call us back at PUBLIC_BASE_URL (the rule of ``auto``
    delivery: providers/delivery.py). The contract requires a callBackUrl all the same
    ("Please enter callBackUrl."), so it is sent, and polling does the work."""
    return delivery.reachable(settings.PUBLIC_BASE_URL)


def poll_cap() -> float:
    return POLL_MAX_DELAY if callbacks_reach_us() else POLL_UNHEARD_MAX_DELAY


def _read_record(mashup: Mashup, provider: Provider) -> bool:
    jobs.count_request(mashup.pk)
    try:
        snapshot = provider.poll(mashup.provider_task_id)
    except ProviderError as error:
        if error.permanent:
            jobs.fail(mashup.pk, error.code, str(error), final=error.final)
        else:
            log.warning("poll of mashup %s failed, will retry: %s", mashup.pk, error)
        return False
    return apply(mashup.pk, snapshot)


def next_delay(polls: int, *, cap: float = POLL_MAX_DELAY) -> float:
    """About 5 s, growing by half each time, to at most ``cap`` (60 s; 30 s when no
    callback can reach us)."""
    return min(POLL_FIRST_DELAY * POLL_GROWTH**polls, cap)


def schedule_poll(pk: int, delay: float) -> None:
    _schedule_poll(Mashup, pk, delay, task="poll_mashup", name="mashup")


def _schedule_poll(
    model: type[Mashup] | type[FollowUp], pk: int, delay: float, *, task: str, name: str
) -> None:
    """One poll of a job (a mashup or a follow-up) ``delay`` seconds from now, counted on
    the job; its schedule is named by the job and the count, so two runs never collide."""
    job = model.objects.filter(pk=pk).first()
    if job is None or job.is_final:
        return
    when = timezone.now() + timedelta(seconds=delay)
    model.objects.filter(pk=pk).update(next_poll_at=when, polls=job.polls + 1)
    schedule(
        f"{TASKS}.{task}",
        pk,
        name=f"{name}-{pk}-poll-{job.polls + 1}",
        schedule_type=Schedule.ONCE,
        next_run=when,
        repeats=-1,  # a ONCE schedule with negative repeats deletes itself after running
    )


def cancel_polls(pk: int) -> None:
    """Delete the job's pending polls (a job tried again starts a loop of its own)."""
    Schedule.objects.filter(name__startswith=f"mashup-{pk}-poll-").delete()


WORKER_ID = "MASHUP_WORKER_ID"  # set by ``manage.py worker`` for its cluster's processes


def worker_id() -> str:
    """Who holds the leases this process takes: the ``manage.py worker`` it runs under
    (its processes inherit the variable), so that a stopping worker hands its jobs back."""
    return os.environ.get(WORKER_ID, "")


def lease() -> timedelta:
    """How long a worker holds an inline job: django-q2 stops a task at its timeout, so a
    claim older than that belongs to a worker that is gone."""
    return timedelta(seconds=int(settings.Q_CLUSTER["timeout"]))  # type: ignore[call-overload]


@dataclass(frozen=True)
class Recovery:
    run: list[int]  # jobs whose first task is to be delivered again
    poll: list[int]  # submitted jobs whose poll loop broke (a poll task lost with a worker)
    timed_out: int


def recover(moment: datetime) -> Recovery:
    """Find the jobs a broker or a worker lost, whatever the broker (the reconciler's work;
    ``tasks.reconcile`` enqueues them again, and every task is idempotent):

    - a job past its give-up time fails as timed out (from when it was queued, so a job
      no worker ever took ends too);
    - a queued job no worker took within ``MASHUP_UNCLAIMED_MINUTES`` of being handed to
      the broker (or never handed: the broker was down) is handed again;
    - an inline job whose worker's lease lapsed is freed and handed again (``jobs.claim``
      counts the attempt and ends the job after too many); an inline job freed (lapsed, or
      handed back by a stopping worker: ``jobs.hand_back``) that no worker took within
      that bound of being handed is handed again;
    - a submitted job whose next poll is overdue by that bound gets a poll now (a submitted
      job is never submitted again: ``jobs.claim_submission``).
    """
    bound = moment - timedelta(minutes=settings.MASHUP_UNCLAIMED_MINUTES)
    active = Mashup.objects.in_progress()
    late = 0
    for mashup in active.filter(
        queued_at__lt=moment - timedelta(minutes=settings.MASHUP_GIVE_UP_MINUTES)
    ):
        if jobs.timed_out(mashup, moment):
            jobs.fail(mashup.pk, None, TIMED_OUT.format(minutes=settings.MASHUP_GIVE_UP_MINUTES))
            late += 1
    unclaimed = active.filter(status=Status.QUEUED, claimed_at__isnull=True).filter(
        Q(enqueued_at__lt=bound) | Q(enqueued_at__isnull=True, queued_at__lt=bound)
    )
    run = list(unclaimed.values_list("pk", flat=True))
    poll = []
    # An inline job freed earlier (a lapsed lease, or handed back by a stopping worker)
    # whose new delivery did not reach the broker, or that no worker took in time.
    for mashup in (
        active.exclude(status=Status.QUEUED)
        .filter(claimed_at__isnull=True)
        .filter(Q(enqueued_at__lt=bound) | Q(enqueued_at__isnull=True, queued_at__lt=bound))
    ):
        if provider_of(mashup).runs_inline:
            run.append(mashup.pk)
    for mashup in active.exclude(status=Status.QUEUED).filter(claimed_at__lt=moment - lease()):
        inline = provider_of(mashup).runs_inline
        if inline and jobs.release_lapsed(mashup.pk, mashup.claimed_at):  # type: ignore[arg-type]
            run.append(mashup.pk)
    for mashup in active.exclude(status=Status.QUEUED).filter(
        Q(next_poll_at__lt=bound) | Q(next_poll_at__isnull=True, claimed_at__lt=bound)
    ):
        if not provider_of(mashup).runs_inline:
            poll.append(mashup.pk)
    return Recovery(run=run, poll=poll, timed_out=late)


# --- what a provider is given -----------------------------------------------------------------


def job_of(mashup: Mashup) -> Job:
    return Job(
        pk=mashup.pk,
        payload=mashup.payload,
        songs=tuple(song_of(source) for source in mashup.sources.order_by("position")),
        callback_url=settings.PUBLIC_BASE_URL
        + reverse("mashups:callback", args=[mashup.callback_token]),
        delivery=source_delivery(),
        hosted=partial(jobs.record_hosted, mashup.pk),
        backing_offbeat=mashup.backing_offbeat,
    )


def source_delivery() -> str:
    """``link`` or ``upload``, as MASHUP_SOURCE_DELIVERY says (``auto``: by PUBLIC_BASE_URL)."""
    return delivery.choose(settings.MASHUP_SOURCE_DELIVERY, settings.PUBLIC_BASE_URL)


def song_of(source: Source) -> Song:
    name = str(source.file.name) if source.file else ""
    return Song(
        position=source.position,
        name=song_file_name(source),
        link=source.url,
        # Our link expires (callbacks.source_file); only providers that fetch songs use it.
        served_url=settings.PUBLIC_BASE_URL
        + reverse("mashups:source_file", args=[source.access_token]),
        path=storage.disk_path(name) if name else None,
        open=partial(storage.open_stored, name) if name else None,
        hosted_url=hosted_url(source),
        tempo=source.tempo_given,
        key=source.key_given,
    )


def hosted_url(source: Source) -> str:
    """A copy of this song on the upload service that is still there: its own, or (the
    same bytes are stored once) one made for another job's upload of the same file."""
    since = timezone.now() - HOSTED_FOR
    if source.hosted_url and source.hosted_at and source.hosted_at > since:
        return source.hosted_url
    if not source.sha256 or not source.file:
        return ""
    twin = (
        Source.objects.filter(sha256=source.sha256, hosted_at__gt=since)
        .exclude(hosted_url="")
        .exclude(file="")
        .order_by("-hosted_at")
        .values_list("hosted_url", flat=True)
        .first()
    )
    return twin or ""


MAX_NAME_BYTES = 200


def song_file_name(source: Source) -> str:
    """A safe file name from the upload's original name or the link's last path segment
    (the engine's analysis names the songs by their file names; ours are content hashes)."""
    label = source.original_name or unquote(urlsplit(source.url).path.rsplit("/", 1)[-1])
    # Each song gets a folder of its own, so only separators, NUL and dot-names need care;
    # spaces and accents stay, as people wrote them.
    name = label.replace("/", "_").replace("\\", "_").replace("\x00", "").strip()
    if len(name.encode()) > MAX_NAME_BYTES:  # file systems count bytes
        # Keep the start, which the person reads first, and the suffix, which says the
        # format; what is cut is marked.
        stem, suffix = split_suffix(name)
        while len((stem + "…" + suffix).encode()) > MAX_NAME_BYTES:
            stem = stem[:-1]
        name = stem + "…" + suffix
    return name if name.strip(".") else f"song-{source.position}"


# --- results ----------------------------------------------------------------------------------


def results_guarded() -> bool:
    """Whether the provider's result files must be on public addresses (the default).
    People's links are always guarded, whatever this says."""
    return not settings.MASHUP_RESULTS_ALLOW_PRIVATE


def copy_results(pk: int) -> None:
    """Copy each finished track's audio and image into our storage (the provider deletes
    them after 14 days); a retry copies only what is missing."""
    for row in Track.objects.filter(mashup_id=pk).exclude(audio_url=""):
        for field, url, suffix in (
            ("audio", row.audio_url, ".mp3"),
            ("image", row.image_url, ".jpeg"),
        ):
            if getattr(row, field) or not url:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"track-{row.position}{suffix}"
                try:
                    # The URL came from the provider: guarded like any link from outside,
                    # unless the provider runs on this machine (tests, a local stand-in).
                    download.fetch(url, path, guard=results_guarded())
                except download.DownloadError as error:
                    log.warning("could not copy %s of mashup %s: %s", field, pk, error)
                    continue
                storage.keep(getattr(row, field), path, save=True)


# --- follow-ups: a job of its own per track and kind ----------------------------------------
#
# The owner (or staff) asks (``tasks.ask_follow_up``: counted against the person's limits,
# once per track and kind, under the track's lock); ``tasks.run_follow_up`` ->
# ``start_follow_up`` asks the provider once (``jobs.claim_follow_up``). An inline provider
# (the local engine) answers at once from what the render kept; the remote API answers the
# lyrics at once and makes stems and WAV as tasks of their own: its callback
# (``callbacks.follow_up_callback``) makes us read the record now, and polling with the
# mashups' back-off is the fallback. Finished files are copied into the track's storage.

FOLLOW_UP_UNEXPECTED = "This could not be made because of an unexpected problem; staff were told."
FOLLOW_UP_TIMED_OUT = "Timed out: the provider did not finish this within {minutes} minutes."
MISSING_FILES = {
    "vocals": "The provider sent no vocals for this track.",
    "instrumental": "The provider sent no instrumental for this track.",
    "wav": "The provider sent no WAV file for this track.",
}


def follow_up_request(follow_up: FollowUp) -> FollowUpRequest:
    track = follow_up.track
    mashup = track.mashup
    return FollowUpRequest(
        kind=follow_up.kind,
        task_id=mashup.provider_task_id,
        audio_id=track.provider_track_id,
        callback_url=settings.PUBLIC_BASE_URL
        + reverse("mashups:follow_up_callback", args=[follow_up.callback_token]),
        instrumental=mashup.instrumental,
        kept=track.kept,
    )


def _follow_up(pk: int) -> FollowUp | None:
    return FollowUp.objects.select_related("track__mashup").filter(pk=pk).first()


def start_follow_up(pk: int) -> None:
    """Ask the provider, once; a refusal for now is asked again at the next tick."""
    follow_up = _follow_up(pk)
    if follow_up is None or not jobs.claim_follow_up(pk):
        return
    provider = provider_of(follow_up.track.mashup)
    if not provider.runs_inline:
        schedule_follow_up_poll(pk, POLL_FIRST_DELAY)  # before the request: never lost
        _note_credits(pk, provider)
    jobs.count_follow_up_request(pk, 0 if provider.runs_inline else 1)
    try:
        snapshot = provider.follow_up(follow_up_request(follow_up))
    except ProviderError as error:
        if error.permanent or error.maybe_accepted:
            # A timed-out submission may have been accepted (and charged): asking again
            # could pay twice, so it ends here with the reason.
            jobs.fail_follow_up(pk, error.code, str(error))
        else:
            jobs.release_follow_up(pk, str(error))
        return
    except Exception:
        log.exception("the provider failed on follow-up %s", pk)
        jobs.fail_follow_up(pk, None, FOLLOW_UP_UNEXPECTED)
        return
    jobs.record_follow_up_task(pk, snapshot.task_id, snapshot.raw)
    finish_follow_up(pk, snapshot, provider)


def poll_follow_up(pk: int) -> None:
    """One tick of a follow-up's loop: give up when too late, ask again after a refusal
    for now, or read the provider's record; then the next tick, until it is final."""
    follow_up = _follow_up(pk)
    if follow_up is None or follow_up.is_final:
        return
    now = timezone.now()
    if follow_up.next_poll_at and follow_up.next_poll_at > now + timedelta(seconds=1):
        return  # a duplicate of an earlier tick; a later one is scheduled
    minutes = settings.MASHUP_GIVE_UP_MINUTES
    if now > follow_up.created_at + timedelta(minutes=minutes):
        jobs.fail_follow_up(pk, None, FOLLOW_UP_TIMED_OUT.format(minutes=minutes))
        return
    provider = provider_of(follow_up.track.mashup)
    if follow_up.status == Status.QUEUED:
        start_follow_up(pk)
    elif follow_up.provider_task_id and not provider.runs_inline:
        jobs.count_follow_up_request(pk)
        try:
            snapshot = provider.poll_follow_up(follow_up.kind, follow_up.provider_task_id)
        except ProviderError as error:
            if error.permanent:
                jobs.fail_follow_up(pk, error.code, str(error))
                return
            log.warning("poll of follow-up %s failed, will retry: %s", pk, error)
        else:
            finish_follow_up(pk, snapshot, provider)
    schedule_follow_up_poll(pk, next_delay(follow_up.polls))


def finish_follow_up(pk: int, snapshot: FollowUpSnapshot, provider: Provider) -> None:
    """Record what the provider says: failed in words, or complete with our copies."""
    if snapshot.status == Status.FAILED:
        message = user_message(snapshot.error_code, snapshot.error_message)
        jobs.fail_follow_up(pk, snapshot.error_code, message)
        return
    if snapshot.status != Status.COMPLETE:
        if snapshot.raw:
            FollowUp.objects.filter(pk=pk).update(last_response=dict(snapshot.raw))
        return
    follow_up = _follow_up(pk)
    if follow_up is None or follow_up.is_final:
        return
    wanted = FOLLOW_UP_FILES[follow_up.kind]
    missing = [name for name in wanted if name not in snapshot.files]
    if not provider.runs_inline and wanted and len(missing) == len(wanted):
        jobs.fail_follow_up(pk, None, " ".join(MISSING_FILES[name] for name in missing))
        return
    with tempfile.TemporaryDirectory() as tmp:
        try:
            files = _copy_follow_up_files(follow_up, snapshot.files, Path(tmp))
        except download.DownloadError as error:
            log.warning("could not copy follow-up %s: %s", pk, error)
            return  # the next tick reads the record and tries again
        lyrics = lyric_lines(snapshot.words) if follow_up.kind == FollowUpKind.LYRICS else None
        jobs.complete_follow_up(
            pk, files=files, lyrics=lyrics, waveform=list(snapshot.waveform), raw=snapshot.raw
        )
    if missing and not provider.runs_inline:
        FollowUp.objects.filter(pk=pk).update(
            message=" ".join(MISSING_FILES[name] for name in missing)
        )
    if not provider.runs_inline:
        _note_credits(pk, provider, after=True)


def _copy_follow_up_files(
    follow_up: FollowUp, urls: Mapping[str, str], folder: Path
) -> dict[str, Path]:
    """Download each file the provider made, guarded like the tracks' copies."""
    position = follow_up.track.position
    files = {}
    for name, url in urls.items():
        suffix = ".wav" if name == "wav" else ".mp3"
        path = folder / f"track-{position}-{name}{suffix}"
        files[name] = download.fetch(url, path, guard=results_guarded())
    return files


def _note_credits(pk: int, provider: Provider, *, after: bool = False) -> None:
    """The balance before and after, for staff (one request each; best effort)."""
    try:
        balance = int(provider.credits())
    except (ProviderError, ValueError, TypeError) as error:
        log.info("no credit balance for follow-up %s: %s", pk, error)
        return
    jobs.count_follow_up_request(pk)
    if after:
        jobs.record_follow_up_cost(pk, balance)
    else:
        FollowUp.objects.filter(pk=pk).update(credits_before=balance)


def recover_follow_ups(moment: datetime) -> tuple[list[int], list[int]]:
    """What a broker or a worker lost (the reconciler's work, like ``recover``): follow-ups
    queued but never taken within ``MASHUP_UNCLAIMED_MINUTES`` (handed again), and those
    whose next tick is that late, or that have none (ticked now: a tick that is too late
    fails them as timed out)."""
    bound = moment - timedelta(minutes=settings.MASHUP_UNCLAIMED_MINUTES)
    active = FollowUp.objects.in_progress().filter(updated_at__lt=bound)
    run = list(
        active.filter(
            status=Status.QUEUED, claimed_at__isnull=True, next_poll_at__isnull=True
        ).values_list("pk", flat=True)
    )
    late = active.exclude(pk__in=run).filter(
        Q(next_poll_at__lt=bound) | Q(next_poll_at__isnull=True)
    )
    return run, list(late.values_list("pk", flat=True))


def schedule_follow_up_poll(pk: int, delay: float) -> None:
    _schedule_poll(FollowUp, pk, delay, task="poll_follow_up", name="follow-up")


SECTION = re.compile(r"\[[^\]\n]{0,60}\]")


def lyric_lines(words: tuple[TimedWord, ...]) -> list[dict[str, object]]:
    """Aligned words as lines to show under the player: a line break in a word starts a
    new line, and a section tag ("[Verse]") names the line that follows it."""
    lines: list[dict[str, object]] = []
    current: dict[str, Any] | None = None
    section = ""

    def close() -> None:
        nonlocal current
        if current and str(current["text"]).strip():
            current["text"] = " ".join(str(current["text"]).split())
            lines.append(current)
        current = None

    for word in words:
        for n, piece in enumerate(word.text.split("\n")):
            if n:
                close()
            for tag in SECTION.findall(piece):
                section = tag.strip("[]").strip()
            text = SECTION.sub("", piece)
            if not text.strip():
                continue
            if current is None:
                current = {"start": word.start, "end": word.end, "text": "", "section": section}
                section = ""
            current["text"] = f"{current['text']} {text}"
            current["end"] = max(float(current["end"]), word.end)
    close()
    return lines
