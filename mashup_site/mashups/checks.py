"""Start-up checks (Django's system checks: ``manage.py check``, ``migrate``, ``runserver``;
the worker says the same in its log, ``manage.py worker``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register

from mashup_site.providers import delivery

UNREACHABLE = "callbacks-unreachable"


def callbacks_notice() -> str:
    """Why the remote provider cannot call us back, and what the app does instead; empty
    when it can (or the local engine makes the mashups)."""
    if settings.MASHUP_PROVIDER != "remote" or delivery.reachable(settings.PUBLIC_BASE_URL):
        return ""
    how = delivery.choose(settings.MASHUP_SOURCE_DELIVERY, settings.PUBLIC_BASE_URL)
    songs = (
        "uploaded songs go to the provider's upload service"
        if how == delivery.UPLOAD
        else "uploaded songs are still offered at our links (MASHUP_SOURCE_DELIVERY=link), "
        "which the provider cannot download either"
    )
    return (
        f"PUBLIC_BASE_URL ({settings.PUBLIC_BASE_URL}) cannot be reached from the internet, "
        "so the remote provider's callbacks will not arrive: jobs are followed by polling "
        f"(about every 30 s), and {songs}."
    )


@register("mashups")
def check_callbacks(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    notice = callbacks_notice()
    if not notice:
        return []
    return [
        Warning(
            notice,
            hint="Set PUBLIC_BASE_URL to this app's public https address to get callbacks.",
            id="mashups.W001",
        )
    ]
