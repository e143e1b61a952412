"""Grooves with known tempo and metre: a drum kit, a bass line and chords, played by a
slightly human drummer, for the engine's tempo and metre to be judged on
(benchmarks/engine_accuracy.py, tests/engine/test_rhythms.py).

``groove(category, bpm, seconds, seed=...)`` returns an ``Example``: the audio (float32,
shape (2, samples), 44.1 kHz, like tests/signals.py) and its truth. Deterministic for a
given seed.

How it is played:
- Drums are synthesised per hit (a few variants of each voice, chosen at random): kick = a
  sine swept from ~160 Hz down to ~50 Hz with a noise click; snare = a noise burst and a
  ~185 Hz body; closed and open hi-hats = high-passed noise (20 ms / 200 ms); clap = three
  noise bursts 10 ms apart; ride = inharmonic partials and noise; crash on the first bar
  and after each fill. Bass, chords and arpeggio are ``instruments.note`` tones (partials,
  per-note attack and decay) in a random key, a chord per bar (per two bars in 6/8).
- Timing: every hit and note is off the grid by a Gaussian jitter (``jitter_ms``, 3 ms by
  default, clipped at 3σ); velocities vary by ~10 % around the pattern's accents and ghost
  notes. Every 8th bar ends with a fill (16ths, or triplets in a ternary feel).
- Phase: the audio is cut from a longer performance at a random point, so its first beat
  falls anywhere in the first beat period and its first downbeat anywhere in the first
  bar: neither is at 0.
- ``swing`` (binary categories): 0 plays straight eighths, 1 moves each off-beat eighth to
  the last triplet (a full shuffle); 16ths are not swung. A swing ≥ 0.5 makes the example
  ``ternary``.

What the truth means (the spec the engine is judged on):
- ``bpm``: the tempo a chart of the song would print, beats per minute of the beat
  listed below; ``beat_times``: the grid of those beats inside the audio (seconds, before
  jitter: the hits sit within a few ms of it); ``downbeat_times``: the first beat of each
  bar; ``beats_per_bar``: beats in a bar; ``ternary``: each beat divides in three (6/8,
  12/8, shuffle), not two.
- "straight": rock 4/4. Beat = quarter note. Kick on 1 and 3, snare on 2 and 4, hats on
  eighths. 4 beats a bar.
- "metal": 4/4 at 170–200. Beat = quarter note, where the snare's 2 and 4 fall. The double
  kick plays eighths or sixteenths (2× or 4× the beat), the ride or crash quarters, the
  bass and power chords chug eighths. 4 beats a bar.
- "halftime": 4/4, beat = the NOTATED quarter note. The snare plays only on 3, the kick on
  1 and the "and" of 2, so the backbeat comes once a bar and a listener may feel half the
  tempo; the hats play eighths of the notated tempo. Truth is the notated tempo; half of
  it is an octave error (Accuracy2, not Accuracy1). 4 beats a bar.
- "four_on_floor": house 4/4. Beat = quarter note = the kick, which plays every beat;
  claps on 2 and 4, open hats on the off-beat eighths, quiet closed hats on the other
  16ths, off-beat bass. 4 beats a bar.
- "shuffle": 4/4 with swung eighths (each beat in triplets, the eighths on the 1st and 3rd
  triplet). Beat = quarter note. Kick 1 and 3, snare 2 and 4. 4 beats a bar, ternary.
- "six_eight": 6/8. Beat = the DOTTED QUARTER: two beats a bar, each of three eighths, so
  the eighths run at 3 × ``bpm``. Kick on 1, snare on 4 (the second beat), hats on every
  eighth. 2 beats a bar, ternary. Reading the eighths is a 3× error, reading the bar ½×.
- "twelve_eight": 12/8 blues. Beat = the dotted quarter: four beats a bar, each of three
  eighths. Kick on beats 1 and 3, snare on 2 and 4, ride on every eighth. 4 beats a bar,
  ternary.
- "funk": 4/4, beat = quarter note. Snare on 2 and 4 with ghost notes on 16ths, a
  syncopated kick and bass on 16ths, hats on 16ths accented on the eighths. 4 beats a bar.
- "no_drums": 4/4, beat = quarter note, no drums at all: the bass plays the root on 1 and
  3, the chords change each bar, an arpeggio plays eighths accented on the beats.
  4 beats a bar.
- "waltz": 3/4, beat = quarter note, 3 beats a bar. A ballad's waltz: kick on 1 (and
  on 3 every other bar), snare on 3, hats on the quarters, bass on 1 and 3, a chord a
  bar. Its beats are unequal by nature (the 1 loud, the 2 a hat), the strong-weak
  pattern a grid at 3:2 also shows; reading the bar is a ⅓ error, reading 4:3 or 3:2 is
  off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tests import signals
from tests.engine import instruments

SR = signals.SR


@dataclass(frozen=True)
class Category:
    tempi: tuple[float, float]  # the natural range of ``bpm`` (the benchmark's grid)
    beats_per_bar: int
    division: int  # steps per beat in its patterns: 4 (16ths) or 3 (triplet eighths)
    ternary: bool


CATEGORIES: dict[str, Category] = {
    "straight": Category((60, 200), 4, 4, False),
    "metal": Category((170, 200), 4, 4, False),
    "halftime": Category((120, 170), 4, 4, False),
    "four_on_floor": Category((115, 135), 4, 4, False),
    "shuffle": Category((80, 140), 4, 3, True),
    "six_eight": Category((60, 110), 2, 3, True),
    "twelve_eight": Category((60, 95), 4, 3, True),
    "funk": Category((85, 125), 4, 4, False),
    "no_drums": Category((70, 150), 4, 4, False),
    "waltz": Category((90, 170), 3, 4, False),  # last: the seeds hold the others' index
}


@dataclass(frozen=True)
class Example:
    category: str
    audio: np.ndarray = field(repr=False)  # float32 (2, samples) at ``sr``
    bpm: float
    beats_per_bar: int
    ternary: bool
    beat_times: np.ndarray = field(repr=False)  # seconds
    downbeat_times: np.ndarray = field(repr=False)  # seconds
    # Onset times (seconds, jitter included) of each voice as placed: "kick", "snare", ...
    hits: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    seed: int = 0
    sr: int = SR

    @property
    def duration(self) -> float:
        return self.audio.shape[1] / self.sr


# Patterns: one character per step of a bar (``division`` steps a beat). X accent,
# x normal, g ghost note, . rest. A tuple holds alternatives for successive bars.
ACCENT = {"X": 1.0, "x": 0.7, "g": 0.22}

PATTERNS: dict[str, dict[str, tuple[str, ...]]] = {
    "straight": {
        "kick": ("X.......X.......", "X.......X.x....."),
        "snare": ("....X.......X...",),
        "hat": ("X.x.X.x.X.x.X.x.",),
        "bass": ("X.x.X.x.X.x.X.x.",),
        "chords": ("X.......X.......",),
    },
    "metal": {
        "kick": ("xxxxxxxxxxxxxxxx",),  # or eighths, chosen per example
        "snare": ("....X.......X...",),
        "ride": ("X...X...X...X...",),
        "bass": ("x.x.x.x.x.x.x.x.",),
        "chords": ("X.x.x.x.X.x.x.x.",),
    },
    "halftime": {
        "kick": ("X.....x.........", "X.....x...x....."),
        "snare": ("........X.......",),
        "hat": ("X.x.x.x.X.x.x.x.",),
        "bass": ("X.....x.........",),
        "chords": ("X...............",),
    },
    "four_on_floor": {
        "kick": ("X...X...X...X...",),
        "clap": ("....X.......X...",),
        "open_hat": ("..x...x...x...x.",),
        "hat": (".g.g.g.g.g.g.g.g",),
        "bass": ("..X...X...X...X.",),
        "chords": ("..x...x...x...x.",),
    },
    "shuffle": {
        "kick": ("X.....X.....", "X.....X.x..."),
        "snare": ("...X.....X..", "...X....gX.."),
        "hat": ("X.xX.xX.xX.x",),
        "bass": ("X.xX.xX.xX.x",),
        "chords": ("X.....X.....",),
    },
    "six_eight": {
        "kick": ("X.....", "X.x..."),
        "snare": ("...X..",),
        "hat": ("XxxXxx",),
        "bass": ("X..x..",),
        "chords": ("X.....",),
    },
    "twelve_eight": {
        "kick": ("X.....X.....", "X.....X..x.."),
        "snare": ("...X.....X..",),
        "ride": ("XxxXxxXxxXxx",),
        "bass": ("X.xX.xX.xX.x",),
        "chords": ("X.....X.....",),
    },
    "funk": {
        "kick": ("X.x....x..X.....", "X.x.......X..x.."),
        "snare": ("....X..g.g..X..g", "....X.g..g..X.g."),
        "hat": ("XgxgXgxgXgxgXgxg",),
        "bass": ("X..x..X.x.X..x..", "X.xx..X...X.x..x"),
        "chords": ("....x.x.....x.x.",),
    },
    "no_drums": {
        "bass": ("X.......X.......",),
        "chords": ("X...............",),
        "arpeggio": ("XxxxXxxxXxxxXxxx",),
    },
    "waltz": {
        "kick": ("X...........", "X.......x..."),
        "snare": ("........X...",),
        "hat": ("X...x...x...",),
        "bass": ("X.......x...",),
        "chords": ("X...........",),
    },
}

# Per voice: (left, right) gains, and for pitched voices the decay time constant (s).
PAN = {
    "kick": (0.9, 0.9),
    "snare": (0.8, 0.6),
    "clap": (0.6, 0.8),
    "hat": (0.35, 0.65),
    "open_hat": (0.3, 0.6),
    "ride": (0.6, 0.3),
    "crash": (0.5, 0.5),
}
LEVEL = {
    "kick": 0.9,
    "snare": 0.6,
    "clap": 0.5,
    "hat": 0.18,
    "open_hat": 0.16,
    "ride": 0.12,
    "crash": 0.15,
}
# Chord roots a bar each, semitones above the tonic: two major progressions, two minor.
PROGRESSIONS = ((0, 7, 9, 5), (0, 5, 7, 5), (0, 8, 3, 10), (0, 3, 5, 7))


def groove(
    category: str,
    bpm: float,
    seconds: float = 30.0,
    *,
    seed: int = 0,
    swing: float | None = None,
    jitter_ms: float = 3.0,
    sr: int = SR,
) -> Example:
    """``seconds`` of ``category`` (see the module's notes) at ``bpm`` beats a minute."""
    spec = CATEGORIES[category]
    rng = np.random.default_rng([seed, int(round(bpm * 100)), list(CATEGORIES).index(category)])
    beat = 60.0 / bpm
    bar = beat * spec.beats_per_bar
    swing = (1.0 if category == "shuffle" else 0.0) if swing is None else swing
    ternary = spec.ternary or swing >= 0.5
    # The audio starts at a random point of the performance, which began a bar earlier.
    first_downbeat = float(rng.uniform(0.05, 0.05 + bar))
    origin = first_downbeat - bar
    n = int(seconds * sr)
    pre = int(np.ceil((bar + 0.1) * sr))  # rendered before the cut, then dropped
    bars = int(np.ceil((seconds - origin) / bar)) + 1

    patterns = dict(PATTERNS[category])
    if category == "metal" and rng.random() < 0.5:
        patterns["kick"] = ("x.x.x.x.x.x.x.x.",)
    steps = spec.beats_per_bar * spec.division

    def when(b: int, step: float) -> float:
        """Nominal time of a step of bar ``b``, swung if asked."""
        position = step / spec.division
        if swing and spec.division == 4 and step % 2 == 0 and step % 4 == 2:
            position += swing / 6  # the off-beat eighth, 1/2 -> 2/3 of a beat at full swing
        return origin + b * bar + position * beat

    def human(t: float) -> float:
        return t + float(np.clip(rng.normal(0, jitter_ms), -3 * jitter_ms, 3 * jitter_ms)) / 1e3

    events: dict[str, list[tuple[float, float]]] = {}  # voice -> (time, velocity)
    for b in range(bars):
        fill = b % 8 == 7
        for voice, options in patterns.items():
            row = options[b % len(options)]
            for step, mark in enumerate(row):
                if mark == ".":
                    continue
                if fill and voice in ("snare", "kick") and step >= steps - spec.division:
                    continue  # the fill takes the bar's last beat
                velocity = ACCENT[mark] * float(np.clip(rng.normal(1, 0.1), 0.7, 1.3))
                events.setdefault(voice, []).append((human(when(b, step)), velocity))
        if fill and "snare" in patterns:
            for k in range(spec.division):
                t = when(b, steps - spec.division + k)
                events["snare"].append((human(t), 0.5 + 0.5 * (k + 1) / spec.division))
        if (b == 1 or b % 8 == 0) and category != "no_drums":
            events.setdefault("crash", []).append((human(when(b, 0)), 1.0))

    left = np.zeros(pre + n + sr, dtype=np.float32)
    right = np.zeros_like(left)
    kit = _kit(rng, sr)
    hits: dict[str, np.ndarray] = {}
    for voice, placed in events.items():
        times = np.array(sorted(t for t, _ in placed))
        hits[voice] = times[(times >= 0) & (times < seconds)]
        if voice in kit:
            for t, velocity in placed:
                sample = kit[voice][int(rng.integers(len(kit[voice])))]
                a = pre + int(round(t * sr))
                if not 0 <= a < len(left):
                    continue
                piece = sample[: len(left) - a] * (velocity * LEVEL[voice])
                left[a : a + len(piece)] += piece * PAN[voice][0]
                right[a : a + len(piece)] += piece * PAN[voice][1]

    tonic = int(rng.integers(12))
    progression = int(rng.integers(len(PROGRESSIONS)))
    roots = np.array(PROGRESSIONS[progression])
    chord_bars = 2 if spec.beats_per_bar == 2 else 1

    def root_at(t: float) -> int:
        return int(roots[int((t - origin) // (bar * chord_bars)) % len(roots)])

    third = 3 if progression >= 2 else 4  # the last two progressions are minor
    times_of = {v: sorted(events.get(v, [])) for v in ("bass", "chords", "arpeggio")}
    tone = np.zeros(n, dtype=np.float64)  # only the part that is kept
    if times_of["bass"]:
        walk = (0, 12, 7, 0) if category in ("funk", "shuffle", "twelve_eight") else (0,)
        notes = [
            (t, v, 36 + tonic + root_at(t) + walk[i % len(walk)])
            for i, (t, v) in enumerate(times_of["bass"])
        ]
        decay = 0.12 if category in ("metal", "funk") else 0.5
        tone += 0.35 * _line(notes, n, sr, decay=decay, partials=8, decay_k=0.6)
    chords = times_of["chords"]
    if chords:
        decay = {"metal": 0.1, "funk": 0.12, "four_on_floor": 0.15}.get(category, 0.9)
        steps_up = (0, 7, 12) if category == "metal" else (0, third, 7)
        for k, step in enumerate(steps_up):
            notes = [(t, v, 48 + tonic + root_at(t) + step) for t, v in chords]
            tone += 0.1 * _line(notes, n, sr, decay=decay, partials=6, offset=k * 0.004)
    if times_of["arpeggio"]:
        shape = (0, third, 7, 12)
        notes = [
            (t, v, 60 + tonic + root_at(t) + shape[i % 4])
            for i, (t, v) in enumerate(times_of["arpeggio"])
        ]
        tone += 0.12 * _line(notes, n, sr, decay=0.25, partials=6)
    audio = np.stack([left, right])[:, pre : pre + n] + tone.astype(np.float32)
    audio *= np.float32(0.8 / (np.abs(audio).max() + 1e-9))

    beat_times = np.arange(first_downbeat - bar, seconds, beat)
    beat_times = beat_times[beat_times >= 0]
    downbeats = np.arange(first_downbeat, seconds, bar)
    return Example(
        category=category,
        audio=np.ascontiguousarray(audio, dtype=np.float32),
        bpm=float(bpm),
        beats_per_bar=spec.beats_per_bar,
        ternary=ternary,
        beat_times=beat_times,
        downbeat_times=downbeats,
        hits=hits,
        seed=seed,
        sr=sr,
    )


def _line(
    notes: list[tuple[float, float, float]],
    n: int,
    sr: int,
    *,
    decay: float,
    partials: int,
    decay_k: float = 0.7,
    offset: float = 0.0,
) -> np.ndarray:
    """A monophonic line of (time s, velocity, MIDI) notes, each sounding until the next
    with a 5 ms attack, an exponential decay and a 10 ms release: ``n`` samples from the
    audio's time 0 (notes before it ring into it); ``offset`` strums it late by seconds."""
    starts = np.array([int(round((t + offset) * sr)) for t, _, _ in notes])
    velocity = np.array([v for _, v, _ in notes])
    midi = np.array([m for _, _, m in notes], dtype=np.float64)
    ends = np.append(starts[1:], max(n, starts[-1] + 1))
    i = np.arange(n)
    idx = np.searchsorted(starts, i, side="right") - 1
    sounding = idx >= 0
    idx = np.maximum(idx, 0)
    since = (i - starts[idx]) / sr
    left = (ends[idx] - i) / sr
    env = velocity[idx] * np.exp(-since / decay) * np.minimum(1.0, since / 0.005)
    env *= np.clip(left / 0.01, 0.0, 1.0) * sounding
    return instruments.note(midi[idx], sr, partials=partials, decay=decay_k) * env


def _kit(rng: np.random.Generator, sr: int) -> dict[str, list[np.ndarray]]:
    """Three takes of each drum voice, float32, peak about 1."""

    def t(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * sr)) / sr

    def highpass(x: np.ndarray, order: int) -> np.ndarray:
        for _ in range(order):
            x = np.diff(x, prepend=0.0)
        return x / (np.abs(x).max() + 1e-9)

    def kick() -> np.ndarray:
        s = t(0.35)
        freq = 48 + 110 * np.exp(-s / 0.025) * rng.uniform(0.9, 1.1)
        body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-s / 0.13)
        click = highpass(rng.standard_normal(len(s)), 1) * np.exp(-s / 0.002) * 0.5
        return body + click

    def snare() -> np.ndarray:
        s = t(0.25)
        noise = highpass(rng.standard_normal(len(s)), 1) * np.exp(-s / 0.07)
        f = rng.uniform(175, 195)
        body = (np.sin(2 * np.pi * f * s) + 0.5 * np.sin(2 * np.pi * 1.7 * f * s)) * np.exp(
            -s / 0.04
        )
        return 0.8 * noise + 0.6 * body

    def hat(length: float) -> np.ndarray:
        s = t(length * 5)
        return highpass(rng.standard_normal(len(s)), 3) * np.exp(-s / length)

    def clap() -> np.ndarray:
        s = t(0.25)
        bursts = sum(np.exp(-np.maximum(s - d, 0) / 0.004) * (s >= d) for d in (0, 0.01, 0.02))
        tail = np.exp(-np.maximum(s - 0.02, 0) / 0.07)
        return highpass(rng.standard_normal(len(s)), 1) * np.maximum(bursts, 0.6 * tail)

    def ride() -> np.ndarray:
        s = t(1.2)
        tones = sum(
            np.sin(2 * np.pi * f * rng.uniform(0.98, 1.02) * s + rng.uniform(0, 6))
            for f in (3120, 4390, 5210, 6870, 8030)
        )
        noise = highpass(rng.standard_normal(len(s)), 2)
        return (0.15 * tones + 0.5 * noise) * np.exp(-s / 0.35)

    def crash() -> np.ndarray:
        s = t(2.5)
        return highpass(rng.standard_normal(len(s)), 2) * np.exp(-s / 0.8)

    makers = {
        "kick": kick,
        "snare": snare,
        "hat": lambda: hat(0.02),
        "open_hat": lambda: hat(0.15),
        "clap": clap,
        "ride": ride,
        "crash": crash,
    }
    kit = {}
    for name, make in makers.items():
        takes = [make() for _ in range(3)]
        kit[name] = [(x / (np.abs(x).max() + 1e-9)).astype(np.float32) for x in takes]
    return kit
