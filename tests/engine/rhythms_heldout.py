"""A second groove generator, held out from the tempo reader's tuning (issue 8).

tests/engine/rhythms.py is what engine/tempo.py is tuned on; a rule that only fits its one
drum kit is not a result. This module plays the SAME categories with the SAME truth (its
``CATEGORIES``, ``Example`` and the truth conventions in its docstring: half-time at the
notated tempo, 6/8 at the dotted quarter, ...), but with sounds, parts and playing of its
own, so that the benchmark (``benchmarks/engine_accuracy.py --heldout``) can say whether a
change to the tempo reader generalises. Frozen: it was written and committed before the
tuning it judges, and is not to be adjusted to make a reading come out right.

What differs from rhythms.py (each example draws its own):
- Kit: kicks are sine sweeps from 70–260 Hz down to 38–75 Hz with pitch decays of 8–60 ms
  and body decays of 60–400 ms, with or without a click or overdrive; snares are
  band-passed noise in one of several bands (300 Hz–10 kHz) with a 140–300 Hz tone or
  none, or a rim shot; hats are band-passed noise or 808-style square-wave clusters;
  shakers (slow attack), tambourines, claps with other burst spacings, toms in the fills,
  chinas and crashes.
- Levels (each voice ±6 dB), the drums-to-band balance, a small room (convolution with
  decaying noise, 0.2–0.9 s), and a soft-clipping master of random drive.
- Playing: Gaussian jitter of 2–8 ms, a per-voice lean (a snare laid back up to 12 ms, a
  hat pushed up to 6 ms), light swing (≤ 0.3, still binary) in some straight and funk
  examples, fills every 4 or 8 bars (snare, toms or kick-snare), and several patterns per
  category within what its truth allows.
- Band: basses (sine-sub, picked, saw through a decaying low-pass, overdriven), chords
  (pad with a slow attack, short stabs, a decaying piano-like tone with stretched
  partials, an organ), power-chord chugs in metal, and in half of the examples a lead line
  on random subdivisions.

The waltz (3/4) was added later (December 2026), with its patterns written and committed
before the tempo reader was changed for triple metre, under the same rule.

Deterministic for a given seed. Arrays are float32 (2, samples) at 44.1 kHz.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from tests.engine.rhythms import CATEGORIES, SR, Example

ACCENT = {"X": 1.0, "x": 0.7, "o": 0.5, "g": 0.2}

# Patterns, one character per step (4 steps a beat, 3 in ternary categories); each voice
# lists alternatives, one chosen per example (a tuple inside: successive bars).
P = dict[str, list[tuple[str, ...]]]
PATTERNS: dict[str, P] = {
    "straight": {
        "kick": [
            ("X.......X.......",),
            ("X.......X.x.....", "X.......X......."),
            ("X......xX.......",),
            ("X.....x.X.......", "X.......X...x..."),
        ],
        "snare": [("....X.......X...",), ("....X.......X...", "....X.......X..g")],
        "top": [("x.o.x.o.x.o.x.o.",), ("x...x...x...x...",), ("xgogxgogxgogxgog",)],
        "tambourine": [("",), ("....x.......x...",)],
        "bass": [("x.o.x.o.x.o.x.o.",), ("x...x...x...x...",), ("x.......x...x...",)],
        "chords": [("x.......x.......",), ("x...............",), ("..o...o...o...o.",)],
    },
    "metal": {
        "kick": [("xxxxxxxxxxxxxxxx",), ("x.x.x.x.x.x.x.x.",), ("x.xxx.xxx.xxx.xx",)],
        "snare": [("....X.......X...",)],
        "top": [("X...x...x...x...",), ("x.x.x.x.x.x.x.x.",)],
        "bass": [("x.x.x.x.x.x.x.x.",), ("xxxxxxxxxxxxxxxx",)],
        "chords": [("X.x.x.x.X.x.x.x.",), ("X.xxX.xxX.xxX.xx",)],
    },
    "halftime": {
        "kick": [("X.....x.........",), ("X......x..x.....",), ("X.x.............",)],
        "snare": [("........X.......",)],
        "top": [("x.o.x.o.x.o.x.o.",), ("x.x.x.x.x.x.x.x.",)],
        "bass": [("X.....x.........",), ("X...............",)],
        "chords": [("X...............",)],
    },
    "four_on_floor": {
        "kick": [("X...X...X...X...",)],
        "snare": [("....x.......x...",), ("",)],
        "clap": [("....X.......X...",)],
        "open_hat": [("..x...x...x...x.",), ("..x...x...x...xx",)],
        "top": [("gogggogggogggogg",), ("",)],
        "shaker": [("",), ("xgogxgogxgogxgog",)],
        "bass": [("..X...X...X...X.",), (".xX..xX..xX..xX.",), ("x.Xxx.Xxx.Xxx.Xx",)],
        "chords": [("..x...x...x...x.",), ("x...............",)],
    },
    "shuffle": {
        "kick": [("X.....X.....",), ("X.....X.x...", "X.....X....."), ("X....xX.....",)],
        "snare": [("...X.....X..",), ("...X....gX..", "...X.....X..")],
        "top": [("x.ox.ox.ox.o",), ("xoox.ox.oxoo",), ("x..x..x..x..",)],
        "bass": [("x.ox.ox.ox.o",), ("x..x..x..x..",)],
        "chords": [("..o..o..o..o",), ("x.....x.....",)],
    },
    "six_eight": {
        "kick": [("X.....",), ("X.x...", "X....."), ("X....x",)],
        "snare": [("...X..",), ("...X..", "...X.g")],
        "top": [("xoox.o",), ("x.xx.x",), ("xooxoo",)],
        "bass": [("X..x..",), ("X.....",), ("X.xx..",)],
        "chords": [("X.....",)],
    },
    "twelve_eight": {
        "kick": [("X.....X.....",), ("X.....X..x..", "X.....X.....")],
        "snare": [("...X.....X..",), ("...X.....X.g",)],
        "top": [("xooxooxooxoo",), ("x.ox.ox.ox.o",)],
        "bass": [("x..x..x..x..",), ("x.ox.ox.ox.o",)],
        "chords": [("xooxooxooxoo",), ("x.....x.....",)],
    },
    "funk": {
        "kick": [
            ("X.x....x..X.....", "X.x.......X..x.."),
            ("X..x..x...X.....",),
            ("X.....xX..x..x..",),
        ],
        "snare": [("....X..g.g..X..g",), ("....X.g..g..X.g.",), ("....X...g..gX...",)],
        "top": [("xgogxgogxgogxgog",), ("x.o.x.o.x.o.x.o.",), ("xgogxgogxgogxgox",)],
        "bass": [("X..x..X.x.X..x..",), ("X.xx..X...X.x..x",), ("X..X.X..X..x.x..",)],
        "chords": [("....x.x.....x.x.",), (".x..x..x.x..x...",)],
    },
    "no_drums": {
        "bass": [("X.......X.......",), ("X...x...X...x...",)],
        "chords": [("X...............",), ("x...x...x...x...",), ("X.......x.......",)],
        "arpeggio": [("XxxxXxxxXxxxXxxx",), ("X.x.X.x.X.x.X.x.",), ("",)],
    },
    "waltz": {
        "kick": [("X...........",), ("X.......x...", "X..........."), ("X.....x.....",)],
        "snare": [("....x...x...",), ("........X...",), ("....o...X...",)],
        "top": [("x...o...o...",), ("x.o.x.o.x.o.",), ("xgogxgogxgog",), ("x..ox..ox..o",)],
        "bass": [("X...........",), ("X.......o...",), ("X...o...o...",)],
        "chords": [("....o...o...",), ("x...........",), ("x...o...o...",)],
    },
}
PROGRESSIONS = ((0, 5, 7, 0), (0, 9, 5, 7), (0, 10, 8, 7), (0, 3, 10, 5))


def groove(
    category: str, bpm: float, seconds: float = 30.0, *, seed: int = 0, sr: int = SR
) -> Example:
    """``seconds`` of ``category`` at ``bpm`` (truth as in rhythms.py's docstring)."""
    spec = CATEGORIES[category]
    rng = np.random.default_rng(
        [seed, 7919, int(round(bpm * 100)), list(CATEGORIES).index(category)]
    )
    beat = 60.0 / bpm
    bar = beat * spec.beats_per_bar
    steps = spec.beats_per_bar * spec.division
    first_downbeat = float(rng.uniform(0.05, 0.05 + bar))
    origin = first_downbeat - bar
    n = int(seconds * sr)
    pre = int(np.ceil((bar + 0.2) * sr))
    bars = int(np.ceil((seconds - origin) / bar)) + 1

    chosen: dict[str, tuple[str, ...]] = {}
    for voice, options in PATTERNS[category].items():
        chosen[voice] = options[int(rng.integers(len(options)))]
    if category == "straight" and bpm >= 150 and chosen["top"][0].count("g"):
        chosen["top"] = ("x.o.x.o.x.o.x.o.",)  # nobody plays 16th hats at 200
    swing = 0.0
    if category in ("straight", "funk") and rng.random() < 0.4:
        swing = float(rng.uniform(0.1, 0.3))  # light swing: still binary
    jitter = float(rng.uniform(2.0, 8.0))
    lean = {v: float(rng.uniform(-3, 12) if v == "snare" else rng.uniform(-6, 4)) for v in chosen}
    fill_every = int(rng.choice([4, 8]))
    fill_kind = str(rng.choice(["snare", "toms", "kick_snare"]))

    def when(b: int, step: float) -> float:
        position = step / spec.division
        if swing and spec.division == 4 and step % 4 == 2:
            position += swing / 6
        return origin + b * bar + position * beat

    def human(t: float, voice: str) -> float:
        dt = float(np.clip(rng.normal(0, jitter), -2.5 * jitter, 2.5 * jitter))
        return t + (dt + lean.get(voice, 0.0)) / 1e3

    events: dict[str, list[tuple[float, float]]] = {}
    drums = category != "no_drums"
    for b in range(bars):
        fill = drums and b % fill_every == fill_every - 1
        for voice, rows in chosen.items():
            row = rows[b % len(rows)]
            for step, mark in enumerate(row):
                if mark == ".":
                    continue
                if fill and voice in ("snare", "kick") and step >= steps - spec.division:
                    continue
                velocity = ACCENT[mark] * float(np.clip(rng.normal(1, 0.12), 0.6, 1.4))
                events.setdefault(voice, []).append((human(when(b, step), voice), velocity))
        if fill:
            voice = "snare" if fill_kind == "snare" else "tom"
            for k in range(spec.division):
                t = when(b, steps - spec.division + k)
                v = 0.45 + 0.5 * (k + 1) / spec.division
                if fill_kind == "kick_snare" and k % 2 == 0:
                    events.setdefault("kick", []).append((human(t, "kick"), v))
                else:
                    events.setdefault(voice, []).append((human(t, voice), v))
        if drums and (b == 0 or b % fill_every == 0):
            events.setdefault("crash", []).append((human(when(b, 0), "crash"), 1.0))

    kit = _kit(rng, sr, category)
    gains = {v: float(10 ** (rng.uniform(-6, 6) / 20)) for v in kit}
    pans = {v: float(rng.uniform(0.25, 0.75)) for v in kit}
    left = np.zeros(pre + n + sr, dtype=np.float64)
    right = np.zeros_like(left)
    hits: dict[str, np.ndarray] = {}
    for voice, placed in events.items():
        times = np.array(sorted(t for t, _ in placed))
        hits[voice] = times[(times >= 0) & (times < seconds)]
        if voice not in kit:
            continue
        for t, velocity in placed:
            sample = kit[voice][int(rng.integers(len(kit[voice])))]
            a = pre + int(round(t * sr))
            if not 0 <= a < len(left):
                continue
            piece = sample[: len(left) - a] * velocity * gains[voice] * LEVEL[voice]
            left[a : a + len(piece)] += piece * (1 - pans[voice])
            right[a : a + len(piece)] += piece * pans[voice]
    drums_mix = np.stack([left, right])[:, pre : pre + n]

    band = _band(rng, events, category, origin, bar, n, sr, seconds, beat)
    balance = float(10 ** (rng.uniform(-6, 6) / 20))
    drum_peak = np.abs(drums_mix).max()
    band_peak = np.abs(band).max()
    if drums and drum_peak > 0 and band_peak > 0:
        mix = drums_mix / drum_peak + balance * 0.7 * band[None, :] / band_peak
    else:
        mix = np.stack([band, band]) / (band_peak + 1e-9)
    mix = _room(rng, mix, sr)
    drive = float(rng.uniform(1.0, 3.0))
    mix = np.tanh(drive * mix / (np.abs(mix).max() + 1e-9)) / np.tanh(drive)
    mix *= 0.85 / (np.abs(mix).max() + 1e-9)

    beat_times = np.arange(first_downbeat - bar, seconds, beat)
    beat_times = beat_times[beat_times >= 0]
    return Example(
        category=category,
        audio=np.ascontiguousarray(mix, dtype=np.float32),
        bpm=float(bpm),
        beats_per_bar=spec.beats_per_bar,
        ternary=spec.ternary,
        beat_times=beat_times,
        downbeat_times=np.arange(first_downbeat, seconds, bar),
        hits=hits,
        seed=seed,
        sr=sr,
    )


LEVEL = {
    "kick": 1.0,
    "snare": 0.7,
    "clap": 0.55,
    "top": 0.2,
    "open_hat": 0.2,
    "shaker": 0.14,
    "tambourine": 0.2,
    "tom": 0.6,
    "crash": 0.2,
}


def _room(rng: np.random.Generator, mix: np.ndarray, sr: int) -> np.ndarray:
    rt = float(rng.uniform(0.2, 0.9))
    wet = float(rng.uniform(0.05, 0.3))
    s = np.arange(int(rt * sr)) / sr
    ir = rng.standard_normal((2, len(s))) * np.exp(-6.9 * s / rt)
    ir /= np.sqrt((ir**2).sum(axis=1, keepdims=True))
    tail = scipy.signal.fftconvolve(mix, ir, axes=1)[:, : mix.shape[1]]
    return mix + wet * tail * np.abs(mix).max() / (np.abs(tail).max() + 1e-9)


def _bandpass(x: np.ndarray, lo: float, hi: float, sr: int, order: int = 2) -> np.ndarray:
    sos = scipy.signal.butter(order, [lo, min(hi, 0.45 * sr)], "bandpass", fs=sr, output="sos")
    y = scipy.signal.sosfilt(sos, x)
    return y / (np.abs(y).max() + 1e-9)


def _kit(rng: np.random.Generator, sr: int, category: str) -> dict[str, list[np.ndarray]]:
    """Three takes of each voice, peak 1, with this example's own sound."""

    def t(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * sr)) / sr

    f_hi, f_lo = rng.uniform(70, 260), rng.uniform(38, 75)
    pitch_tau, body_tau = rng.uniform(0.008, 0.06), rng.uniform(0.06, 0.4)
    click = rng.uniform(0, 0.6)
    kick_drive = rng.uniform(1, 4) if category == "metal" or rng.random() < 0.3 else 1.0

    def kick() -> np.ndarray:
        s = t(min(1.0, 5 * body_tau))
        freq = f_lo + (f_hi - f_lo) * np.exp(-s / pitch_tau) * rng.uniform(0.95, 1.05)
        body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-s / body_tau)
        body = np.tanh(kick_drive * body)
        noise = _bandpass(rng.standard_normal(len(s)), 1500, 6000, sr) * np.exp(-s / 0.004)
        return body + click * noise

    snare_band = [(300, 2500), (800, 4000), (1500, 8000), (2500, 10000)][int(rng.integers(4))]
    snare_tone = rng.uniform(140, 300) if rng.random() < 0.7 else 0.0
    snare_tau = rng.uniform(0.04, 0.2)
    rim = rng.random() < 0.15

    def snare() -> np.ndarray:
        s = t(0.6)
        if rim:
            f = rng.uniform(900, 1800)
            return np.sin(2 * np.pi * f * s) * np.exp(-s / 0.015) + 0.3 * _bandpass(
                rng.standard_normal(len(s)), 2000, 8000, sr
            ) * np.exp(-s / 0.01)
        noise = _bandpass(rng.standard_normal(len(s)), *snare_band, sr) * np.exp(-s / snare_tau)
        tone = np.sin(2 * np.pi * snare_tone * s) * np.exp(-s / 0.05) if snare_tone else 0 * s
        return noise + rng.uniform(0.2, 0.8) * tone

    metallic = rng.random() < 0.4
    hat_band = (rng.uniform(5000, 8000), rng.uniform(10000, 16000))
    hat_tau = rng.uniform(0.012, 0.05)

    def hat(tau: float) -> np.ndarray:
        s = t(min(1.5, tau * 6))
        if metallic:
            fs = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0]) * rng.uniform(0.95, 1.05)
            x = np.sign(np.sin(2 * np.pi * fs[:, None] * s[None, :])).sum(axis=0)
        else:
            x = rng.standard_normal(len(s))
        return _bandpass(x, *hat_band, sr) * np.exp(-s / tau)

    def shaker() -> np.ndarray:
        s = t(0.12)
        env = np.minimum(1, s / 0.015) * np.exp(-np.maximum(s - 0.015, 0) / 0.03)
        return _bandpass(rng.standard_normal(len(s)), 4000, 9000, sr) * env

    def tambourine() -> np.ndarray:
        s = t(0.3)
        jingles = sum(np.sin(2 * np.pi * f * s) for f in rng.uniform(6000, 11000, 5)) * np.exp(
            -s / 0.08
        )
        return 0.5 * jingles / 5 + _bandpass(rng.standard_normal(len(s)), 5000, 12000, sr) * np.exp(
            -s / 0.06
        )

    spacing = rng.uniform(0.006, 0.015)

    def clap() -> np.ndarray:
        s = t(0.35)
        bursts = sum(
            np.exp(-np.maximum(s - d, 0) / 0.005) * (s >= d) for d in spacing * np.arange(4)
        )
        tail = np.exp(-np.maximum(s - 3 * spacing, 0) / rng.uniform(0.05, 0.15))
        return _bandpass(rng.standard_normal(len(s)), 700, 5000, sr) * np.maximum(
            bursts, 0.5 * tail
        )

    tom_f = rng.uniform(80, 220)

    def tom() -> np.ndarray:
        s = t(0.5)
        f = tom_f * rng.choice([1.0, 0.84, 0.7]) * (1 + 0.3 * np.exp(-s / 0.03))
        return np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-s / 0.15)

    def crash() -> np.ndarray:
        s = t(2.0)
        china = rng.random() < 0.3
        x = _bandpass(rng.standard_normal(len(s)), 3000 if china else 2000, 14000, sr)
        return x * np.exp(-s / (0.4 if china else 0.9))

    top_ride = category in ("metal", "twelve_eight") or rng.random() < 0.2

    def top() -> np.ndarray:
        if top_ride:
            s = t(1.0)
            bell = sum(np.sin(2 * np.pi * f * s) for f in rng.uniform(2500, 7000, 4))
            noise = _bandpass(rng.standard_normal(len(s)), 4000, 14000, sr)
            return (0.1 * bell + 0.5 * noise) * np.exp(-s / 0.3)
        return hat(hat_tau)

    makers = {
        "kick": kick,
        "snare": snare,
        "clap": clap,
        "top": top,
        "open_hat": lambda: hat(rng.uniform(0.12, 0.3)),
        "shaker": shaker,
        "tambourine": tambourine,
        "tom": tom,
        "crash": crash,
    }
    kit = {}
    for name, make in makers.items():
        takes = [np.asarray(make(), dtype=np.float64) for _ in range(3)]
        kit[name] = [x / (np.abs(x).max() + 1e-9) for x in takes]
    return kit


def _tone(rng: np.random.Generator, kind: str, midi: float, length: int, sr: int) -> np.ndarray:
    """One note of ``length`` samples in one of the band's timbres."""
    s = np.arange(length) / sr
    f = 440 * 2 ** ((midi - 69) / 12)
    release = np.clip((length - np.arange(length)) / (0.01 * sr), 0, 1)
    if kind == "sub":
        x = np.sin(2 * np.pi * f * s) + 0.3 * np.sin(4 * np.pi * f * s)
        env = np.minimum(1, s / 0.01) * np.exp(-s / 0.8)
    elif kind == "pick":
        x = sum(np.sin(2 * np.pi * k * f * s) * 0.6 ** (k - 1) for k in range(1, 9))
        env = np.minimum(1, s / 0.002) * np.exp(-s / 0.25)
    elif kind == "saw":
        cutoff = 200 + 2500 * np.exp(-s / 0.08)  # a low-pass closing on each note
        x = sum(np.sin(2 * np.pi * k * f * s) / k * (k * f < cutoff) for k in range(1, 30))
        env = np.minimum(1, s / 0.004) * np.exp(-s / 0.5)
    elif kind == "drive":
        x = np.tanh(3 * sum(np.sin(2 * np.pi * k * f * s) / k for k in range(1, 6)))
        env = np.minimum(1, s / 0.003) * np.exp(-s / 0.2)
    elif kind == "pad":
        x = sum(np.sin(2 * np.pi * k * f * (1 + 0.002 * (k % 2)) * s) / k for k in range(1, 6))
        env = np.minimum(1, s / rng.uniform(0.06, 0.2))
    elif kind == "stab":
        x = sum(np.sin(2 * np.pi * k * f * s) * 0.7**k for k in range(1, 8))
        env = np.minimum(1, s / 0.003) * np.exp(-s / 0.07)
    elif kind == "piano":
        x = sum(
            np.sin(2 * np.pi * k * f * np.sqrt(1 + 0.0004 * k * k) * s) * np.exp(-s * k / 1.5) / k
            for k in range(1, 9)
        )
        env = np.minimum(1, s / 0.002) * np.exp(-s / 1.2)
    else:  # organ
        x = sum(np.sin(2 * np.pi * m * f * s) for m in (0.5, 1, 2, 3)) / 4
        env = np.minimum(1, s / 0.015) * (1 + 0.1 * np.sin(2 * np.pi * 6 * s))
    return x * env * release


def _band(
    rng: np.random.Generator,
    events: dict[str, list[tuple[float, float]]],
    category: str,
    origin: float,
    bar: float,
    n: int,
    sr: int,
    seconds: float,
    beat: float,
) -> np.ndarray:
    """Bass, chords, arpeggio and perhaps a lead, mono, ``n`` samples from time 0."""
    tonic = int(rng.integers(12))
    roots = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    minor = rng.random() < 0.5
    chord_bars = 2 if CATEGORIES[category].beats_per_bar == 2 else 1

    def root_at(time: float) -> int:
        return int(roots[int((time - origin) // (bar * chord_bars)) % len(roots)])

    out = np.zeros(n + sr)
    bass_kind = str(
        rng.choice(["drive", "pick"] if category == "metal" else ["sub", "pick", "saw"])
    )
    if category == "metal":
        chord_kind = "drive"
    elif category == "no_drums":
        chord_kind = str(rng.choice(["piano", "organ", "pad"]))
    else:
        chord_kind = str(rng.choice(["pad", "stab", "piano", "organ"]))
    third = 3 if minor else 4
    voicings = {
        "bass": ((0,), 0.5),
        "chords": (((0, 7, 12) if category == "metal" else (0, third, 7)), 0.25),
        "arpeggio": ((0,), 0.2),
    }
    for voice, kind, octave in (
        ("bass", bass_kind, 36),
        ("chords", chord_kind, 52),
        ("arpeggio", "pick", 64),
    ):
        placed = sorted(events.get(voice, []))
        if not placed:
            continue
        steps, gain = voicings[voice]
        shape = (0, third, 7, 12)
        for i, (time, velocity) in enumerate(placed):
            end = placed[i + 1][0] if i + 1 < len(placed) else time + bar
            if voice == "chords" and kind in ("pad", "organ", "piano"):
                end = max(end, time + beat)
            a = int(round(time * sr))
            length = int(max(0.03, min(end - time, 2.5)) * sr)
            if a + length <= 0 or a >= n:
                continue
            for step in steps:
                midi = octave + tonic + root_at(time) + step
                if voice == "arpeggio":
                    midi += shape[i % 4]
                note = _tone(rng, kind, midi, length, sr) * velocity * gain
                lo = max(0, a)
                out[lo : a + length] += note[lo - a : len(out) - a][: a + length - lo]
    if rng.random() < 0.5:  # a lead line on random subdivisions
        scale = (0, 2, 3, 5, 7, 8, 10) if minor else (0, 2, 4, 5, 7, 9, 11)
        unit = beat / CATEGORIES[category].division
        time = origin + bar
        while time < seconds:
            length = unit * int(rng.choice([1, 2, 2, 3, 4, 6]))
            if rng.random() < 0.75:
                midi = 72 + tonic + scale[int(rng.integers(7))]
                a = int(round(time * sr))
                k = int(min(length, 1.0) * sr)
                out[a : a + k] += (_tone(rng, "pick", midi, k, sr) * 0.12)[: len(out) - a]
            time += length
    return out[:n]


def tempo_changes(
    category: str, tempi: tuple[float, ...], seconds: float = 30.0, *, seed: int = 0, sr: int = SR
) -> Example:
    """A song whose tempo changes on a bar line: ``groove`` at each of ``tempi`` in turn,
    each played from one of its downbeats for the whole bars that fit in ``seconds``, the
    next beginning where that bar ends (each a performance of its own, seeds ``seed``,
    ``seed`` + 1, ...). ``bpm`` is the first tempo."""
    audio, beats, downbeats, at = [], [], [], 0.0
    for k, bpm in enumerate(tempi):
        part = groove(category, bpm, seconds + 8 * 60.0 / bpm, seed=seed + k, sr=sr)
        bar = part.beats_per_bar * 60.0 / bpm
        first = float(part.downbeat_times[0])
        length = np.floor(seconds / bar) * bar
        audio.append(part.audio[:, round(first * sr) : round(first * sr) + round(length * sr)])
        inside = (part.beat_times >= first - 1e-6) & (part.beat_times < first + length - 1e-6)
        beats.append(at + part.beat_times[inside] - first)
        bars = (part.downbeat_times >= first - 1e-6) & (part.downbeat_times < first + length - 1e-6)
        downbeats.append(at + part.downbeat_times[bars] - first)
        at += audio[-1].shape[1] / sr
    return Example(
        category=category,
        audio=np.concatenate(audio, axis=1),
        bpm=tempi[0],
        beats_per_bar=CATEGORIES[category].beats_per_bar,
        ternary=bool(part.ternary),
        beat_times=np.concatenate(beats),
        downbeat_times=np.concatenate(downbeats),
        seed=seed,
        sr=sr,
    )
