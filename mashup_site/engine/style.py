"""The API's ``style`` + ``styleWeight``, made audible: a small effect preset per style word.

Each known word in the style text adds a pedalboard chain; ``styleWeight`` (0–1) is the
wet/dry blend of all of them together, so 0 leaves the mix untouched. Words we have no
preset for are reported back, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pedalboard as pb

Preset = Callable[[], list[pb.Plugin]]

PRESETS: dict[str, Preset] = {
    "lofi": lambda: [
        pb.LowpassFilter(4200),
        pb.Bitcrush(bit_depth=11),
        pb.Chorus(rate_hz=0.4, depth=0.15, mix=0.3),
    ],
    "rock": lambda: [pb.Distortion(drive_db=8), pb.Compressor(threshold_db=-18, ratio=3)],
    "metal": lambda: [pb.Distortion(drive_db=18), pb.HighpassFilter(90)],
    "edm": lambda: [
        pb.HighShelfFilter(6000, gain_db=4),
        pb.Compressor(threshold_db=-24, ratio=6, attack_ms=5, release_ms=120),
    ],
    "house": lambda: [
        pb.LowShelfFilter(120, gain_db=3),
        pb.Compressor(threshold_db=-22, ratio=5, release_ms=150),
    ],
    "techno": lambda: [
        pb.HighpassFilter(40),
        pb.Compressor(threshold_db=-24, ratio=6),
        pb.Delay(0.375, 0.2, 0.15),
    ],
    "ambient": lambda: [
        pb.Reverb(room_size=0.9, wet_level=0.45, dry_level=0.7),
        pb.LowpassFilter(9000),
    ],
    "dreamy": lambda: [
        pb.Chorus(rate_hz=0.3, depth=0.3, mix=0.4),
        pb.Reverb(room_size=0.8, wet_level=0.35),
    ],
    "jazz": lambda: [
        pb.LowShelfFilter(200, gain_db=2),
        pb.HighShelfFilter(8000, gain_db=-3),
        pb.Reverb(room_size=0.3, wet_level=0.15),
    ],
    "acoustic": lambda: [pb.HighpassFilter(60), pb.Reverb(room_size=0.25, wet_level=0.12)],
    "hiphop": lambda: [pb.LowShelfFilter(100, gain_db=4), pb.Compressor(threshold_db=-20, ratio=4)],
    "trap": lambda: [pb.LowShelfFilter(80, gain_db=5), pb.HighShelfFilter(9000, gain_db=2)],
    "vintage": lambda: [pb.HighpassFilter(180), pb.LowpassFilter(6000), pb.Distortion(drive_db=3)],
    "chill": lambda: [pb.LowpassFilter(8000), pb.Reverb(room_size=0.5, wet_level=0.2)],
    "dub": lambda: [pb.Delay(0.5, 0.45, 0.3), pb.LowShelfFilter(120, gain_db=3)],
    "punk": lambda: [pb.Distortion(drive_db=12), pb.HighShelfFilter(4000, gain_db=3)],
}
ALIASES = {
    "lo-fi": "lofi",
    "hip-hop": "hiphop",
    "hip hop": "hiphop",
    "electronic": "edm",
    "dance": "edm",
    "retro": "vintage",
    "soft": "acoustic",
    "folk": "acoustic",
    "chillout": "chill",
    "heavy": "metal",
}


def words(style: str) -> list[str]:
    text = style.lower()
    for alias, name in ALIASES.items():
        text = re.sub(rf"\b{re.escape(alias)}\b", name, text)
    return [w for w in re.split(r"[^a-z0-9]+", text) if w]


# Words of a style text that name no style, left out of "no effect for ...".
FUNCTION_WORDS = frozenset({
    "a", "an", "and", "at", "but", "by", "feat", "for", "from", "ft", "in", "into", "of",
    "on", "or", "plus", "the", "to", "with",
})  # fmt: skip


def classify(style: str) -> tuple[list[str], list[str]]:
    """(the style's words that have an effect, those that have none), each once, in order;
    words that only join others ("with", "and") are neither."""
    found = list(dict.fromkeys(words(style)))
    applied = [w for w in found if w in PRESETS]
    unknown = [w for w in found if w not in PRESETS and w not in FUNCTION_WORDS]
    return applied, unknown


def apply_style(
    audio: np.ndarray, sr: int, style: str, weight: float
) -> tuple[np.ndarray, list[str], list[str]]:
    """(processed audio, words applied, words unknown: ``classify``)."""
    applied, unknown = classify(style)
    if not applied or weight <= 0:
        return audio, applied, unknown
    chain = pb.Pedalboard([plugin for name in applied for plugin in PRESETS[name]()])
    wet = chain(audio, sr)[:, : audio.shape[1]]
    wet_rms, dry_rms = np.sqrt((wet**2).mean()) + 1e-9, np.sqrt((audio**2).mean()) + 1e-9
    wet = wet * (dry_rms / wet_rms)  # judge the colour, not the loudness
    return ((1 - weight) * audio + weight * wet).astype(np.float32), applied, unknown


UNKNOWN_SHOWN = 8  # a style may hold 1000 characters: the analysis names a few


def described(style: str, weight: float) -> str:
    """One line for the analysis: which style words became effects, at what weight, and
    which had none (so a person knows what to write), or "" when no style was asked for."""
    if not words(style):
        return ""
    applied, unknown = classify(style)
    known = ", ".join(PRESETS)
    if not applied:
        return f"Style: none of its words has an effect in our engine, which has {known}"
    names = " and ".join([", ".join(applied[:-1]), applied[-1]] if len(applied) > 1 else applied)
    if weight <= 0:
        return f"Style: {names} named, but the style weight is 0, so no effect was added"
    text = f"Style: {names} effect{'s' * (len(applied) > 1)} at {weight:.0%}"
    if unknown:
        shown = ", ".join(f"“{w}”" for w in unknown[:UNKNOWN_SHOWN])
        more = len(unknown) - UNKNOWN_SHOWN
        text += f"; no effect for {shown}{f' and {more} more' if more > 0 else ''} (ours: {known})"
    return text
