"""The job's state machine: claims, snapshots applied in order, results kept.

Called by the django-q2 tasks (``tasks.py``) and by the callback view. Every change to a
job goes through a row lock, so a callback and a poll arriving together cannot interleave,
and through ``models.advances``, so nothing moves a job backwards.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from mashup_site.providers import download
from mashup_site.providers.base import ProviderError, Stage, TaskSnapshot, Track, user_message

from .models import STAGE_FIELDS, Mashup, Source, Status, SubmitSlot, advances
from .models import Track as TrackRow

log = logging.getLogger(__name__)

STAGE_TO_STATUS = {
    Stage.PENDING: Status.SUBMITTED,
    Stage.TEXT: Status.TEXT,
    Stage.FIRST: Status.FIRST,
    Stage.COMPLETE: Status.COMPLETE,
    Stage.FAILED: Status.FAILED,
}


def now() -> datetime:
    """The pipeline's clock (tests replace it with a fake one)."""
    return timezone.now()


def remote_provider():  # type: ignore[no-untyped-def]
    from mashup_site.providers.remote import provider_from_settings

    return provider_from_settings(store=DatabaseSlots())


class DatabaseSlots:
    """The submission throttle's window in the database, shared by every worker process.

    ``rate`` slots; taking one is a conditional UPDATE (atomic in SQLite and PostgreSQL),
    so two processes can never take the same slot (docs/api-contract.md, "Rate limits").
    """

    def take(self, now: float, per: float, rate: int) -> float:
        SubmitSlot.objects.bulk_create(
            [SubmitSlot(number=n) for n in range(rate)], ignore_conflicts=True
        )
        slots = SubmitSlot.objects.filter(number__lt=rate)
        for number in slots.filter(taken_at__lte=now - per).values_list("number", flat=True):
            if slots.filter(number=number, taken_at__lte=now - per).update(taken_at=now):
                return 0.0
        oldest = min(slots.values_list("taken_at", flat=True))
        return max(oldest + per - now, 0.001)


@contextmanager
def locked(pk: int) -> Iterator[Mashup | None]:
    with transaction.atomic():
        yield Mashup.objects.select_for_update().filter(pk=pk).first()


# --- claims -----------------------------------------------------------------------------------


def claim(pk: int, *, lease: timedelta) -> bool:
    """Take a local job, unless it is final or another worker's lease is still running."""
    moment = now()
    with locked(pk) as mashup:
        if mashup is None or mashup.is_final:
            return False
        if mashup.claimed_at and mashup.claimed_at > moment - lease:
            return False
        mashup.claimed_at = moment
        _move(mashup, Status.SUBMITTED, moment)
        mashup.save()
        return True


def claim_submission(pk: int) -> bool:
    """Mark a remote job as being submitted. False when it has a task id, or a submission
    is claimed that may have reached the provider: then only its callback (which names the
    task id) or the give-up time ends it. Never submit twice."""
    moment = now()
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


# --- remote requests --------------------------------------------------------------------------


def source_urls(mashup: Mashup) -> list[str]:
    """Public URLs the provider downloads the sources from (ours expire; see views)."""
    base = settings.PUBLIC_BASE_URL
    return [
        source.url or base + reverse("mashups:source_file", args=[source.access_token])
        for source in mashup.sources.order_by("position")
    ]


def callback_url(mashup: Mashup) -> str:
    return settings.PUBLIC_BASE_URL + reverse("mashups:callback", args=[mashup.callback_token])


def submit(pk: int) -> str:
    mashup = Mashup.objects.get(pk=pk)
    payload = {**mashup.payload, "uploadUrlList": source_urls(mashup)}
    _count_request(pk)
    with remote_provider() as provider:
        return provider.submit(payload, callback_url=callback_url(mashup))


def fetch(mashup: Mashup) -> TaskSnapshot:
    _count_request(mashup.pk)
    with remote_provider() as provider:
        return provider.fetch(mashup.provider_task_id)


def _count_request(pk: int) -> None:
    from django.db.models import F

    Mashup.objects.filter(pk=pk).update(provider_requests=F("provider_requests") + 1)


def record_task_id(pk: int, task_id: str) -> None:
    Mashup.objects.filter(pk=pk, provider_task_id="").update(provider_task_id=task_id)


def give_up_at(mashup: Mashup) -> datetime:
    started = mashup.submitted_at or mashup.created_at
    return started + timedelta(minutes=settings.MASHUP_GIVE_UP_MINUTES)


def timed_out(mashup: Mashup, moment: datetime) -> bool:
    return moment > give_up_at(mashup)


# --- snapshots --------------------------------------------------------------------------------


def apply_snapshot(pk: int, snapshot: TaskSnapshot, *, from_callback: bool = False) -> bool:
    """Record what the provider says; True when the job moved forward."""
    moment = now()
    with locked(pk) as mashup:
        if mashup is None:
            return False
        mashup.callbacks_received += int(from_callback)
        if snapshot.task_id and not mashup.provider_task_id:
            mashup.provider_task_id = snapshot.task_id  # a callback after a lost save
        if snapshot.raw:
            mashup.last_response = dict(snapshot.raw)
        if snapshot.analysis_text and not mashup.analysis_text:
            mashup.analysis_text = snapshot.analysis_text
        if mashup.status != Status.EXPIRED:
            _save_tracks(mashup, snapshot.tracks)
        status = STAGE_TO_STATUS[snapshot.stage]
        moved = _move(mashup, status, moment)
        if moved and status == Status.FAILED:
            mashup.error_code = snapshot.error_code
            mashup.error_message = user_message(snapshot.error_code, snapshot.error_message)
        elif moved:
            mashup.error_message = ""  # a notice such as "busy; retrying" no longer holds
        mashup.save()
        if moved and status in (Status.FIRST, Status.COMPLETE) and mashup.provider != "local":
            from .tasks import enqueue_copy

            enqueue_copy(pk)
        return moved


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


def _save_tracks(mashup: Mashup, tracks: tuple[Track, ...]) -> None:
    for place, track in enumerate(tracks[:2], start=1):
        position = track.position if track.position in (1, 2) else place
        row, _ = TrackRow.objects.get_or_create(mashup=mashup, position=position)
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
        _keep_local_files(row, track)
        row.save()


def _keep_local_files(row: TrackRow, track: Track) -> None:
    """The local engine hands over files on disk: store them now, they are temporary."""
    for field, path in (("audio", track.local_audio_path), ("image", track.local_image_path)):
        if path and not getattr(row, field):
            with open(path, "rb") as handle:
                getattr(row, field).save(Path(path).name, File(handle), save=False)


def fail(pk: int, code: int | None, message: str) -> None:
    with locked(pk) as mashup:
        if mashup is None or not _move(mashup, Status.FAILED, now()):
            return
        mashup.error_code = code
        mashup.error_message = message
        mashup.save()


# --- results ----------------------------------------------------------------------------------

# How long a finished page keeps polling for our copies of the provider's files.
COPY_GRACE = timedelta(minutes=2)


def still_changing(mashup: Mashup, tracks: list[TrackRow]) -> bool:
    """Whether the job's page should keep updating: until it is final and, for a complete
    job, our copies of its tracks exist (or the copy had its chance)."""
    if not mashup.is_final:
        return True
    if mashup.status != Status.COMPLETE or mashup.completed_at is None:
        return False
    copied = all(track.audio for track in tracks if track.audio_url)
    return not copied and now() < mashup.completed_at + COPY_GRACE


def copy_results(pk: int) -> None:
    """Copy each finished track's audio and image into our storage (the provider deletes
    them after 14 days); a retry copies only what is missing."""
    for row in TrackRow.objects.filter(mashup_id=pk).exclude(audio_url=""):
        for field, url, suffix in (
            ("audio", row.audio_url, ".mp3"),
            ("image", row.image_url, ".jpeg"),
        ):
            if getattr(row, field) or not url:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"track-{row.position}{suffix}"
                try:
                    # The URL came in a callback: guarded like any link from outside.
                    download.fetch(url, path, guard=True)
                except download.DownloadError as error:
                    log.warning("could not copy %s of mashup %s: %s", field, pk, error)
                    continue
                with path.open("rb") as handle:
                    getattr(row, field).save(path.name, File(handle), save=True)


# --- local engine -----------------------------------------------------------------------------


def run_local_engine(pk: int) -> None:
    from mashup_site.providers.local import LocalProvider

    mashup = Mashup.objects.get(pk=pk)
    with tempfile.TemporaryDirectory(prefix=f"mashup-{pk}-") as tmp:
        work = Path(tmp)
        try:
            paths = [_local_copy(source, work) for source in mashup.sources.order_by("position")]
            LocalProvider().run(
                task_id=f"local-{pk}",
                sources=paths,
                payload=mashup.payload,
                out_dir=work / "out",
                on_snapshot=lambda snapshot: _apply_quietly(pk, snapshot),
            )
        except (ProviderError, download.DownloadError) as error:
            fail(pk, getattr(error, "code", None), str(error))
        except Exception:
            log.exception("the engine failed on mashup %s", pk)
            fail(pk, None, "The mashup engine hit an unexpected problem; staff have been told.")


def _apply_quietly(pk: int, snapshot: TaskSnapshot) -> None:
    apply_snapshot(pk, snapshot)


def _local_copy(source: Source, work: Path) -> Path:
    """A path on this machine for the source, under the name its owner knows it by (the
    engine's analysis names the songs by their file names; ours are content hashes)."""
    target = work / str(source.position) / song_file_name(source)
    target.parent.mkdir()
    if source.url:
        try:
            return download.fetch(source.url, target, guard=True)
        except download.DownloadError as error:
            raise download.DownloadError(
                f"Song {source.position}'s link could not be used: {error}."
            ) from error
    name = str(source.file.name)
    try:
        target.symlink_to(default_storage.path(name))
    except NotImplementedError:  # remote storage (S3): copy it down
        with default_storage.open(name, "rb") as handle, target.open("wb") as out:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                out.write(chunk)
    return target


MAX_NAME_BYTES = 200


def song_file_name(source: Source) -> str:
    """A safe file name from the upload's original name or the link's last path segment."""
    label = source.original_name or unquote(urlsplit(source.url).path.rsplit("/", 1)[-1])
    # Each song gets a folder of its own, so only separators, NUL and dot-names need care;
    # spaces and accents stay, as people wrote them.
    name = label.replace("/", "_").replace("\\", "_").replace("\x00", "").strip()
    while len(name.encode()) > MAX_NAME_BYTES:  # file systems count bytes; keep the suffix
        name = name[1:]
    return name if name.strip(".") else f"song-{source.position}"
