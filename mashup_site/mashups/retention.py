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

Every decision reads ``django.utils.timezone.now`` (tests move it with time-machine).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from . import jobs
from .models import URGENT_WITHIN, Mashup, Status

log = logging.getLogger(__name__)

SWEEP_BATCH = 100
SWEEP_MAX_BATCHES = 20
SCHEDULE_NAME = "mashups: delete expired files"
SWEEP_FUNC = "mashup_site.mashups.retention.sweep"  # stored in the schedule's row: keep it
SWEEP_EVERY_MINUTES = 15


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
    return total


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
