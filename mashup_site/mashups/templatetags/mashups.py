"""Presentation filters for mashup pages (formatting only, no logic)."""

from __future__ import annotations

from django import template

from mashup_site.engine.pipeline import NOTE_MARK
from mashup_site.engine.probe import format_duration

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """12:41 for 761.0 seconds; empty when unknown."""
    return format_duration(seconds) if seconds is not None else ""


@register.filter
def waveform_path(peaks: list[float] | None) -> str:
    """An SVG path of a waveform (peaks 0-1) in a box of len(peaks)-1 by 100, mirrored
    about the middle: drawn on the server, so it shows without JavaScript too."""
    values = [min(max(float(v), 0.0), 1.0) for v in peaks or []]
    if len(values) < 2:
        return ""
    top = " ".join(f"L{x},{50 - 49 * v:.1f}" for x, v in enumerate(values))
    bottom = " ".join(f"L{x},{50 + 49 * v:.1f}" for x, v in reversed(list(enumerate(values))))
    return f"M0,50 {top} L{len(values) - 1},50 {bottom} Z"


@register.filter
def waveform_width(peaks: list[float] | None) -> int:
    return max(len(peaks or []) - 1, 1)


@register.filter
def file_url(track: object, name: str) -> str:
    """Our copy of a track's follow-up file ("vocals", "instrumental", "wav")."""
    return str(track.file_url(name))  # type: ignore[attr-defined]


@register.filter
def analysis_lines(text: str | None) -> list[dict[str, object]]:
    """The analysis, a line for each song and each mashup, each with its notes apart
    (``{"text": ..., "notes": [...]}``), so the page lists the notes under their line
    rather than at the end of a long sentence."""
    lines: list[dict[str, object]] = []
    for line in (text or "").replace("\r\n", "\n").split("\n"):  # as linebreaksbr did
        if line.strip():
            head, *notes = line.split(NOTE_MARK)
            lines.append({"text": head, "notes": [note for note in notes if note.strip()]})
    return lines
