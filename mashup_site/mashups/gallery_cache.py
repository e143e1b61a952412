"""The gallery's rendered cards, cached per person, filter and state of their mashups.

Rendering twelve cards costs ~15 ms of template work; a person reloading an unchanged
gallery should not pay it again (benchmarks/gallery.py). The key changes whenever what the
page shows can change: the person's mashups (how many, the latest ``updated_at``), the
search and page, the minute (expiry texts count down in minutes), and the CSRF secret
(retry forms inside the cards carry a token for it). Live progress does not come from here:
in-progress cards poll their own uncached view.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils import timezone

from .models import Mashup

SECONDS = 120
MINUTE = 60


def key(request: HttpRequest, owned: QuerySet[Mashup]) -> str:
    """One query (an aggregate over the person's rows, by the owner index)."""
    get_token(request)  # make sure the CSRF secret exists before it becomes part of the key
    state = owned.aggregate(count=Count("pk"), latest=Max("updated_at"))
    parts = [
        str(request.user.pk),
        "&".join(f"{name}={value}" for name, value in sorted(request.GET.items())),
        str(state["count"]),
        state["latest"].isoformat() if state["latest"] else "",
        str(int(timezone.now().timestamp()) // MINUTE),
        request.META.get("CSRF_COOKIE", ""),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def seconds(request: HttpRequest) -> int:
    """How long to keep this page's fragments: not at all (0) for a client that sent no CSRF
    cookie, whose every request brings a new secret (a new key) that would only fill the
    cache (scripts, first visits)."""
    return SECONDS if settings.CSRF_COOKIE_NAME in request.COOKIES else 0
