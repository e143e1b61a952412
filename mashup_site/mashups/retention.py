"""How long a finished mashup is kept, what people are told about it, and the sweeper.

A mashup expires ``RETENTION_DAYS`` after it completed (``pipeline._move`` sets
``expires_at``), because the provider deletes its files after 14 days
(docs/api-contract.md, "Files"). People are warned before that: a plain note, then a
warning within 3 days, then an urgent "download it now" within 24 hours. The sweeper, a
django-q2 schedule, deletes the files of expired mashups and marks them expired, in small
batches so that it never holds a lock for long; ``keep_forever`` mashups are never touched.
Staff extend or keep mashups from the admin.

A failed job expires ``RETENTION_DAYS`` after it failed: its uploads are kept that long so
that it can be tried again, then swept like the rest (or failed jobs would hold their
songs forever). People are not counted down to it: there is nothing to download.

All decisions about time live here (never in templates), and every function takes ``now``
so that tests can use a fixed clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from . import storage
from .models import Mashup, Status, Track

log = logging.getLogger(__name__)

WARNING_WITHIN = timedelta(days=3)
URGENT_WITHIN = timedelta(hours=24)
SWEEP_BATCH = 100
SWEEP_MAX_BATCHES = 20
SCHEDULE_NAME = "mashups: delete expired files"
SWEEP_FUNC = "mashup_site.mashups.retention.sweep"
SWEEP_EVERY_MINUTES = 15


def now() -> datetime:
    """The clock every expiry decision reads (tests replace it with a fixed one)."""
    return timezone.now()


class Level(StrEnum):
    NONE = "none"  # not finished: nothing expires yet
    KEPT = "kept"  # staff keep it forever
    OK = "ok"
    WARNING = "warning"
    URGENT = "urgent"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Expiry:
    level: Level
    expires_at: datetime | None = None
    remaining: timedelta | None = None
    failed: bool = False  # an expired job that had failed: it had songs, never audio

    @property
    def message(self) -> str:
        if self.level == Level.KEPT:
            return "kept without expiry"
        if self.level == Level.EXPIRED:
            what = "uploaded songs have" if self.failed else "audio has"
            return f"expired: its {what} been deleted"
        if self.remaining is None:
            return ""
        text = f"expires in {humanize(self.remaining)}"
        return f"{text}: download it now" if self.level == Level.URGENT else text

    @property
    def is_expired(self) -> bool:
        return self.level == Level.EXPIRED

    @property
    def needs_attention(self) -> bool:
        return self.level in (Level.WARNING, Level.URGENT)


def expiry_of(mashup: Mashup, at: datetime | None = None) -> Expiry:
    """What to tell the owner about ``mashup`` at time ``at`` (boundaries are inclusive:
    exactly 3 days left is a warning, exactly 24 hours is urgent, exactly 0 is expired)."""
    if mashup.status == Status.EXPIRED:
        return Expiry(Level.EXPIRED, mashup.expires_at, failed=mashup.has_failed)
    if mashup.keep_forever:
        return Expiry(Level.KEPT)
    if mashup.expires_at is None or mashup.status == Status.FAILED:
        return Expiry(Level.NONE)  # a failed job has nothing to download; it can be retried
    remaining = mashup.expires_at - (at or now())
    if remaining <= timedelta(0):
        level = Level.EXPIRED
    elif remaining <= URGENT_WITHIN:
        level = Level.URGENT
    elif remaining <= WARNING_WITHIN:
        level = Level.WARNING
    else:
        level = Level.OK
    return Expiry(level, mashup.expires_at, remaining)


def humanize(remaining: timedelta) -> str:
    """5 days / 30 hours / 7 hours / 12 minutes. Days are rounded to the nearest day;
    hours and minutes round down, so an urgent warning never promises more time."""
    seconds = remaining.total_seconds()
    if seconds >= 2 * 86400:
        return _plural(round(seconds / 86400), "day")
    if seconds >= 3600:
        return _plural(int(seconds // 3600), "hour")
    return _plural(max(1, int(seconds // 60)), "minute")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def expiring_within_a_day(
    mashups: QuerySet[Mashup], at: datetime | None = None
) -> QuerySet[Mashup]:
    """Complete mashups that expire within 24 hours, soonest first (the gallery's banner)."""
    moment = at or now()
    return (
        live(mashups)
        .filter(status=Status.COMPLETE)
        .filter(expires_at__gt=moment, expires_at__lte=moment + URGENT_WITHIN)
        .order_by("expires_at")
    )


def live(mashups: QuerySet[Mashup]) -> QuerySet[Mashup]:
    """Mashups whose files retention may still delete (finished, not kept, not swept)."""
    return mashups.filter(keep_forever=False, expires_at__isnull=False).exclude(
        status=Status.EXPIRED
    )


# --- the sweeper ------------------------------------------------------------------------------


def due(at: datetime | None = None) -> QuerySet[Mashup]:
    return live(Mashup.objects.all()).filter(expires_at__lte=at or now())


def sweep(
    batch_size: int = SWEEP_BATCH, max_batches: int = SWEEP_MAX_BATCHES, at: datetime | None = None
) -> int:
    """Expire what is due, ``batch_size`` rows per transaction, at most ``max_batches``
    batches per run (the schedule comes back for the rest). Returns how many expired."""
    moment = at or now()
    total = 0
    for _ in range(max_batches):
        oldest_first = due(moment).order_by("expires_at", "pk")
        pks = list(oldest_first.values_list("pk", flat=True)[:batch_size])
        if not pks:
            break
        total += sum(expire(pk, moment) for pk in pks)
    if total:
        log.info("retention: expired %s mashups", total)
    return total


def expire(pk: int, at: datetime | None = None) -> bool:
    """Delete one due mashup's files and mark it expired; re-checked under the row lock, so
    a mashup staff extended a moment ago is left alone."""
    with transaction.atomic():
        mashup = due(at).select_for_update().filter(pk=pk).first()
        if mashup is None:
            return False
        _mark_expired(mashup)
    return True


def purge_now(mashup: Mashup) -> None:
    """Staff: delete the files now and mark the mashup expired, whatever its expiry."""
    with transaction.atomic():
        locked = Mashup.objects.select_for_update().get(pk=mashup.pk)
        _mark_expired(locked)


def _mark_expired(mashup: Mashup) -> None:
    storage.delete_files(mashup)
    # The provider's copies are gone after its retention too: no URL is left to play.
    Track.objects.filter(mashup=mashup).update(
        audio="", image="", audio_url="", stream_audio_url="", image_url=""
    )
    mashup.status = Status.EXPIRED
    mashup.expires_at = mashup.expires_at or now()
    mashup.keep_forever = False
    mashup.save(update_fields=["status", "expires_at", "keep_forever", "updated_at"])


def extend(mashups: Iterable[Mashup], days: int | None = None) -> int:
    """Staff: push expiry back by ``days`` (default RETENTION_DAYS) from now or from the
    current expiry, whichever is later. Expired mashups have no files left to keep."""
    delta = timedelta(days=days or settings.RETENTION_DAYS)
    moment = now()
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
    return mashups.exclude(status=Status.EXPIRED).update(keep_forever=True, updated_at=now())


# --- the schedule -----------------------------------------------------------------------------


def ensure_schedule(using: str = "default", **kwargs: object) -> None:
    """Create the sweeper's django-q2 schedule once (a post_migrate handler: every
    ``migrate`` calls it, and an existing schedule, maybe edited by staff, is kept)."""
    from django_q.models import Schedule

    Schedule.objects.using(using).get_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": SWEEP_FUNC,
            "schedule_type": Schedule.MINUTES,
            "minutes": SWEEP_EVERY_MINUTES,
            "repeats": -1,
        },
    )
