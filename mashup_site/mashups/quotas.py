"""Per-person limits that protect the provider's credits (and the worker's time).

``MASHUP_MAX_ACTIVE_PER_USER`` jobs at once, ``MASHUP_MAX_PER_DAY`` jobs in any 24 hours.
A job over a limit is never queued: the create form says why and when to try again.
Two submits racing each other can both pass (the check is not a lock); at worst a person
gets one job over the limit, which the next submit then sees.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.formats import time_format

from .models import Mashup

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
        "Wait for one to finish, then try again: what you entered is kept."
    )


def over_daily_limit(user_id: Any, now: datetime | None = None) -> str:
    limit = settings.MASHUP_MAX_PER_DAY
    since = (now or timezone.now()) - DAY
    recent = Mashup.objects.filter(owner_id=user_id, created_at__gt=since)
    if recent.count() < limit:
        return ""
    # The oldest of the last `limit` jobs leaves the 24-hour window first.
    freed_at = recent.order_by("-created_at").values_list("created_at", flat=True)[limit - 1] + DAY
    when = time_format(timezone.localtime(freed_at), "H:i")
    return (
        f"You have made {limit} mashups in the last 24 hours, the daily limit. "
        f"You can start another at {when}."
    )


def refusal(user_id: Any) -> str:
    """The first limit a new job would break, as a message for the person, or ""."""
    return over_active_limit(user_id) or over_daily_limit(user_id)
