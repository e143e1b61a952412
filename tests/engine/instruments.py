"""A band whose instruments have partials, as real ones do (tests/signals.py plays pure
sines, which hide what harmonics do to a chromagram): each note's 5th partial sounds a
major third above it, so a minor chord played this way carries its parallel major third.

``tuning`` moves a whole band off A440 by a fraction of a semitone (A=432 Hz is
12·log2(432/440) ≈ −0.318), as bands tuned by ear or to an old record are.

Arrays are float32, shape (2, samples) at 44.1 kHz. Deterministic.
"""

from __future__ import annotations

import numpy as np

from tests import signals

SR = signals.SR


def note(midi: np.ndarray, sr: int = SR, *, partials: int = 10, decay: float = 0.7) -> np.ndarray:
    """A note per sample (MIDI numbers, may change over time) with ``partials`` partials,
    partial k at ``decay``^(k-1) of the fundamental: a sawtooth-like, bright tone."""
    freq = 440 * 2 ** ((midi - 69) / 12)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return sum(np.sin(k * phase) * decay ** (k - 1) for k in range(1, partials + 1))


def band(
    tonic: int,
    mode: str,
    bpm: float,
    seconds: float,
    sr: int = SR,
    *,
    bass_octave: int = 2,
    partials: int = 10,
    decay: float = 0.7,
    tuning: float = 0.0,
) -> np.ndarray:
    """I–IV–V–I (major) or i–iv–v–i (minor), a chord per bar: the root on a bass in
    ``bass_octave`` (2: C2 = 65 Hz) and the triad an octave above it."""
    third = 4 if mode == "major" else 3
    t = np.arange(int(seconds * sr)) / sr
    bar = 4 * 60 / bpm
    root = 12 * (bass_octave + 1) + tonic + np.array([0, 5, 7, 0])[(t // bar).astype(int) % 4]
    root = root + tuning
    out = 0.25 * note(root, sr, partials=partials, decay=decay)
    for step in (0, third, 7):
        out += 0.08 * note(root + 12 + step, sr, partials=partials, decay=decay)
    out /= np.abs(out).max() / 0.3
    return np.stack([out, out]).astype(np.float32)


def song(
    bpm: float, tonic: int, mode: str, seconds: float, sr: int = SR, *, tuning: float = 0.0
) -> dict[str, np.ndarray]:
    """The band with drums and a voice singing in the key from the tonic above middle C,
    all ``tuning`` semitones off A440: {"mix", "vocals", "backing"}, like signals.song."""
    backing = band(tonic, mode, bpm, seconds, sr, tuning=tuning)
    backing = backing + signals.drum_loop(bpm, seconds, sr)
    f0 = 261.63 * 2 ** ((tonic + tuning) / 12)
    vocals = signals.voice_like(seconds, sr, f0=f0, mode=mode)
    return {
        "mix": (backing + vocals).astype(np.float32),
        "vocals": vocals,
        "backing": backing.astype(np.float32),
    }
