"""Laying one song's layer over the other's timeline, beat by beat.

The lead layer (vocals, or the leading song's accompaniment in instrumental mode) keeps its
own timing: it is the master clock. The backing is cut at its downbeats into segments of
whole bars (a song in three and one in four: of twelve beats, whole bars of both) and each
segment is time-stretched (Rubber Band through pedalboard) to exactly
the length of the lead's matching segment. A single global stretch would drift: a 0.2 %
tempo error is 0.4 s after three minutes. Inside a segment each backing beat is laid on its
lead beat (``segment_warp``: Rubber Band's stretch factor changes beat by beat), so the
error stays within one beat-tracker error (a few milliseconds) at every beat, not only at
the segment's ends. Stretched evenly (until December 2026), four bars of a tempo that moves
inside them (a drummer pushing and pulling, a grid run on over a silent intro) put the
beats between the ends tens of milliseconds off: a song laid over itself after 12 s of
silence measured 52 ms apart where its music began, and 0 four bars on; clicks pushed and
pulled ±3 % over four bars, 41 ms at the median (tests/engine/test_arrange.py: 1 ms now).
The beats laid are the tracker's smoothed (``steady_beats``: a quadratic through nine, so
its jitter averages out and a moving tempo stays): laid on the raw beats, bands recorded
to a click measured a little further from their charts than stretched evenly (the share
of beats within 20 ms 72 → 70 %), smoothed as they were (71 %). Where the two songs' beats
in a segment do not pair (1:1, or 2:1 either way), or one would be bent more than
BEAT_BEND from the segment's own stretch, the segment is stretched evenly, as before.
Measured (benchmarks/engine_accuracy.py --pairs, before → after): the sequenced pieces'
20 layings by their MIDI files' beats, share within 20 ms 75 → 76 % (11 closer by 1–5
points, 2 further by 2–3, 7 the same); the sectoid layings against their charts 72 → 71 %,
and by the onsets, with no grid, 75 → 74 % and 86 → 97 % of windows within 20 ms at 1:1;
the synthetic pairs as before. When the backing runs out, it loops from its first
downbeat, in whole bars. A song's silence before and after (``Analysis.sounding``) is no
part of it: a lead silent for its first 40 s had the backing play alone there, and as the
backing it had laid that silence under the other song's voice.

Why Rubber Band: it is the stretcher DJ and DAW software ships (phase-locked vocoder),
and pedalboard runs it without holding the GIL, so segments stretch at once on every core
(``stretch_backing``: both variants' segments share the threads). librosa's phase vocoder
smears transients and is several times slower.

The key shift is done the way Rubber Band's R2 engine does it internally (resample, let
the stretcher restore the duration), but once for the whole song with one polyphase
filter (pitch_resample): per segment inside Rubber Band it cost 40 % more
(1.7 against 1.2 CPU-seconds per minute of stereo). The tuning correction (matching: the
backing onto the lead's tuning, a fraction of a semitone) rides in the same resample:
the shift is any number of semitones, not only whole ones, at the same cost.

The accompaniment is stretched without formant preservation and with Rubber Band's R2
("faster") engine: formants matter for voices, which are never stretched, and R2 costs
about half of R3, which is what keeps a job within its time budget. The stretch stays
small (0.8–1.25, else the summary warns), where R2 and R3 are hard to tell apart.

R2 runs with its "smooth" transients (no phase resets), not the default "crisp": as
pedalboard drives it (offline, elastic), crisp R2 does not keep low tones' pitch. Measured
at a 4 % speed change: sines from 55 to 330 Hz come out 68 cents off, the speed ratio, as
on tape, with a 30 % amplitude warble; 440 Hz 7 cents; above ~800 Hz they are right.
A band's bass and low chords move 70 cents, War of freedom's bass (below 250 Hz) 30
cents at ×0.965 and 18 at ×1.036: a backing sour against the lead whatever the key and
tuning plans. "mixed" spares only 150 Hz–1 kHz. Smooth keeps every tone within 2 cents
at the same cost; its price is softer attacks (spectral-flux onsets ~20 % weaker than
crisp's on synthetic drums at ±4 %) with the beats still aligned within a few ms.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pedalboard
import scipy.ndimage
import scipy.signal

from .analysis import Analysis, TempoSpan
from .errors import EngineError
from .matching import Match
from .tempo import TEMPO_CHANGE

BEATS_PER_BAR = 4
# Seconds a bar may start after a song is first heard (or end before it is last heard)
# and still be the bar that holds its first (or last) sound (``_heard_bars``): a downbeat
# lies on its onset's peak, and decoding's high-pass (decode.subsonic_removed, forwards
# and back) is heard ~0.1 s before the first sound.
HEARD_SLACK = 0.2
CROSSFADE = 0.008  # seconds between stretched segments
# Inside a segment each beat is stretched onto the lead's, unless one would be bent more
# than this from the segment's even stretch: a beat grid that skipped or doubled a beat.
BEAT_BEND = 0.15
STEADY_BEATS = 9  # the beats a quadratic is drawn through to smooth each one (steady_beats)
FADE_IN, FADE_OUT = 1.5, 4.0
# Threads stretching segments: one per core this process may use, two at least (and at
# most 8). A backing hands them one segment more than there are threads, so a thread
# that finishes early finds the next waiting.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
STRETCHERS = max(2, min(8, CORES or 2))
IN_FLIGHT = STRETCHERS + 1


@dataclass(frozen=True)
class Timeline:
    start: float  # seconds into the lead song where the mashup starts
    end: float
    lead_grid: np.ndarray  # segment boundaries in the lead song (seconds)
    backing_grid: np.ndarray  # matching boundaries in the backing song (seconds)
    # Each song's beats (seconds, ``steady_beats``): inside a segment, the backing's beats
    # are laid on the lead's (``segment_warp``).
    lead_beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    backing_beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # A song's tempo changes (``Analysis.tempo_sections``): a segment across the change
    # bends its beats in a step, which ``segment_warp`` tells from a beat skipped or doubled.
    tempo_changes: bool = False


def _grid(
    downbeats: np.ndarray,
    beats: np.ndarray,
    duration: float,
    length: int = BEATS_PER_BAR,
    *,
    changes: bool = False,
) -> np.ndarray:
    """Bar starts, extrapolated at the bar period to cover the whole song."""
    marks = downbeats if len(downbeats) >= 2 else beats[::length]
    if len(marks) < 2:
        raise EngineError(
            "one of the songs holds fewer than two bars of beats at its tempo, so they cannot "
            "be aligned"
        )
    period = float(np.median(np.diff(marks)))
    # Where the tempo ``changes`` (``Analysis.tempo_sections``), run on at the period of the
    # bars nearest each end: a song at 100 BPM then 120 had its first bar 2.0 s long, the
    # period of most of its bars.
    first = last = period
    if changes:
        first, last = (float(np.median(np.diff(x))) for x in (marks[:5], marks[-5:]))
        first, last = (
            p if abs(np.log(p / period)) > TEMPO_CHANGE else period for p in (first, last)
        )
    before = np.arange(marks[0] - first, -1e-9, -first)[::-1]
    after = np.arange(marks[-1] + last, duration + last, last)
    return np.concatenate([before, marks, after])


def _bar_starts(song: Analysis, length: int) -> np.ndarray:
    """The song's downbeats, or where its bars would start were they ``length`` beats long
    (from its first downbeat on)."""
    downbeats = np.asarray(song.downbeats, dtype=float)
    if song.beats_per_bar == length or not len(downbeats):
        return downbeats
    beats = np.asarray(song.beats, dtype=float)
    return beats[int(np.searchsorted(beats, downbeats[0] - 1e-6)) :: length]


def _sections(
    lead: Analysis, backing: Analysis, match: Match, max_seconds: float, bars: int, length: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """(lead marks, backing marks) of sections of ``bars`` units of ``length`` beats, or
    of single units when not even one such section fits the cap; None when not one does."""
    grids = []
    for song in (lead, backing):
        starts = _bar_starts(song, length)
        short = len(starts) < 2 and len(np.asarray(song.beats)[::length]) < 2
        if short and length != BEATS_PER_BAR:
            return None  # shorter than two units: the caller tries fours
        grid = _grid(
            starts, np.asarray(song.beats), song.duration, length, changes=bool(song.tempo_sections)
        )
        grids.append(_heard_bars(grid[(grid >= 0) & (grid <= song.duration)], song))
    lead_bars, back_bars = grids
    for size in dict.fromkeys((bars, 1)):
        lead_step, back_step = segment_bars(match.ratio, size)
        lead_marks = lead_bars[::lead_step]
        lead_marks = lead_marks[lead_marks <= lead_marks[0] + max_seconds]
        back_marks = back_bars[::back_step]
        if len(lead_marks) >= 2 and len(back_marks) >= 2:
            return lead_marks, back_marks
    return None


def _heard_bars(grid: np.ndarray, song: Analysis) -> np.ndarray:
    """The bar starts of ``grid`` from the bar in which ``song`` is first heard to the
    first after it is last heard (``Analysis.sounding``): a song's silence before and
    after is laid under nothing and over nothing."""
    if song.sounding is None or not len(grid):
        return grid
    first, last = song.sounding
    before, after = grid[grid <= first + HEARD_SLACK], grid[grid >= last - HEARD_SLACK]
    lo = before[-1] if len(before) else grid[0]
    hi = after[0] if len(after) else grid[-1]
    return grid[(grid >= lo) & (grid <= hi)]


def segment_bars(ratio: float, bars: int) -> tuple[int, int]:
    """(lead bars, backing bars) per segment, so both hold whole bars at the matched tempo.

    ``ratio`` is backing tempo × ratio ≈ lead tempo (½, 1 or 2: matching.TEMPO_RATIOS): at
    2 the backing's beats are felt twice as slow, so ``bars`` lead bars take half as many
    backing bars (and one lead bar is half a backing bar: the segment takes two); at ½,
    twice as many.
    """
    step = max(1, round(ratio))  # lead bars that make whole backing bars
    lead = -(-bars // step) * step
    return lead, max(1, round(lead / ratio))


def plan(
    lead: Analysis, backing: Analysis, match: Match, max_seconds: float, bars: int = 4
) -> Timeline:
    """Segment boundaries in both songs, capped at ``max_seconds`` of mashup: sections of
    ``bars`` bars, or of single bars when not even one such section fits the cap.

    Two songs in three are cut bar on bar. A song in three and one in four are cut in
    twelve beats, whole bars of both, one such unit a section (a bar of three stretched
    over one of four would gallop, and cut in fours a waltz breaks mid-bar where sections
    join); songs too short for one unit are cut in fours, beat on beat."""
    mixed = lead.beats_per_bar != backing.beats_per_bar
    lengths = (math.lcm(lead.beats_per_bar, backing.beats_per_bar), BEATS_PER_BAR)
    for length in lengths if mixed else (lead.beats_per_bar,):
        size = max(1, round(bars * BEATS_PER_BAR / length)) if mixed else bars
        marks = _sections(lead, backing, match, max_seconds, size, length)
        if marks is not None:
            break
    else:
        raise EngineError("the songs are too short to line up even one section of bars")
    lead_marks, back_marks = marks
    sections = len(back_marks) - 1
    pairs = [
        (back_marks[i % sections], back_marks[i % sections + 1]) for i in range(len(lead_marks) - 1)
    ]
    return Timeline(
        start=float(lead_marks[0]),
        end=float(lead_marks[-1]),
        lead_grid=lead_marks,
        backing_grid=np.array(pairs),
        lead_beats=steady_beats(lead.beats, lead.tempo_sections),
        backing_beats=steady_beats(backing.beats, backing.tempo_sections),
        tempo_changes=bool(lead.tempo_sections or backing.tempo_sections),
    )


def pitch_resample(audio: np.ndarray, semitones: float) -> tuple[np.ndarray, float]:
    """(``audio`` resampled so it plays ``semitones`` higher at the same rate, its speed-up).

    This is how Rubber Band's R2 engine shifts pitch too (stretch, then resample), but done
    once per song with one polyphase filter instead of inside every segment's call.
    ``semitones`` may be fractional (a key shift plus a tuning correction): the ratio is a
    fraction with terms up to 1000, within a cent of 2^(semitones/12) (2^(3/12) ≈ 1169/983,
    0.01 cent off). Large terms cost nothing more: the polyphase filter spends 20 taps per
    output sample whatever they are.
    """
    if not semitones:
        return audio, 1.0
    ratio = Fraction(2 ** (semitones / 12)).limit_denominator(1000)
    up, down = ratio.denominator, ratio.numerator
    taps = scipy.signal.firwin(20 * max(up, down) + 1, 1 / max(up, down), window=("kaiser", 5.0))
    shifted = scipy.signal.resample_poly(audio, up, down, axis=-1, window=taps.astype(np.float32))
    return shifted.astype(np.float32, copy=False), float(ratio)


def stretch_backing(
    audio: np.ndarray,
    sr: int,
    timeline: Timeline,
    shift: float,
    order: list[int] | None = None,
    *,
    on_cpu: Callable[[float], None] | None = None,
) -> np.ndarray:
    """The backing laid onto the lead's segments (same length as the mashup), ``shift``
    semitones higher (``Match.semitones``: key shift and tuning correction).

    The segments are stretched on STRETCHERS threads shared by every job in the process,
    IN_FLIGHT of a backing's at a time: two variants' segments take turns, so both
    finish stretching together and master and encode side by side (one after the other,
    the second's mastering and encoding ran alone, a core idle); a variant left
    stretching alone has every thread. ``on_cpu`` is told the CPU seconds each segment
    took in its thread. Should this fail, the segments not yet begun are not."""
    total = int(round((timeline.end - timeline.start) * sr))
    out = np.zeros((2, total), dtype=np.float32)
    fade = int(CROSSFADE * sr)
    order = order or list(range(len(timeline.backing_grid)))
    # Pitch first, for the whole song: afterwards its time t lies at t / speed.
    source, speed = pitch_resample(audio, shift)
    in_flight: deque[tuple[int, Future[tuple[np.ndarray, float]]]] = deque()

    def lay_oldest() -> None:
        start, job = in_flight.popleft()
        stretched, cpu = job.result()
        if on_cpu:
            on_cpu(cpu)
        end = min(total, start + stretched.shape[1])
        out[:, start:end] += stretched[:, : end - start]

    try:
        for k in range(len(timeline.lead_grid) - 1):
            lead_ends = timeline.lead_grid[k : k + 2]
            backing_ends = timeline.backing_grid[order[k]]
            first, last = (int(t / speed * sr) for t in backing_ends)
            piece = source[:, first : last + fade]  # a view: copied in the stretching thread
            target = int(round((lead_ends[1] - lead_ends[0]) * sr)) + fade
            if piece.shape[1] < sr // 10 or target <= fade:
                continue
            backing_at, lead_at = segment_warp(timeline, lead_ends, backing_ends)
            factor: float | np.ndarray = (last + fade - first) / target
            if len(lead_at) > 2:
                knots = backing_at / speed * sr - first
                factor = _speeds(last + fade - first, knots, (lead_at - lead_ends[0]) * sr)
            start = int(round((lead_ends[0] - timeline.start) * sr))
            if len(in_flight) == IN_FLIGHT:
                lay_oldest()  # a few at a time: two variants' segments then take turns
            args = (piece, last + fade - first, sr, factor, target, fade)
            in_flight.append((start, _stretchers().submit(_stretch, *args)))
        while in_flight:
            lay_oldest()
    finally:
        for _, job in in_flight:  # left by a failure: what has not begun never will
            job.cancel()
    return out


def _stretch(
    piece: np.ndarray, length: int, sr: int, factor: float | np.ndarray, target: int, fade: int
) -> tuple[np.ndarray, float]:
    """(one segment ``length`` samples long (``piece`` padded with silence: at the song's
    very end its last crossfade is silence) stretched to ``target`` samples, faded in and
    out over ``fade``; the CPU seconds it took)."""
    cpu = time.thread_time()
    piece = np.pad(piece, ((0, 0), (0, length - piece.shape[1])))
    stretched = pedalboard.time_stretch(
        np.ascontiguousarray(piece),
        sr,
        stretch_factor=factor,
        high_quality=False,
        transient_mode="smooth",  # crisp detunes the bass (see the module's notes)
        preserve_formants=False,
    )
    stretched = _fit(stretched, target)
    _ramp(stretched, fade)
    return stretched, time.thread_time() - cpu


_POOL: ThreadPoolExecutor  # _new_pool's, below


def _stretchers() -> ThreadPoolExecutor:
    """The threads every segment is stretched on (Rubber Band does not hold the GIL):
    made with the module (a pool starts its threads when first given work), so two
    variants asking at once share one."""
    return _POOL


def _new_pool() -> None:
    global _POOL
    _POOL = ThreadPoolExecutor(max_workers=STRETCHERS, thread_name_prefix="stretch")


_new_pool()
# A process forked from one that stretched (a worker's child) inherits the pool but not
# its threads, and would wait for ever on work none of them takes: it makes its own.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_pool)


def steady_beats(beats: np.ndarray, sections: tuple[TempoSpan, ...] = ()) -> np.ndarray:
    """The beats with the tracker's jitter smoothed out and a moving tempo kept: each one
    where a quadratic through its STEADY_BEATS neighbours puts it (Savitzky–Golay), in
    each of a song's tempo ``sections`` apart (through a change of tempo, the quadratic
    put the beats either side of it up to a tenth of a beat off)."""
    beats = np.asarray(beats, dtype=float)
    cuts = np.searchsorted(beats, [x.start for x in sections[1:]])
    pieces = np.split(beats, cuts)
    return np.concatenate(
        [
            scipy.signal.savgol_filter(p, STEADY_BEATS, 2) if len(p) >= STEADY_BEATS else p
            for p in pieces
        ]
    )


def segment_warp(
    timeline: Timeline, lead: np.ndarray, backing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(backing times, lead times) where a segment's backing lands on the lead, linear
    between them: the segment's ends, and between them its beats laid on the lead's
    (``steady_beats``), every one where both songs hold as many, every second one of the
    song that holds twice as many. Only the ends (an even stretch) where the counts do not
    pair, or where a beat would be bent more than BEAT_BEND from the segment's own
    stretch (a grid that skipped or doubled a beat there)."""

    def inside(beats: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The beats between the segment's ends, a quarter of a beat clear of them (an
        end is a beat, or a bar mark run on past the song's tracked beats)."""
        clear = 0.25 * float(np.median(np.diff(beats))) if len(beats) > 1 else 0.0
        return beats[(beats > ends[0] + clear) & (beats < ends[1] - clear)]

    even = (np.asarray(backing, dtype=float), np.asarray(lead, dtype=float))
    lead_in, back_in = inside(timeline.lead_beats, lead), inside(timeline.backing_beats, backing)
    if len(lead_in) + 1 == 2 * (len(back_in) + 1):
        lead_in = lead_in[1::2]
    elif len(back_in) + 1 == 2 * (len(lead_in) + 1):
        back_in = back_in[1::2]
    if not len(lead_in) or len(lead_in) != len(back_in):
        return even
    knots = (
        np.concatenate([[backing[0]], back_in, [backing[1]]]),
        np.concatenate([[lead[0]], lead_in, [lead[1]]]),
    )
    bends = np.diff(knots[0]) / np.diff(knots[1]) / (np.ptp(even[0]) / np.ptp(even[1]))
    if timeline.tempo_changes and len(bends) >= 3:
        # Across a change of tempo the bends step (96 BPM then 120 against a steady 110:
        # +5 % for twelve beats, −16 % for four); a beat skipped or doubled stands out from
        # its neighbours.
        bends = bends / scipy.ndimage.median_filter(bends, size=5, mode="nearest")
    return even if np.any(np.abs(np.log(bends)) > np.log1p(BEAT_BEND)) else knots


def _speeds(length: int, knots: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """Rubber Band's stretch factor for each sample of a piece ``length`` long whose
    samples ``knots`` (its segment's start to its end) must land at output samples
    ``marks``: each beat at its own speed; the crossfade past the end at the last beat's."""
    counts = np.diff(np.round(knots).astype(int))
    speeds = np.repeat(np.diff(knots) / np.diff(marks), counts)[:length]
    return np.pad(speeds, (0, length - len(speeds)), mode="edge")


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[1] >= n:
        return x[:, :n]
    return np.pad(x, ((0, 0), (0, n - x.shape[1])))


def _ramp(x: np.ndarray, fade: int) -> None:
    if fade and x.shape[1] > 2 * fade:
        ramp = np.linspace(0, 1, fade, dtype=np.float32)
        x[:, :fade] *= ramp
        x[:, -fade:] *= ramp[::-1]


ENV_BLOCK = 256  # 5.8 ms at 44.1 kHz: the gain moves over 200 ms, so blocks are plenty


def envelope(x: np.ndarray, sr: int, seconds: float = 0.05) -> np.ndarray:
    """Mean |x| per ENV_BLOCK samples, smoothed over ``seconds`` (one value per block)."""
    n = x.shape[1] // ENV_BLOCK * ENV_BLOCK
    blocks = np.abs(x[:, :n]).reshape(x.shape[0], -1, ENV_BLOCK).mean(axis=(0, 2))
    return scipy.ndimage.uniform_filter1d(blocks, max(1, int(seconds * sr / ENV_BLOCK)))


def duck(backing: np.ndarray, lead: np.ndarray, sr: int, depth_db: float = 4.0) -> np.ndarray:
    """Lower the backing by up to ``depth_db`` where the lead is loud (sidechain ducking)."""
    env = envelope(lead, sr, 0.08)
    if not len(env):
        return backing
    env = env / (np.percentile(env, 95) + 1e-9)
    gain_db = -depth_db * np.clip(env, 0, 1)
    gain_db = scipy.ndimage.uniform_filter1d(gain_db, max(1, int(0.2 * sr / ENV_BLOCK)))
    centres = (np.arange(len(gain_db)) + 0.5) * ENV_BLOCK
    out = backing.astype(np.float32)  # a copy, filled a million samples at a time
    for a in range(0, out.shape[1], 1 << 20):
        at = np.arange(a, min(a + (1 << 20), out.shape[1]))
        out[:, at[0] : at[-1] + 1] *= (10 ** (np.interp(at, centres, gain_db) / 20)).astype(
            np.float32
        )
    return out


def fades(x: np.ndarray, sr: int, *, in_place: bool = False) -> np.ndarray:
    n_in, n_out = min(int(FADE_IN * sr), x.shape[1] // 4), min(int(FADE_OUT * sr), x.shape[1] // 3)
    x = x if in_place else x.copy()
    x[:, :n_in] *= np.linspace(0, 1, n_in, dtype=np.float32) ** 2
    x[:, x.shape[1] - n_out :] *= np.linspace(1, 0, n_out, dtype=np.float32) ** 2
    return x
