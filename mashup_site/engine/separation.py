"""Vocals and accompaniment, by signal processing (no neural weights are available here).

One small interface, ``Separator``, so that a neural separator can replace this one without
touching the rest. ``SpectralSeparator`` combines three soft masks on one STFT:

1. Centre: lead vocals are mixed to the middle. A bin's inter-channel coherence
   2|L·R*| / (|L|² + |R|²) is 1 for centre-panned sound and falls for wide sound
   (stereo reverbs, panned guitars, wide synths). Mono input gives no cue: mask = 1.
2. Harmonic: voices are sustained tones; drums are broadband clicks. Median filtering the
   magnitude along time (harmonic) and along frequency (percussive) gives the classic
   Fitzgerald HPSS soft mask, computed on a magnitude pooled 2× in time to halve its cost.
3. Band: a voice lives between about 120 Hz and 8 kHz; bass and cymbals stay outside.

Vocals = mix × product of masks; accompaniment = mix − vocals, so the two always sum back
to the original (nothing is invented or lost; leakage goes to one side or the other).
The STFT runs at 22.05 kHz on the sum of the masks' work, and the masks are upsampled onto
the full-rate STFT, which keeps the cost at a few seconds for a four-minute song.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.signal

N_FFT = 4096
HOP = 1024
VOCAL_BAND = (120.0, 8000.0)
MEDIAN = 17


@dataclass(frozen=True)
class Stems:
    vocals: np.ndarray  # (2, samples)
    accompaniment: np.ndarray  # (2, samples)


class Separator(Protocol):
    def separate(self, audio: np.ndarray, sr: int) -> Stems: ...


WINDOW = scipy.signal.get_window("hann", N_FFT).astype(np.float32)


def _stft(x: np.ndarray) -> np.ndarray:
    """(bins, frames) complex64; frames start at -N_FFT/2 so every sample is covered."""
    padded = np.pad(x, (N_FFT // 2, N_FFT // 2 + HOP))
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP] * WINDOW
    return scipy.fft.rfft(frames, axis=1, workers=-1).astype(np.complex64).T


def _istft(z: np.ndarray, length: int) -> np.ndarray:
    """Weighted overlap-add inverse of ``_stft``."""
    frames = scipy.fft.irfft(z.T, n=N_FFT, axis=1, workers=-1).astype(np.float32) * WINDOW
    total = (frames.shape[0] - 1) * HOP + N_FFT
    out = np.zeros(total, dtype=np.float32)
    norm = np.zeros(total, dtype=np.float32)
    for k in range(N_FFT // HOP):  # add frames in N_FFT/HOP interleaved groups, vectorised
        group = frames[k :: N_FFT // HOP]
        starts = (np.arange(group.shape[0]) * (N_FFT // HOP) + k) * HOP
        span = group.shape[0] * N_FFT
        idx = (starts[:, None] + np.arange(N_FFT)).ravel()
        if span:
            out[idx] += group.ravel()
            norm[idx] += np.tile(WINDOW**2, group.shape[0])
    out = out / np.maximum(norm, 1e-6)
    return out[N_FFT // 2 : N_FFT // 2 + length]


class SpectralSeparator:
    """Centre × harmonic × band soft masks (see the module's notes)."""

    def __init__(self, centre_power: float = 2.0, harmonic_power: float = 2.0) -> None:
        self.centre_power = centre_power
        self.harmonic_power = harmonic_power

    def separate(self, audio: np.ndarray, sr: int) -> Stems:
        left, right = audio[0], audio[-1]
        zl, zr = _stft(left), _stft(right)
        mask = self.vocal_mask(zl, zr, sr)
        vocals = np.stack([_istft(zl * mask, audio.shape[1]), _istft(zr * mask, audio.shape[1])])
        return Stems(vocals=vocals, accompaniment=(audio - vocals).astype(np.float32))

    def vocal_mask(self, zl: np.ndarray, zr: np.ndarray, sr: int) -> np.ndarray:
        freqs = np.fft.rfftfreq(N_FFT, 1 / sr)
        # Only the voice band needs a mask; outside it the mask is 0 (all accompaniment).
        lo = int(np.searchsorted(freqs, VOCAL_BAND[0] * 0.8))
        hi = int(np.searchsorted(freqs, VOCAL_BAND[1] * 1.1))
        bl, br = zl[lo:hi], zr[lo:hi]
        power = np.abs(bl) ** 2 + np.abs(br) ** 2 + 1e-10
        coherence = 2 * np.abs(bl * np.conj(br)) / power
        # Smooth the coherence a little so single noisy bins don't flicker.
        centre = scipy.ndimage.uniform_filter(coherence, size=(3, 3)) ** (self.centre_power * 4)
        harmonic = self._harmonic_mask(np.sqrt(power))
        band = ((freqs >= VOCAL_BAND[0]) & (freqs <= VOCAL_BAND[1])).astype(np.float32)
        band = scipy.ndimage.uniform_filter1d(band, 9)[lo:hi, None]  # soft edges
        mask = np.zeros(zl.shape, dtype=np.float32)
        mask[lo:hi] = centre * harmonic * band
        return mask

    def _harmonic_mask(self, mag: np.ndarray) -> np.ndarray:
        pooled = mag[:, : mag.shape[1] // 2 * 2].reshape(mag.shape[0], -1, 2).mean(axis=2)
        h = scipy.ndimage.median_filter(pooled, size=(1, MEDIAN // 2 + 1), mode="nearest")
        p = scipy.ndimage.median_filter(pooled, size=(MEDIAN, 1), mode="nearest")
        hp, pp = h**self.harmonic_power, p**self.harmonic_power
        soft = hp / (hp + pp + 1e-10)
        soft = np.repeat(soft, 2, axis=1)
        if soft.shape[1] < mag.shape[1]:
            soft = np.pad(soft, ((0, 0), (0, mag.shape[1] - soft.shape[1])), mode="edge")
        return soft[:, : mag.shape[1]]
