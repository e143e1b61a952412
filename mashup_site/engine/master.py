"""Mastering to streaming loudness: −14 LUFS integrated, true peak ≤ −1 dBTP, no clipping.

Gain to the target loudness; while the true peak (4× oversampled, ITU-R BS.1770 Annex 2)
is above −1 dBTP, a limiter (pedalboard's) lowers the crest factor by the excess and the
gain is set again. A last scale guarantees the ceiling if a pathological signal remains.
"""

from __future__ import annotations

import numpy as np
import pedalboard
import scipy.signal

from .analysis import integrated_lufs

TARGET_LUFS = -14.0
TRUE_PEAK_DB = -1.0


BLOCK = 4096


def true_peak_db(audio: np.ndarray) -> float:
    """4× oversampled peak. Inter-sample peaks exceed sample peaks by at most ~3 dB, so only
    blocks whose sample peak comes within 3.5 dB of the loudest sample are oversampled."""
    audio = np.atleast_2d(audio)
    n = audio.shape[1] // BLOCK * BLOCK
    peaks = (
        np.abs(audio[:, :n]).reshape(audio.shape[0], -1, BLOCK).max(axis=(0, 2))
        if n
        else np.zeros(0)
    )
    tail = np.abs(audio[:, n:]).max() if audio.shape[1] > n else 0.0
    loudest = max(float(peaks.max()) if len(peaks) else 0.0, float(tail))
    if loudest <= 0:
        return -240.0
    best = loudest
    for block in np.flatnonzero(peaks >= loudest * 10 ** (-3.5 / 20)):
        a, b = max(0, block * BLOCK - 64), min(audio.shape[1], (block + 1) * BLOCK + 64)
        up = scipy.signal.resample_poly(audio[:, a:b], 4, 1, axis=-1)
        best = max(best, float(np.abs(up).max()))
    if audio.shape[1] > n:
        up = scipy.signal.resample_poly(audio[:, max(0, n - 64) :], 4, 1, axis=-1)
        best = max(best, float(np.abs(up).max()))
    return float(20 * np.log10(best))


def _to_loudness(audio: np.ndarray, sr: int, target: float) -> np.ndarray:
    return (audio * 10 ** ((target - integrated_lufs(audio, sr)) / 20)).astype(np.float32)


def master(audio: np.ndarray, sr: int) -> tuple[np.ndarray, float, float]:
    """(mastered audio, integrated LUFS, true peak dBTP)."""
    out = _to_loudness(audio.astype(np.float32), sr, TARGET_LUFS)
    for _ in range(4):
        peak = true_peak_db(out)
        if peak <= TRUE_PEAK_DB - 0.2:
            break
        # pedalboard's (JUCE's) limiter adds make-up gain: peaks come out near 0 dBFS,
        # so only its crest-factor reduction matters; the level is set again after it.
        limiter = pedalboard.Limiter(threshold_db=-(peak - TRUE_PEAK_DB + 0.7), release_ms=120)
        out = _to_loudness(limiter(out, sr, reset=True), sr, TARGET_LUFS)
    peak = true_peak_db(out)
    if peak > TRUE_PEAK_DB - 0.1:
        out = (out * 10 ** ((TRUE_PEAK_DB - 0.15 - peak) / 20)).astype(np.float32)
        peak = true_peak_db(out)
    out = np.clip(out, -1.0, 1.0)
    return out, integrated_lufs(out, sr), peak
