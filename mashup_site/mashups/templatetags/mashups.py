"""Presentation filters for mashup pages (formatting only, no logic)."""

from __future__ import annotations

from django import template

from mashup_site.engine.probe import format_duration

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """12:41 for 761.0 seconds; empty when unknown."""
    return format_duration(seconds) if seconds is not None else ""
