"""How long a finished mashup is kept, and the sweeper that expires it.

A mashup expires ``RETENTION_DAYS`` after it completed (``jobs._move`` sets ``expires_at``),
because the provider deletes its files after 14 days (docs/api-contract.md, "Files"). What
people are told before that (a plain note, a warning within 3 days, an urgent "download it
now" within 24 hours) is ``Mashup.expiry`` (``models.expiry_of``). The sweeper, a django-q2
schedule, deletes the files of expired mashups and marks them expired (``jobs.expire``), in
small batches so that it never holds a lock for long; ``keep_forever`` mashups are never
touched. Staff extend or keep mashups from the admin.

A failed job expires ``RETENTION_DAYS`` after it failed: its uploads are kept that long so
that it can be tried again, then swept like the rest (or failed jobs would hold their
songs forever). People are not counted down to it: there is nothing to download.

A second, daily schedule (``sweep_orphans``) lists the stored songs and tracks and deletes
those no row has pointed to for a day: what a delete or an expiry left when the storage
failed after its rows were gone, or a job killed between storing a file and recording it.

Every decision reads ``django.utils.timezone.now`` (tests move it with time-machine).
"""

from __future__ import annotations

import itertools
import logging
import shutil
import tempfile
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from . import jobs, models, storage
from .models import URGENT_WITHIN, KeptFile, Mashup, Status

log = logging.getLogger(__name__)

SWEEP_BATCH = 100
SWEEP_MAX_BATCHES = 20
SCHEDULE_NAME = "mashups: delete expired files"
SWEEP_FUNC = "mashup_site.mashups.retention.sweep"  # stored in the schedule's row: keep it
SWEEP_EVERY_MINUTES = 15
ORPHANS_SCHEDULE = "mashups: delete files no row points to"
ORPHANS_FUNC = "mashup_site.mashups.retention.sweep_orphans"  # stored in the schedule's row
ORPHANS_EVERY_MINUTES = 24 * 60  # it lists the whole storage: once a day
# A file younger than this may be one a job or a submit is about to record (a track is
# stored, then its row saved): no job runs that long (Q_TIMEOUT is minutes).
ORPHAN_MIN_AGE = timedelta(days=1)


def expiring_within_a_day(
    mashups: QuerySet[Mashup], at: datetime | None = None
) -> QuerySet[Mashup]:
    """Complete mashups that expire within 24 hours, soonest first (the gallery's banner)."""
    return mashups.expiring_within(URGENT_WITHIN, at)  # type: ignore[attr-defined,no-any-return]


# --- the sweeper ------------------------------------------------------------------------------


def sweep(
    batch_size: int = SWEEP_BATCH, max_batches: int = SWEEP_MAX_BATCHES, at: datetime | None = None
) -> int:
    """Expire what is due, ``batch_size`` rows per transaction, at most ``max_batches``
    batches per run (the schedule comes back for the rest). Returns how many expired."""
    moment = at or timezone.now()
    total = 0
    for _ in range(max_batches):
        oldest_first = Mashup.objects.due(moment).order_by("expires_at", "pk")
        pks = list(oldest_first.values_list("pk", flat=True)[:batch_size])
        if not pks:
            break
        total += sum(jobs.expire(pk, moment) for pk in pks)
    if total:
        log.info("retention: expired %s mashups", total)
    sweep_kept(moment, limit=batch_size * max_batches)
    clean_temp()
    return total


def sweep_kept(at: datetime | None = None, limit: int = SWEEP_BATCH * SWEEP_MAX_BATCHES) -> int:
    """Delete the uploads kept for a refused submit whose token can no longer be used
    (``KeptFile``: a day, and an hour's grace), unless a job uses them (the person sent
    the form again) or a newer token points to the same content. Returns how many files
    went."""
    moment = at or timezone.now()
    removed = 0
    for pk in list(
        KeptFile.objects.stale(moment).order_by("kept_at").values_list("pk", flat=True)[:limit]
    ):
        with transaction.atomic():
            # Re-read under its lock: a record kept again a moment ago is fresh again.
            record = KeptFile.objects.select_for_update().stale(moment).filter(pk=pk).first()
            if record is None:
                continue
            record.delete()
        removed += storage.release([record.name])
    if removed:
        log.info("retention: deleted %s kept uploads no one used", removed)
    return removed


def sweep_orphans(at: datetime | None = None, batch: int = 500) -> int:
    """Delete stored songs and tracks that no row points to and that are older than
    ORPHAN_MIN_AGE: what a delete or an expiry left when the storage failed after its rows
    were gone (logged then, ``storage.delete``), or a job killed between storing a file
    and recording it. A song is released under its lock (``storage.release``: a submit
    storing the same content a moment ago keeps it). Returns how many files went."""
    moment = at or timezone.now()
    removed = 0
    for top in ("sources", "tracks"):
        names = storage.stored_files(top)
        while chunk := list(itertools.islice(names, batch)):
            known = storage.recorded(chunk)
            for name in chunk:
                if name in known or not _older(name, moment):
                    continue
                if top == "sources":
                    removed += storage.release([name])
                else:
                    storage.delete([name])
                    removed += 1
    if removed:
        log.info("retention: deleted %s files no row pointed to", removed)
    return removed


def _older(name: str, moment: datetime) -> bool:
    try:
        return moment - default_storage.get_modified_time(name) >= ORPHAN_MIN_AGE
    except (OSError, NotImplementedError):  # gone meanwhile, or a storage that cannot say
        return False


# --- what killed processes leave behind ---------------------------------------------------------

TEMP_PATTERNS = ("mashup-[0-9]*-*", "*.upload.*")  # the engine's folders, Django's uploads
UPLOAD_TEMP_MAX_AGE = 3600  # seconds without a write: no upload is still streaming into it


def clean_temp(now: float | None = None) -> int:
    """Delete what killed processes left in the temporary folder: an engine run's
    ``mashup-<pk>-*`` folder older than ``Q_TIMEOUT`` (its task was stopped by then) and a
    web worker's ``*.upload.*`` file untouched for an hour. Run at worker start
    (``manage.py worker``) and by the sweeper. Returns how many went."""
    moment = time.time() if now is None else now
    limits = {
        TEMP_PATTERNS[0]: int(settings.Q_CLUSTER["timeout"]),  # type: ignore[call-overload]
        TEMP_PATTERNS[1]: UPLOAD_TEMP_MAX_AGE,
    }
    folders = {Path(tempfile.gettempdir())}
    if settings.FILE_UPLOAD_TEMP_DIR:
        folders.add(Path(settings.FILE_UPLOAD_TEMP_DIR))
    removed = 0
    for folder in folders:
        for pattern, max_age in limits.items():
            for path in folder.glob(pattern):
                try:
                    if moment - path.stat().st_mtime <= max_age:
                        continue
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
                    removed += 1
                except OSError as error:  # gone meanwhile, or not ours to delete
                    log.warning("retention: could not delete %s: %s", path, error)
    if removed:
        log.info("retention: deleted %s temporary leftovers", removed)
    return removed


def extend(mashups: Iterable[Mashup], days: int | None = None) -> int:
    """Staff: push expiry back by ``days`` (default RETENTION_DAYS) from now or from the
    current expiry, whichever is later. Expired mashups have no files left to keep."""
    delta = timedelta(days=days or settings.RETENTION_DAYS)
    moment = timezone.now()
    count = 0
    for mashup in mashups:
        if mashup.status == Status.EXPIRED or mashup.expires_at is None:
            continue
        mashup.expires_at = max(mashup.expires_at, moment) + delta
        mashup.save(update_fields=["expires_at", "updated_at"])
        count += 1
    return count


def keep_forever(mashups: QuerySet[Mashup]) -> int:
    # update() skips auto_now: set updated_at so cached gallery pages see the change.
    return mashups.exclude(status=Status.EXPIRED).update(
        keep_forever=True, updated_at=timezone.now()
    )


# --- the schedule -----------------------------------------------------------------------------


def ensure_schedule(using: str = "default", **kwargs: object) -> None:
    """The sweepers' schedules (a post_migrate handler: every ``migrate`` calls it)."""
    models.ensure_schedule(SCHEDULE_NAME, SWEEP_FUNC, SWEEP_EVERY_MINUTES, using)
    models.ensure_schedule(ORPHANS_SCHEDULE, ORPHANS_FUNC, ORPHANS_EVERY_MINUTES, using)
