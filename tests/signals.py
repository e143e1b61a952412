"""Synthetic music with known truth: tempo, key, and a centre-panned "voice".

Arrays are float32, shape (2, samples) at 44.1 kHz unless said otherwise. Deterministic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.signal
from pedalboard.io import AudioFile

SR = 44100
MAJOR_STEPS = (0, 4, 7)
MINOR_STEPS = (0, 3, 7)


def _t(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(seconds * sr)) / sr


def click_track(bpm: float, seconds: float, sr: int = SR, *, start: float = 0.25) -> np.ndarray:
    """Clicks on every beat; the downbeat (every 4th) is a low, louder thump."""
    return clicks_at(np.arange(start, seconds, 60 / bpm), seconds, sr)


def clicks_at(times: np.ndarray, seconds: float, sr: int = SR) -> np.ndarray:
    """``click_track``'s clicks at the given beat times (a tempo that moves)."""
    out = np.zeros(int(seconds * sr), dtype=np.float32)
    length = int(0.04 * sr)
    env = np.exp(-np.arange(length) / (0.008 * sr))
    for i, when in enumerate(times[times < seconds]):
        n = int(when * sr)
        freq, gain = (70, 1.0) if i % 4 == 0 else (1500, 0.5)
        piece = np.sin(2 * np.pi * freq * np.arange(length) / sr) * env * gain
        out[n : n + length] += piece[: len(out[n : n + length])]
    return np.stack([out, out])


def chord_progression(
    tonic: int, mode: str, bpm: float, seconds: float, sr: int = SR
) -> np.ndarray:
    """I–IV–V–I (major) or i–iv–v–i (minor) in the given key, a chord per bar, wide stereo."""
    steps = MAJOR_STEPS if mode == "major" else MINOR_STEPS
    t = _t(seconds, sr)
    bar = 4 * 60 / bpm
    roots = np.array([0, 5, 7, 0])[(t // bar).astype(int) % 4]
    left = np.zeros_like(t)
    right = np.zeros_like(t)
    for i, step in enumerate(steps):
        midi = 48 + tonic + roots + step
        freq = 440 * 2 ** ((midi - 69) / 12)
        phase = 2 * np.pi * np.cumsum(freq) / sr
        left += np.sin(phase + i) * 0.12
        right += np.sin(phase + 2.1 * i + 0.7) * 0.12
    return np.stack([left, right]).astype(np.float32)


def voice_like(
    seconds: float, sr: int = SR, *, f0: float = 261.63, mode: str = "major"
) -> np.ndarray:
    """A sung-like line from the tonic ``f0`` (Hz): notes of the key's triad and scale,
    5.5 Hz vibrato, vowel formants, a breath every four seconds."""
    t = _t(seconds, sr)
    third = 4 if mode == "major" else 3
    scale = np.array([0, 2, third, 7, third, 2, 0, 7])
    notes = scale[(t // 0.5).astype(int) % len(scale)]
    freq = f0 * 2 ** (notes / 12) * (1 + 0.012 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(freq) / sr
    formants = (700, 1200, 2600)
    out = np.zeros_like(t)
    for k in range(1, 12):
        harmonic_freq = freq * k
        weight = sum(np.exp(-(((harmonic_freq - f) / 250) ** 2)) for f in formants) + 0.3 / k
        out += np.sin(k * phase) * weight
    phrase = (np.sin(np.pi * (t % 4) / 4) > 0.15).astype(float)  # sing, breathe
    mono = (out / np.abs(out).max() * 0.2 * phrase).astype(np.float32)
    return np.stack([mono, mono])


def drum_loop(bpm: float, seconds: float, sr: int = SR, *, seed: int = 0) -> np.ndarray:
    """Kick on 1 and 3, snare on 2 and 4, hats on the offbeat eighths; panned wide."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    left = np.zeros(n, dtype=np.float32)
    right = np.zeros(n, dtype=np.float32)
    beat = 60 / bpm
    for i, when in enumerate(np.arange(0, seconds, beat / 2)):
        start = int(when * sr)
        if i % 4 == 0:
            length = int(0.15 * sr)
            hit = np.sin(2 * np.pi * 55 * np.arange(length) / sr) * np.exp(
                -np.arange(length) / (0.04 * sr)
            )
            pan = (0.8, 0.8)
        elif i % 4 == 2:
            length = int(0.12 * sr)
            hit = rng.standard_normal(length) * np.exp(-np.arange(length) / (0.03 * sr)) * 0.5
            pan = (0.9, 0.4)
        else:
            length = int(0.04 * sr)
            hit = rng.standard_normal(length) * np.exp(-np.arange(length) / (0.006 * sr)) * 0.2
            pan = (0.2, 0.8)
        end = min(n, start + length)
        left[start:end] += (hit[: end - start] * pan[0]).astype(np.float32)
        right[start:end] += (hit[: end - start] * pan[1]).astype(np.float32)
    return np.stack([left, right])


def offbeat_loop(bpm: float, seconds: float, sr: int = SR, *, seed: int = 0) -> np.ndarray:
    """A ska or punk skank: a quiet kick on each beat, a loud snare and an upstroke chord
    on each "and" (its loudest onsets are its off-beats)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float32)
    for i, when in enumerate(np.arange(0, seconds, 60 / bpm / 2)):
        start = int(when * sr)
        if i % 2 == 0:
            t = np.arange(int(0.15 * sr)) / sr
            hit = 0.3 * np.sin(2 * np.pi * 55 * t) * np.exp(-t / 0.04)
        else:
            t = np.arange(int(0.12 * sr)) / sr
            chord = sum(np.sin(2 * np.pi * f * t) for f in (196.0, 246.9, 293.7))
            hit = 0.5 * rng.standard_normal(len(t)) * np.exp(-t / 0.03)
            hit += 0.3 * chord * np.exp(-t / 0.08)
        end = min(n, start + len(hit))
        out[start:end] += hit[: end - start].astype(np.float32)
    return np.stack([out, out])


def song(
    bpm: float,
    tonic: int,
    mode: str,
    seconds: float,
    *,
    vocal: bool = True,
    f0: float | None = None,
    sr: int = SR,
) -> dict[str, np.ndarray]:
    """A little song and its true parts: {"mix", "vocals", "backing"}. The voice sings
    from ``f0``, the tonic in its register (default: the tonic above middle C)."""
    backing = drum_loop(bpm, seconds, sr) + chord_progression(tonic, mode, bpm, seconds, sr)
    f0 = f0 or 261.63 * 2 ** (tonic / 12)
    vocals = voice_like(seconds, sr, f0=f0, mode=mode) if vocal else np.zeros_like(backing)
    return {
        "mix": (backing + vocals).astype(np.float32),
        "vocals": vocals,
        "backing": backing.astype(np.float32),
    }


def pad(
    seconds: float, sr: int = SR, *, freqs: tuple[float, ...] = (220.0, 277.2, 329.6)
) -> np.ndarray:
    """A held chord with no onsets at all: a song without a beat."""
    t = _t(seconds, sr)
    mono = sum(np.sin(2 * np.pi * f * t) for f in freqs) * 0.15
    return np.stack([mono, mono]).astype(np.float32)


def hiss(seconds: float, sr: int = SR, *, hum: bool = False, seed: int = 0) -> np.ndarray:
    """Noise above 250 Hz (tape hiss, wind), with mains hum under it when ``hum``: flux
    everywhere and no beat."""
    rng = np.random.default_rng(seed)
    sos = scipy.signal.butter(8, 250, "highpass", fs=sr, output="sos")
    mono = scipy.signal.sosfilt(sos, rng.standard_normal(int(seconds * sr))) * 0.1
    if hum:
        t = _t(seconds, sr)
        mono += 0.05 * np.sin(2 * np.pi * 50 * t) + 0.02 * np.sin(2 * np.pi * 100 * t)
    return np.stack([mono, mono]).astype(np.float32)


def rumble(seconds: float, sr: int = SR, *, seed: int = 0, gusts: bool = False) -> np.ndarray:
    """Brown noise (its power falling 6 dB an octave: wind on a microphone, traffic, a
    room's air): few loud low bins, so its flux comes and goes, and no beat. With
    ``gusts``, its level swells and falls every few seconds, as wind does."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    hz = np.fft.rfftfreq(n, 1 / sr)
    hz[0] = hz[1]
    mono = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) / hz, n)
    if gusts:
        t = _t(seconds, sr)[:n]
        mono *= 0.2 + 0.8 * (0.5 + 0.5 * np.sin(2 * np.pi * t / (4 + seed) + seed))
    mono *= 0.3 / np.abs(mono).max()
    return np.stack([mono, mono]).astype(np.float32)


def wall_of_guitars(bpm: float, seconds: float, sr: int = SR, *, seed: int = 0) -> np.ndarray:
    """A band whose guitars never stop (loud noise above 250 Hz, as dense as distortion)
    over a quiet kick on every beat: onsets everywhere, the beat only in the low band."""
    n = int(seconds * sr)
    kick = np.zeros(n)
    length = int(0.25 * sr)
    k = np.arange(length) / sr
    hit = 0.1 * np.sin(2 * np.pi * (50 + 80 * np.exp(-30 * k)) * k) * np.exp(-12 * k)
    for when in np.arange(0.1, seconds, 60 / bpm):
        start = int(when * sr)
        end = min(n, start + length)
        kick[start:end] += hit[: end - start]
    return hiss(seconds, sr, seed=seed) * 3 + np.stack([kick, kick]).astype(np.float32)


def shifted(audio: np.ndarray, seconds: float, sr: int = SR) -> np.ndarray:
    """``audio`` delayed by ``seconds`` (silence in front, same length)."""
    n = int(round(seconds * sr))
    return np.pad(audio, ((0, 0), (n, 0)))[:, : audio.shape[1]]


def channel_later(audio: np.ndarray, seconds: float, sr: int = SR) -> np.ndarray:
    """A stereo ``audio`` (2, samples) with its right channel later by ``seconds`` (its
    left when negative), silence let in, same length: two microphones apart."""
    n = int(round(abs(seconds) * sr))
    k = 1 if seconds > 0 else 0
    out = audio.copy()
    out[k] = np.concatenate([np.zeros(n, audio.dtype), audio[k, : audio.shape[1] - n]])
    return out


def write_wav(path: Path, audio: np.ndarray, sr: int = SR) -> Path:
    """16-bit WAV of ``audio`` (channels, samples) at ``sr``; mono when one channel."""
    with AudioFile(str(path), "w", sr, audio.shape[0], bit_depth=16) as out:
        out.write(np.clip(audio, -1, 1).astype(np.float32))
    return path
