"""Bringing two songs together: a tempo ratio and a key shift that cost the least.

- Tempo: only the relations DJs use: one to one, half time and double time (Kim et al.,
  ISMIR 2020, 1,557 real DJ mixes: tempi meet 1:1 or 2:1, changed only slightly). Of the
  ratios ½, 1, 2 applied to the accompaniment's tempo, the one closest to the vocal's
  tempo (in log terms) wins: the smallest stretch. Never 3:2: two songs layered three
  beats against two gallop against each other, and a grid laid 3:2 puts every other beat
  of the backing between the lead's. Past a clean stretch (CLEAN_STRETCH) the backing is
  still stretched at the least damaging of those relations, and the summary says so in
  words: how far, and which relation was taken instead.
- No beat: a song without a pulse (a pad, a drone, a spoken intro) is given a plain grid
  at the other song's tempo, so it is laid in by its own timing, unstretched, and the
  summary says so; aligning "beats" a tracker would invent in it would only warp it.
- Key: the accompaniment is shifted (never the voice, whose formants would turn
  chipmunk or giant) by the semitones in −3..+3 that bring the two Camelot codes closest,
  preferring the smallest shift among equals, downward before upward.
- No key: a song whose notes fit no key (drums, clicks or noise alone:
  ``Analysis.has_key``) has a key reading all the same, the key its chroma correlates
  with by chance; planned on, it moved the other song (a click track read "E flat minor,
  -37 cents" had a song in A minor shifted a semitone and retuned). Where either song has
  no key heard, the backing is neither shifted nor retuned, and the summary says why.
- Nearly tied key readings: a song's key is a reading, and real songs often give two or
  three within a few hundredths of correlation (War of freedom, a benchmark song: E major
  0.745, A major 0.701, F# minor 0.699; its quarters disagree on which is first). Every
  reading within KEY_MARGIN of a song's best is taken as plausible, weighted by its
  correlation, and the shift is the one with the least expected Camelot distance over
  both songs' plausible readings (ties as above). Under that song's voice, a backing
  landed exactly on E major would clash (two steps) with F# minor, should that be the
  song's key; one landed on A major is within a step of all three. With one plausible
  reading each, this is the plan above. ``Match.key_distance`` stays the distance between
  the two top readings after the shift.
- An unsure reading (key.UNCERTAIN) is planned like a sure one: for the readings within
  the margin, not its runner-ups. Until December 2026 it was planned for its top three
  readings whatever their margin (on the synthesised tuning seeds a misread piece's true
  key was always the second or third reading), but their correlations are nearly equal
  while the top reading is far more often right, so the plan that suits all three on
  average is a compromise that suits none: two songs both in C minor, the lead's reading
  unsure, had the backing moved up two semitones to D minor, a clash where nothing needed
  to move. Measured (benchmarks/engine_ears.py's key plans: every piece of a set laid over
  every other, the distance of their true keys after the planned shift; within one
  Camelot step / clashing at 3 or more, before → after): synthesised tuning seeds 64/14
  → 74/4 %, held-out seeds 76/1 → 77/1 %, openmsx 53/19 → 55/18 %, openmsx FluidR3 56/15
  → 61/9 %, MMA's accompaniments 75/2 → 77/0 %, Freedoom 67/13 → 71/9 %, Freedoom FluidR3
  64/19 → 67/20 %; then Simutrans, measured after the rest: 68/10 → 67/13 %, its FluidR3
  renders 77/8 → 77/6 %. Within one step rises on seven sets of nine, holds on one and
  falls a point on one; the clashes fall on six, hold on one and rise on two (Freedoom
  FluidR3 a point, Simutrans three). Also measured, on the first seven sets: the margin
  at 0.03 or 0.10 in place of 0.06, the plan without the notes' doubt, the top reading
  weighed twice, and the top reading alone: none better on every set; and on all nine,
  the runner-ups kept at a quarter or a tenth of their weight: Simutrans 69/10 %, but
  the tuning seeds 65/13 % and Freedoom 70/11 % (ties between shifts the top reading
  leaves open broken the runner-ups' way).
- Tried and not taken (December 2026): planning the shift on the songs' pitch-class
  profiles instead of their keys (the shift within ±3 whose upper chromas agree best, as
  AutoMashUpper's harmonic match does). Judged on the true notes (the MIDI files'
  or the synthesiser's pitch classes) of every pair of pieces of benchmarks/engine_ears.py's
  four sets: by the cosine of the two pieces' notes after the shift it wins everywhere
  (layings under 0.6: 12 → 0.3 % on the tuning seeds, 21 → 6 % on openmsx), but by the
  Camelot distance of their true keys after it the clashes (3 steps or more) rise from
  14 to 37 % (tuning seeds), 1 to 25 % (held-out seeds), 6 to 15 % (accompaniments), and a
  roughness measure (how often a note of one is a semitone from a note of the other)
  barely moves (0.097 → 0.095 on the tuning seeds, 0.100 → 0.093 on openmsx, 0.100 →
  0.102 on the accompaniments). The cosine rewards laying the two tonics together (a parallel key
  shares the tonic, fifth and fourth), the key distance the scale's notes: the measures
  disagree, and no plan wins on both. The key plan stays.
- Tuning: each song's offset from A440 (analysis.estimate_tuning: a band tuned to A=432
  Hz is 32 cents flat) is made up too: the backing moves by the key shift plus the lead's
  tuning minus its own, so a "perfect" key match is not left a third of a semitone sour.
  The key shift is planned on the keys as read in each song's own tuning, so the two add
  up whichever way a song close to a quarter tone between semitones was read (C +49
  cents and C# −49 cents are the same pitch). Corrections are whole cents; one under a
  cent is none (no resample is needed for it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .analysis import Analysis, camelot, camelot_distance
from .key import NEAR_TIE

TEMPO_RATIOS = (0.5, 1.0, 2.0)
MAX_SHIFT = 3
CLEAN_STRETCH = (0.8, 1.25)  # beyond this Rubber Band artefacts become audible
# Readings this close to a song's best are plausible. Measured: the top three of War of
# freedom lie within 0.046 and trade places between the song's quarters; the parallel
# major of a minor song with bright partials reads 0.07-0.08 under its key (Escape from
# chaosland, the synthetic C-minor band), and the analysis exists to tell those apart.
KEY_MARGIN = NEAR_TIE


@dataclass(frozen=True)
class Match:
    stretch: float  # accompaniment duration multiplier (>1 = slower)
    ratio: float  # the tempo relation chosen (1 = same tempo, 2 = double time, ...)
    shift: int  # semitones applied to the accompaniment for its key
    target_tempo: float
    # Camelot distance of the top key readings after the shift; None where a song has no
    # key heard (``Analysis.has_key``): there is nothing to compare.
    key_distance: int | None
    tuning: float = 0.0  # semitones added to ``shift`` to land on the lead's tuning
    warnings: tuple[str, ...] = ()

    @property
    def semitones(self) -> float:
        """The whole pitch move of the accompaniment: key shift plus tuning correction."""
        return self.shift + self.tuning


def choose_ratio(vocal_tempo: float, backing_tempo: float) -> tuple[float, float]:
    """(ratio, stretch): backing tempo × ratio is the felt tempo matched to the vocal."""
    best = min(TEMPO_RATIOS, key=lambda r: abs(math.log(vocal_tempo / (backing_tempo * r))))
    stretch = (backing_tempo * best) / vocal_tempo
    return best, stretch


def stretch_warning(lead_tempo: float, backing_tempo: float, ratio: float, stretch: float) -> str:
    """What a stretch past the clean range did, in words: how far, at which relation."""
    how = {
        0.5: "two backing beats to each lead beat",
        1.0: "beat for beat",
        2.0: "one backing beat to every two lead beats",
    }[ratio]
    if stretch < 1:
        words, change, clean = "sped up", 1 / stretch - 1, 1 / CLEAN_STRETCH[0] - 1
    else:
        words, change, clean = "slowed", 1 - 1 / stretch, 1 - 1 / CLEAN_STRETCH[1]
    # Just past the limit, whole percents would read "by 25%, past the 25%".
    by = f"{change:.0%}" if round(change * 100) != round(clean * 100) else f"{change:.1%}"
    return (
        f"the tempi ({lead_tempo:.0f} and {backing_tempo:.0f} BPM) are far apart: even at "
        f"the closest musical relation ({how}) the backing had to be {words} by "
        f"{by}, past the {clean:.0%} that sounds clean, so it may sound processed"
    )


def readings(song: Analysis) -> dict[tuple[int, str], float]:
    """The song's plausible keys, (tonic, mode) -> weight: those within KEY_MARGIN of its
    best correlation, weighted by their correlation, and the key of its notes when that
    puts the reading in doubt (``Analysis.key_doubted``), weighed as a reading within the
    margin, and the reading by chords and bass when the notes named the key
    (``key_by_chords``); the top reading alone (with that one, as likely) when the scores
    are unknown or too weak to weigh anything. A low confidence adds no runner-ups (see
    the module's notes: a plan hedged over them suits none of them)."""
    top = (song.tonic, song.mode)
    scores = {key: r for key, r in song.key_scores.items() if math.isfinite(r)}
    best = max(scores.values(), default=0.0)
    if best <= KEY_MARGIN:
        plausible = {top: 1.0}
    else:
        plausible = {key: r for key, r in scores.items() if r >= best - KEY_MARGIN}
        plausible.setdefault(top, best)
    if song.key_doubted and song.key_by_notes is not None:  # as plausible as a close one
        floor = plausible[top] - KEY_MARGIN if best > KEY_MARGIN else plausible[top]
        weight = scores.get(song.key_by_notes, 0.0)
        plausible[song.key_by_notes] = min(plausible[top], max(weight, floor))
    if song.key_by_chords is not None:  # the notes named the key: both are planned for
        plausible.setdefault(song.key_by_chords, plausible[top])
    return plausible


def choose_shift(vocal: Analysis, backing: Analysis) -> tuple[int, int]:
    """(semitones, Camelot distance of the top readings after it) for the backing: the
    shift with the least expected distance over both songs' plausible readings."""
    pairs = [
        (w_lead * w_back, camelot(*lead), back)
        for lead, w_lead in readings(vocal).items()
        for back, w_back in readings(backing).items()
    ]
    total = sum(weight for weight, _, _ in pairs)

    def expected(shift: int) -> float:
        cost = sum(
            weight * camelot_distance(lead, camelot((tonic + shift) % 12, mode))
            for weight, lead, (tonic, mode) in pairs
        )
        return round(cost / total, 9)  # equal plans tie, whatever the float rounding

    shift = min(range(-MAX_SHIFT, MAX_SHIFT + 1), key=lambda s: (expected(s), abs(s), s))
    shifted = camelot((backing.tonic + shift) % 12, backing.mode)
    return shift, camelot_distance(vocal.camelot, shifted)


def tuning_correction(vocal: Analysis, backing: Analysis) -> float:
    """Semitones (whole cents, −1..1) that move the backing from its tuning to the vocal's,
    on top of the key shift (see the module's notes)."""
    return round(vocal.tuning - backing.tuning, 2)


def plain_grid(song: Analysis, tempo: float, beats_per_bar: int = 4) -> Analysis:
    """``song`` with beats and downbeats on a regular grid at ``tempo`` from its start."""
    beats = np.arange(0.0, song.duration, 60.0 / tempo)
    return replace(
        song,
        tempo=tempo,
        beats=beats,
        downbeats=beats[::beats_per_bar],
        beats_per_bar=beats_per_bar,
    )


def common_grid(vocal: Analysis, backing: Analysis) -> tuple[Analysis, Analysis]:
    """Both songs with a beat grid to align on: a beatless one takes the other's tempo and
    bars."""
    if not vocal.has_beat:
        other = backing if backing.has_beat else plain_grid(backing, 120.0)
        vocal = plain_grid(vocal, other.tempo, other.beats_per_bar)
    if not backing.has_beat:
        backing = plain_grid(backing, vocal.tempo, vocal.beats_per_bar)
    return vocal, backing


def bar_words(beats_per_bar: int) -> str:
    return {3: "three", 4: "four"}.get(beats_per_bar, str(beats_per_bar))


def match(vocal: Analysis, backing: Analysis) -> Match:
    beatless = not (vocal.has_beat and backing.has_beat)
    vocal, backing = common_grid(vocal, backing)
    ratio, stretch = choose_ratio(vocal.tempo, backing.tempo)
    keyless = [which for which, song in (("lead", vocal), ("backing", backing)) if not song.has_key]
    shift, distance = choose_shift(vocal, backing) if not keyless else (0, None)
    warnings = []
    if keyless:
        where = "either song" if len(keyless) == 2 else f"the {keyless[0]}"
        warnings.append(
            f"no key was heard in {where} (its sounds fit no key: drums, speech or noise), so "
            "the backing is neither transposed nor retuned"
        )
    if beatless:
        warnings.append(
            "no steady beat was found in "
            + ("either song" if not (vocal.has_beat or backing.has_beat) else "one song")
            + ", so it is laid in by its own timing, without beat alignment"
        )
    if not CLEAN_STRETCH[0] <= stretch <= CLEAN_STRETCH[1]:
        warnings.append(stretch_warning(vocal.tempo, backing.tempo, ratio, stretch))
    if distance is not None and distance > 1:
        warnings.append(f"the keys are only loosely compatible (Camelot distance {distance})")
    if not beatless and vocal.ternary != backing.ternary:
        swung = "lead" if vocal.ternary else "backing"
        warnings.append(
            f"the {swung} has a ternary feel (a shuffle, 6/8 or 12/8) and the other song a "
            "straight one: their beats meet, but the notes between them will not"
        )
    if not beatless and vocal.beats_per_bar != backing.beats_per_bar:
        # a backing bar lasts beats_per_bar × ratio of the lead's beats
        meet = math.lcm(2 * vocal.beats_per_bar, round(2 * backing.beats_per_bar * ratio)) / 2
        warnings.append(
            f"the lead counts {bar_words(vocal.beats_per_bar)} beats a bar and the backing "
            f"{bar_words(backing.beats_per_bar)}: their beats meet, but their bar lines meet "
            f"only every {meet:g} of the lead's beats"
        )
    return Match(
        stretch=stretch,
        ratio=ratio,
        shift=shift,
        target_tempo=vocal.tempo,
        key_distance=distance,
        tuning=tuning_correction(vocal, backing) if not keyless else 0.0,
        warnings=tuple(warnings),
    )
