"""Vocals and accompaniment, by signal processing (no neural weights are available here).

The rest of the engine sees only the ``Separator`` protocol (``separate(audio, sr) ->
Stems``), so a neural separator (Demucs, Open-Unmix, ...) can be dropped in later by
passing another object to ``make_mashup(separator=...)``; nothing else changes.

``SpectralSeparator`` multiplies four soft masks on one STFT. Each encodes one thing that
is true of lead vocals in produced music and mostly false of the accompaniment:

1. Centre: lead vocals are mixed to the middle. The phase-aware similarity
   2·Re(L·R*) / (|L|² + |R|²) is 1 where L = R and falls to 0 (or below) for wide sound:
   stereo reverbs, panned guitars, doubled or chorused synths. (The magnitude-only
   coherence 2|L·R*|/(...) of Avendano & Jot is 1 for any two equal magnitudes, even in
   antiphase, so it let every wide pad through.) Mono input carries no such cue: then
   this mask is 1 and the others do the work.
2. Harmonic: a voice is tonal over short spans, drums are broadband clicks. FitzGerald's
   median-filtering HPSS (2010): median along time (harmonic) against median along
   frequency (percussive), as a Wiener-style soft mask.
3. Moving: chords, pads and drones hold a pitch for bars; a voice moves (notes, vibrato,
   glides). What survives a median over ~1.6 s is steady, hence accompaniment (the idea
   of REPET and of FitzGerald's multi-resolution vocal HPSS, at a fraction of their cost).
4. Band: a voice lives between about 120 Hz and 8 kHz; bass and cymbals stay outside.

Vocals = mix × masks; accompaniment = mix − vocals, so the two always sum back to the
original: nothing is invented or lost, and leakage goes to one side or the other.

Which side should leakage go to? The lead song's band leaking into its own vocal layer
plays in its own tempo and key, which the other song was matched to; its voice leaking
into its accompaniment becomes a ghost singer under the other song's vocal. So the
strengths (centre power 4, a quarter of the steady part counted) lean towards keeping
voices whole. Measured (tests/engine/test_separation.py, and a lead guitar over its band
from fretsonfire-songs-sectoid, which has them as separate files): a synthetic sung line
lands ~14 dB more in the vocal layer than in the accompaniment, its drums and chords
~25 dB more in the accompaniment; the real, distorted lead guitar (not a voice: broad,
held notes) stays mostly in the accompaniment (−2 to −4 dB) while the band stays
10–13 dB more in the accompaniment. A neural separator would beat all of this.

Cost: the vocal band ends below 11 kHz, so the whole separation runs at 22.05 kHz (a
2048-point STFT there has the same 10.8 Hz bins as 4096 points at 44.1 kHz at half the
work and memory); only the vocal estimate is brought back to the song's rate, and the
accompaniment is the full-rate mix minus it, so cymbals and air keep their top octave.
The median filters hold the GIL (scipy.ndimage), so they run on magnitudes pooled 2× in
frequency and in time, which the masks' smoothness allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.signal

RATE = 22050
N_FFT = 2048
HOP = 512
VOCAL_BAND = (120.0, 8000.0)
MEDIAN = 9  # pooled cells: ~0.4 s along time, ~200 Hz along frequency
STEADY = 9  # cells of 4 hops (93 ms): 0.8 s either side, 1.6 s in all
STEADY_WEIGHT = 0.25  # how much of the steady part counts against the voice


@dataclass(frozen=True)
class Stems:
    vocals: np.ndarray  # (2, samples)
    accompaniment: np.ndarray  # (2, samples)


class Separator(Protocol):
    """Anything that splits a stereo mix (float32, (2, samples)) into two stems of its
    length at its rate; the engine needs nothing else from a separator."""

    def separate(self, audio: np.ndarray, sr: int) -> Stems: ...


WINDOW = scipy.signal.get_window("hann", N_FFT).astype(np.float32)


def _stft(x: np.ndarray) -> np.ndarray:
    """(bins, frames) complex64; frames start at -N_FFT/2 so every sample is covered."""
    padded = np.pad(x, (N_FFT // 2, N_FFT // 2 + HOP))
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP] * WINDOW
    return scipy.fft.rfft(frames, axis=1, workers=-1).T


def _istft(z: np.ndarray, length: int) -> np.ndarray:
    """Weighted overlap-add inverse of ``_stft``.

    Frames k, k+R, k+2R... (R = N_FFT/HOP) do not overlap and lie end to end, so each of the
    R groups is added with one contiguous slice: no scatter, no index arrays.
    """
    frames = scipy.fft.irfft(z.T, n=N_FFT, axis=1, workers=-1)
    frames *= WINDOW
    ratio = N_FFT // HOP
    total = (frames.shape[0] + ratio) * HOP + N_FFT
    out = np.zeros(total, dtype=np.float32)
    norm = np.zeros(total, dtype=np.float32)
    for k in range(ratio):
        group = frames[k::ratio]
        start = k * HOP
        out[start : start + group.size] += group.ravel()
        norm[start : start + group.size] += np.tile(WINDOW**2, group.shape[0])
    out /= np.maximum(norm, 1e-6)
    return out[N_FFT // 2 : N_FFT // 2 + length]


class SpectralSeparator:
    """Centre × harmonic × moving × band soft masks (see the module's notes)."""

    def __init__(self, centre_power: float = 4.0, harmonic_power: float = 2.0) -> None:
        self.centre_power = centre_power
        self.harmonic_power = harmonic_power

    def separate(self, audio: np.ndarray, sr: int) -> Stems:
        audio = np.atleast_2d(audio).astype(np.float32, copy=False)
        low = audio if sr == RATE else _resample(audio, sr, RATE)
        zl, zr = _stft(low[0]), _stft(low[-1])
        lo, hi, mask = self.vocal_mask(zl, zr)
        vocals_low = np.stack([_istft(_masked(z, lo, hi, mask), low.shape[1]) for z in (zl, zr)])
        del zl, zr, mask
        vocals = vocals_low if sr == RATE else _resample(vocals_low, RATE, sr)
        vocals = _fit(vocals, audio.shape[1])
        if audio.shape[0] == 1:
            vocals = vocals[:1]
        accompaniment = audio - vocals
        return Stems(vocals=_stereo(vocals), accompaniment=_stereo(accompaniment))

    def vocal_mask(self, zl: np.ndarray, zr: np.ndarray) -> tuple[int, int, np.ndarray]:
        """(first bin, last bin, mask over those bins): outside them the mask is 0."""
        freqs = np.fft.rfftfreq(N_FFT, 1 / RATE)
        lo = int(np.searchsorted(freqs, VOCAL_BAND[0] * 0.8))
        hi = int(np.searchsorted(freqs, VOCAL_BAND[1] * 1.1))
        bl, br = zl[lo:hi], zr[lo:hi]
        power = (bl.real**2 + bl.imag**2) + (br.real**2 + br.imag**2) + 1e-10
        similarity = np.maximum(2 * (bl.real * br.real + bl.imag * br.imag) / power, 0)
        # Smooth a little so single noisy bins don't flicker.
        centre = scipy.ndimage.uniform_filter(similarity, size=(3, 3)) ** self.centre_power
        band = ((freqs >= VOCAL_BAND[0]) & (freqs <= VOCAL_BAND[1])).astype(np.float32)
        band = scipy.ndimage.uniform_filter1d(band, 9)[lo:hi, None]  # soft edges
        mask = centre * self._tonal_mask(np.sqrt(power)) * band
        return lo, hi, mask.astype(np.float32)

    def _tonal_mask(self, mag: np.ndarray) -> np.ndarray:
        """Harmonic over a short span (HPSS) and not steady over a long one."""
        pooled = _pool(_pool(mag, 2, axis=0), 2, axis=1)
        h = scipy.ndimage.median_filter(pooled, size=(1, MEDIAN), mode="nearest")
        p = scipy.ndimage.median_filter(pooled, size=(MEDIAN, 1), mode="nearest")
        hp, pp = h**self.harmonic_power, p**self.harmonic_power
        soft = hp / (hp + pp + 1e-10)
        coarse = _pool(pooled, 2, axis=1)
        steady = STEADY_WEIGHT * scipy.ndimage.median_filter(
            coarse, size=(1, 2 * STEADY - 1), mode="nearest"
        )
        moving = np.maximum(coarse - steady, 0)
        soft *= _unpool(moving / (moving + steady + 1e-10), 2, soft.shape[1], axis=1)
        soft = _unpool(soft, 2, mag.shape[1], axis=1)
        return _unpool(soft, 2, mag.shape[0], axis=0)


def _masked(z: np.ndarray, lo: int, hi: int, mask: np.ndarray) -> np.ndarray:
    out = np.zeros_like(z)
    out[lo:hi] = z[lo:hi] * mask
    return out


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    g = np.gcd(src, dst)
    return scipy.signal.resample_poly(x, dst // g, src // g, axis=-1).astype(np.float32)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    return x[:, :n] if x.shape[1] >= n else np.pad(x, ((0, 0), (0, n - x.shape[1])))


def _stereo(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(x, 2, axis=0) if x.shape[0] == 1 else x[:2])


def _pool(x: np.ndarray, factor: int, *, axis: int) -> np.ndarray:
    """Mean over ``factor`` cells along ``axis`` (the masks vary slowly; this divides the
    cost of the median filters)."""
    x = np.moveaxis(x, axis, 0)
    n = x.shape[0] // factor * factor
    pooled = x[:n].reshape(-1, factor, *x.shape[1:]).mean(axis=1)
    if n < x.shape[0]:
        pooled = np.concatenate([pooled, x[n:].mean(axis=0, keepdims=True)])
    return np.moveaxis(pooled, 0, axis)


def _unpool(x: np.ndarray, factor: int, size: int, *, axis: int) -> np.ndarray:
    return np.take(np.repeat(x, factor, axis=axis), np.arange(size), axis=axis)
