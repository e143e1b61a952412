"""Measured quality of a finished mashup, from the layers it mixed (``--stems``).

- Beat offset: beats are tracked on each layer independently (analysis.refined_beats: the
  beat tracker's 23 ms grid, then each beat moved onto its onset on a 5.8 ms envelope);
  for each beat of the first layer the nearest beat of the second within a quarter beat
  gives an offset; the median is reported in milliseconds. Target ≤ 20 ms. (On the 23 ms
  grid alone two perfectly aligned layers could read 23 ms apart.)
- Key compatibility: each layer's key (analysis.estimate_key, the estimator that planned
  the shift: Krumhansl–Kessler templates with partials on a chromagram without band
  edges, so a layer shifted n semitones reads n semitones away) as a Camelot code, and
  the distance between them on the wheel. Target ≤ 1. It catches a shift applied wrongly
  and a backing whose sections leave its key; a key the analysis misread would be
  misread here the same way (tests/engine/test_analysis.py holds the estimator to songs
  of known key, with and without partials, and shifted).
- Tuning offset: how far the backing's tuning sits from the lead song's, in cents
  (analysis.estimate_tuning on each layer, from the spectrum the key was read from; the
  difference folded into ±50 cents, since a whole semitone off is the key's business).
  Target ≤ 10 cents: a backing a third of a semitone sour in a perfect key is caught.
- Loudness and true peak of the mix (BS.1770 integrated LUFS; 4× oversampled peak).
- Longest silence inside the mix (below −50 dBFS in 50 ms windows, fades excluded).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import analysis
from .decode import load
from .master import true_peak_db

SILENCE_DB = -50.0
EDGE_SECONDS = 5.0  # fade-in and fade-out regions are meant to be quiet


@dataclass(frozen=True)
class QualityReport:
    beat_offset_ms: float | None
    keys: tuple[str, str]
    camelot_distance: int
    tuning_cents: float  # the backing's tuning minus the lead song's
    lufs: float
    true_peak_db: float
    longest_silence_s: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def passes(self) -> bool:
        return (
            self.beat_offset_ms is not None
            and self.beat_offset_ms <= 20
            and self.camelot_distance <= 1
            and abs(self.tuning_cents) <= 10
            and abs(self.lufs + 14) <= 1
            and self.true_peak_db <= -1.0
        )

    def as_text(self) -> str:
        beats = (
            "beats not measurable"
            if self.beat_offset_ms is None
            else f"beats aligned within {self.beat_offset_ms:.0f} ms"
        )
        return (
            f"{beats} · keys {self.keys[0]}/{self.keys[1]} "
            f"(Camelot distance {self.camelot_distance}, tunings "
            f"{abs(self.tuning_cents):.0f} cents apart) · "
            f"{self.lufs:.1f} LUFS · peak {self.true_peak_db:.1f} dBTP · "
            f"longest silence {self.longest_silence_s:.1f} s"
        )


def beat_offset_ms(a: np.ndarray, b: np.ndarray) -> float | None:
    """Median |offset| between the beats of two layers, each tracked on its own.

    ``a`` and ``b`` are mono at the analysis rate (``analysis.to_mono``). For each beat of
    the first layer, the nearest beat of the second within a quarter beat is its partner;
    beats without one (a break, a half-time passage) are left out.
    """
    first, bpm = analysis.refined_beats(a)
    second, _ = analysis.refined_beats(b)
    if len(first) < 4 or len(second) < 4:
        return None
    idx = np.clip(np.searchsorted(second, first), 1, len(second) - 1)
    nearest = np.minimum(np.abs(second[idx] - first), np.abs(second[idx - 1] - first))
    close = nearest[nearest <= 60 / bpm / 4]
    return float(np.median(close) * 1000) if len(close) >= 4 else None


def layer_key(mono: np.ndarray) -> tuple[str, float]:
    """(Camelot code, tuning in semitones) of a layer, from one average spectrum."""
    reading = analysis.key_reading(mono)
    return analysis.camelot(reading.tonic, reading.mode), reading.tuning


def longest_silence(mix: np.ndarray, sr: int) -> float:
    window = int(0.05 * sr)
    edge = int(EDGE_SECONDS * sr)
    inner = mix[:, edge : max(edge, mix.shape[1] - edge)]
    if inner.shape[1] < window:
        return 0.0
    frames = inner[:, : inner.shape[1] // window * window].reshape(inner.shape[0], -1, window)
    rms_db = 10 * np.log10((frames**2).mean(axis=(0, 2)) + 1e-12)
    longest = run = 0
    for quiet in rms_db < SILENCE_DB:
        run = run + 1 if quiet else 0
        longest = max(longest, run)
    return longest * window / sr


def measure_layers(
    layers: Mapping[str, np.ndarray],
    sr: int,
    mix: np.ndarray | None = None,
    *,
    loudness: tuple[float, float] | None = None,
    mix_sr: int | None = None,
) -> QualityReport:
    """``layers``: the reference (lead song on the mashup's timeline) and the backing first,
    stereo or mono, at ``sr``. ``loudness``: (LUFS, dBTP) of ``mix`` when the caller has
    just measured them. ``mix_sr``: the mix's rate when it differs from the layers'."""
    mix_sr = mix_sr or sr
    names = list(layers)
    a, b = (analysis.to_mono(layers[name], sr) for name in names[:2])
    if mix is None:
        mix = np.sum([layers[name] for name in names[:2]], axis=0)
    lufs, peak = loudness or (analysis.integrated_lufs(mix, mix_sr), true_peak_db(mix))
    (key_a, tuning_a), (key_b, tuning_b) = layer_key(a), layer_key(b)
    apart = (tuning_b - tuning_a + 0.5) % 1 - 0.5
    return QualityReport(
        beat_offset_ms=beat_offset_ms(a, b),
        keys=(key_a, key_b),
        camelot_distance=analysis.camelot_distance(key_a, key_b),
        tuning_cents=round(apart * 100, 1),
        lufs=lufs,
        true_peak_db=peak,
        longest_silence_s=longest_silence(mix, mix_sr),
    )


def measure_stems_dir(folder: Path, mix_path: Path | None = None) -> QualityReport:
    """Measure the stems a ``--stems`` run wrote: reference.wav and backing.wav."""
    sr = 44100
    layers = {name: load(folder / f"{name}.wav", sr) for name in ("reference", "backing")}
    mix = load(mix_path, sr) if mix_path else None
    return measure_layers(layers, sr, mix)
