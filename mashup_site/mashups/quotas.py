"""Per-person limits that protect the provider's credits (and the worker's time).

``MASHUP_MAX_ACTIVE_PER_USER`` jobs at once, ``MASHUP_MAX_PER_DAY`` jobs in any 24 hours.
A job over a limit is never queued: the create form says why and when to try again.
Every start (a new job, or "Try again") counts against the daily limit (a ``Start`` row).
The form checks the limits to tell people early; ``start`` checks them again under a row
lock on the person, in the transaction that saves the job, so that parallel posts (several
web workers) cannot pass together: SELECT ... FOR UPDATE on PostgreSQL, and SQLite's
IMMEDIATE transactions (settings.py), which take the database's write lock at BEGIN.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.formats import time_format

from .models import Mashup, Start

DAY = timedelta(hours=24)


def active_count(user_id: Any) -> int:
    return Mashup.objects.filter(owner_id=user_id).in_progress().count()


def over_active_limit(user_id: Any) -> str:
    """Why one more job may not run now, or "" when it may."""
    limit = settings.MASHUP_MAX_ACTIVE_PER_USER
    if active_count(user_id) < limit:
        return ""
    jobs = "mashup" if limit == 1 else "mashups"
    return (
        f"You already have {limit} {jobs} in progress, the most you can run at once. "
        "Wait for one to finish, then try again."
    )


def over_daily_limit(user_id: Any, now: datetime | None = None) -> str:
    limit = settings.MASHUP_MAX_PER_DAY
    since = (now or timezone.now()) - DAY
    recent = Start.objects.filter(owner_id=user_id, at__gt=since)
    if recent.count() < limit:
        return ""
    # The oldest of the last `limit` starts leaves the 24-hour window first.
    freed_at = recent.order_by("-at").values_list("at", flat=True)[limit - 1] + DAY
    when = time_format(timezone.localtime(freed_at), "H:i")
    return (
        f"You have made {limit} mashups in the last 24 hours, the daily limit. "
        f"You can start another at {when}."
    )


def refusal(user_id: Any) -> str:
    """The first limit a new job would break, as a message for the person, or ""."""
    return over_active_limit(user_id) or over_daily_limit(user_id)


class Refused(Exception):
    """A start over a limit, found under the person's lock; its text is for the person."""


def lock_person(user_id: Any) -> None:
    """The person's row lock, which every start takes first (in the caller's transaction)."""
    get_user_model().objects.select_for_update().filter(pk=user_id).first()


def start(user_id: Any) -> Start:
    """Check the limits under a lock on the person and count the start, in the caller's
    transaction (which saves the job too, or rolls back): ``Refused`` over a limit. A job
    tried again is failed until then, so it is not counted as in progress twice."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("quotas.start must run in the transaction that saves the job")
    lock_person(user_id)
    if reason := refusal(user_id):
        raise Refused(reason)
    return Start.objects.create(owner_id=user_id)  # the caller names its mashup


def start_follow_up(user_id: Any, *, paid: bool) -> Start | None:
    """Count a follow-up the person asked for, under the same lock, in the caller's
    transaction. A paid one (the remote provider charges each) is a start like a mashup's:
    it counts against ``MASHUP_MAX_PER_DAY`` (``Refused`` over it); it does not count as a
    job at once (it is short, and it needs a finished mashup). A free one (the local
    engine's, kept with the render) counts against nothing: None."""
    if not paid:
        return None
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("quotas.start_follow_up must run in the caller's transaction")
    lock_person(user_id)
    if over_daily_limit(user_id):
        limit = settings.MASHUP_MAX_PER_DAY
        raise Refused(
            f"You have started {limit} mashups and follow-ups in the last 24 hours, the "
            f"daily limit. {over_daily_limit(user_id).rsplit('. ', 1)[-1]}"
        )
    return Start.objects.create(owner_id=user_id)
