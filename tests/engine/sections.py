"""Songs whose sections change their drum pattern, with known beats (issue 8).

Real rock changes its groove from section to section: a verse with the snare on 2 and 4, a
punk chorus with a kick on every beat and the snare on every "and", a disco bridge with
an open hat between the kicks. The beat stays where it was; only what is loud between
the beats changes. This is the material on which the beat tracker, which follows
whatever is loudest, moves half a beat at a section boundary and keeps the tempo right
(benchmarks/engine_accuracy.py shows it on fretsonfire-sectoid's charted recordings).
The grooves of rhythms.py and rhythms_heldout.py hold one pattern a song, so they cannot
show it.

Sounds, band, room and playing are rhythms_heldout's (a kit, bass, chords and lead drawn
per song); only the parts are this module's. Written before the tracker was changed to
hold one phase a song, and not adjusted since: it is a check of that change, not its
tuning set.

``song(bpm, seconds, seed=...)`` returns a rhythms.Example (category "sections", 4/4,
binary) whose ``beat_times`` and ``downbeat_times`` are the truth, and whose
``sections`` lists (start time, style) for each section. Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tests.engine import rhythms_heldout as held
from tests.engine.rhythms import SR, Example

STEPS = 16  # sixteenths in a 4/4 bar
# One character a sixteenth: X accent, x normal, o soft, . rest (rhythms_heldout.ACCENT).
STYLES: dict[str, dict[str, str]] = {
    "rock": {
        "kick": "X.......X.x.....",
        "snare": "....X.......X...",
        "top": "x.o.x.o.x.o.x.o.",
        "bass": "x.x.x.x.x.x.x.x.",
        "chords": "X.x.x.x.X.x.x.x.",
    },
    "skank": {  # punk: kick on the beats, snare and guitar upstrokes on every "and"
        "kick": "X...x...x...x...",
        "snare": "..X...X...X...X.",
        "top": "x...x...x...x...",
        "bass": "x.x.x.x.x.x.x.x.",
        "chords": "..X...X...X...X.",
    },
    "disco": {  # four on the floor, open hat and bass between the kicks
        "kick": "X...X...X...X...",
        "snare": "....x.......x...",
        "open_hat": "..X...X...X...X.",
        "bass": "..X...X...X...X.",
        "chords": "x.......x.......",
    },
}


@dataclass(frozen=True)
class SectionedExample(Example):
    sections: tuple[tuple[float, str], ...] = field(default=(), repr=False)


def song(
    bpm: float, seconds: float = 60.0, *, seed: int = 0, sr: int = SR, only: str | None = None
) -> SectionedExample:
    """``seconds`` at ``bpm`` in sections of 4 or 8 bars, each in one of STYLES (never the
    same twice running, and at least two styles in the song); ``only``: every section in
    that style."""
    if only is not None and only not in STYLES:
        raise ValueError(f"no style {only!r}: the styles are {', '.join(STYLES)}")
    rng = np.random.default_rng([seed, 4099, int(round(bpm * 100))])
    beat = 60.0 / bpm
    bar = 4 * beat
    first_downbeat = float(rng.uniform(0.05, 0.05 + bar))
    origin = first_downbeat - bar
    n = int(seconds * sr)
    bars = int(np.ceil((seconds - origin) / bar)) + 1

    names = list(STYLES)
    plan: list[str] = []
    sections: list[tuple[float, str]] = []
    style = only or names[int(rng.integers(len(names)))]
    while len(plan) < bars:
        length = int(rng.choice([4, 8]))
        if origin + len(plan) * bar < seconds:
            sections.append((max(0.0, origin + len(plan) * bar), style))
        plan += [style] * length
        style = only or str(rng.choice([s for s in names if s != style]))

    jitter = float(rng.uniform(2.0, 6.0))
    lean = {"snare": float(rng.uniform(-3, 10))}
    events: dict[str, list[tuple[float, float]]] = {}
    for b in range(bars):
        parts = STYLES[plan[b]]
        if b == 0 or plan[b] != plan[b - 1]:
            events.setdefault("crash", []).append((origin + b * bar, 1.0))
        for voice, row in parts.items():
            for step, mark in enumerate(row):
                if mark == ".":
                    continue
                t = origin + b * bar + step * beat / 4
                t += (float(np.clip(rng.normal(0, jitter), -2.5 * jitter, 2.5 * jitter))) / 1e3
                t += lean.get(voice, 0.0) / 1e3
                velocity = held.ACCENT[mark] * float(np.clip(rng.normal(1, 0.1), 0.7, 1.3))
                events.setdefault(voice, []).append((t, velocity))

    kit = held._kit(rng, sr, "straight")
    pre = int(np.ceil((bar + 0.2) * sr))
    mix = np.zeros((2, pre + n + sr))
    pans = {v: float(rng.uniform(0.3, 0.7)) for v in kit}
    hits: dict[str, np.ndarray] = {}
    for voice, placed in events.items():
        times = np.array(sorted(t for t, _ in placed))
        hits[voice] = times[(times >= 0) & (times < seconds)]
        if voice not in kit:  # the band's parts: played by _band below
            continue
        for t, velocity in placed:
            sample = kit[voice][int(rng.integers(len(kit[voice])))]
            a = pre + int(round(t * sr))
            if not 0 <= a < mix.shape[1]:
                continue
            piece = sample[: mix.shape[1] - a] * velocity * held.LEVEL[voice]
            mix[0, a : a + len(piece)] += piece * (1 - pans[voice])
            mix[1, a : a + len(piece)] += piece * pans[voice]
    drums = mix[:, pre : pre + n]
    band = held._band(rng, events, "straight", origin, bar, n, sr, seconds, beat)
    out = drums / (np.abs(drums).max() + 1e-9) + 0.6 * band[None, :] / (np.abs(band).max() + 1e-9)
    out = held._room(rng, out, sr)
    out *= 0.85 / (np.abs(out).max() + 1e-9)

    beat_times = np.arange(origin, seconds, beat)
    return SectionedExample(
        category="sections",
        audio=np.ascontiguousarray(out, dtype=np.float32),
        bpm=float(bpm),
        beats_per_bar=4,
        ternary=False,
        beat_times=beat_times[beat_times >= 0],
        downbeat_times=np.arange(first_downbeat, seconds, bar),
        hits=hits,
        seed=seed,
        sr=sr,
        sections=tuple(sections),
    )
