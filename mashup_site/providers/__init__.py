"""The providers that make mashups, behind one registry.

``get(kind)`` is the only way the app reaches a provider, so adding a third is one file in
this package (a module with a ``provider(**options)`` factory returning a ``Provider``, see
``base.py``) plus one line in ``KINDS``: no ``if kind == ...`` anywhere in the app.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .base import Provider

# kind -> (label for people, module with the factory)
KINDS: dict[str, tuple[str, str]] = {
    "local": ("Local engine", "mashup_site.providers.local"),
    "remote": ("Remote API", "mashup_site.providers.remote"),
}
CHOICES = [(kind, label) for kind, (label, _) in KINDS.items()]


def get(kind: str, **options: Any) -> Provider:
    """The provider of ``kind``; ``options`` are what the app lends it (e.g. ``slots``, the
    database-backed submission window), and a provider ignores those it does not use."""
    _, module = KINDS[kind]
    return import_module(module).provider(**options)  # type: ignore[no-any-return]


def fetching_sources() -> list[str]:
    """The kinds that download the songs from us (they do not run inline), so that only
    their jobs' uploads are served at secret links."""
    return [kind for kind in KINDS if not get(kind).runs_inline]
