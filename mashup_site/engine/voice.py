"""How high a separated vocal sits: median fundamental frequency of its voiced frames.

A plain autocorrelation pitch tracker (40 ms frames at 11 kHz, 70–700 Hz) is enough to
tell a low male register (~100–160 Hz) from a high female one (~180–300 Hz); it serves
``vocalGender``, which only prefers one song's voice as the lead.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

RATE = 11025


def median_pitch(vocals: np.ndarray, sr: int) -> float | None:
    mono = scipy.signal.resample_poly(vocals.mean(axis=0), RATE, sr)
    frame = int(0.04 * RATE)
    hop = frame
    count = (len(mono) - frame) // hop
    if count <= 0:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(mono, frame)[::hop][:count]
    energy = (frames**2).mean(axis=1)
    voiced = frames[energy > np.percentile(energy, 60)]
    if not len(voiced):
        return None
    spectrum = np.fft.rfft(voiced * np.hanning(frame), n=2 * frame, axis=1)
    ac = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :frame]
    lo, hi = int(RATE / 700), int(RATE / 70)
    lags = lo + np.argmax(ac[:, lo:hi], axis=1)
    strength = ac[np.arange(len(ac)), lags] / (ac[:, 0] + 1e-12)
    good = lags[strength > 0.4]
    return float(np.median(RATE / good)) if len(good) else None
