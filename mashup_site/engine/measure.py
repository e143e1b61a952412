"""Measured quality of a finished mashup, from the layers it mixed (``--stems``).

- Layer offset (``layer_offset``): how far the backing layer sits from the lead song,
  measured WITHOUT any beat grid, so that it can catch what the engine's own beat
  tracking got wrong (a check that reuses the grid that aligned the layers would call a
  backing a third of a beat off "aligned": it was, to the wrong grid). The backing layer
  and the lead song's original (its full mix, on the mashup's timeline) each give an
  onset envelope (spectral flux, 5.8 ms hop); in windows of 6 s (a few bars at any usable
  tempo), stepping 3 s, the lag of the peak of their cross-correlation within ±0.2 s is
  that window's offset. Onsets of two different songs meet where their beats meet, so an
  aligned pair peaks at 0 and one a fraction of a beat off peaks there instead (any
  offset from 20 ms to 200 ms reads as itself; a whole eighth or beat off at slow tempi
  reads large, off-grid). Windows where either layer has no onsets (a break) are left
  out. Reported: the median |offset| in ms and the share of windows within 20 ms; under
  FEW_WINDOWS windows, that they are too few to be sure of. Target: median ≤ 20 ms.
  Half a beat off is its blind spot at 140 BPM and slower (tests/engine/test_measure.py,
  a strict xfail): half a beat lies past the reach, and the neighbouring eighth wins. Tried
  and not taken (stop 28): looking out to 0.35 s, a farther lag winning only where the
  onsets agree there 1.2 times better than within 0.2 s. Every synthetic pair half a beat
  off was caught and no synthetic pair laid right was called apart (both groove
  generators), the 20 sequenced layings read as before; but of four sectoid layings the
  charts put within 6-16 ms, two measured 152 and 93 ms apart (from 10 and 20): the
  offbeat guitars and hats of a band agree with the other song's beat as well as its
  drums do. ``engine_accuracy.py --pairs`` now lays the real pairs against their charts.
  Also tried (December 2026): each layer's own accent phase, its onsets folded on the
  lead's beats over the whole mashup, the two phases compared (a relative phase, so the
  grid's own phase does not enter). In the full band a four-on-the-floor's open hats
  outweigh its kicks (aligned layers measured half a beat apart); below 150 Hz a funk's
  syncopated kick and bass put its phase on the "and" (a funk groove laid right over a
  straight or four-on-the-floor one read half a beat off, and half a beat off read
  aligned). No layer's strongest onsets are reliably on its beat.
  Its other face (December 2026, a strict xfail too): layers laid right at 2:1 or 1:2,
  one of whose off-beats are as loud as its beats, or louder (a skank, a metal band's
  chugs), meet each other's notes as well or better half the faster beat over; the
  onsets cannot tell them from layers laid so, and call them apart. Two of the four
  sectoid layings of ``engine_accuracy.py --pairs`` (Feelings and Metal madness, 2 and
  10 ms apart by the charts) measure 155 and 187 ms (158 and 184 with each layer heard
  at the analysis level, stop 55), their lags of either sign, window by window; neither
  layer repeats itself at that lag as much as ``REPEATS`` (0.4 at most, with a few
  frames' tolerance too), so they are judged. Where half the faster beat is well within
  reach, the engine knows the case (``pipeline._half_a_beat``): it lays nothing again and
  tells the person the loudest notes sit half a beat apart (Feelings over Metal madness);
  past it (Metal madness over Feelings, 200 ms) it is told the layers may sound out of
  step, a false alarm, after laying it again on up to MAX_RELAYS other readings.
  Onsets that repeat evenly within that reach fool it: a lead with no drums whose
  arpeggio plays every sixteenth lines up with a rock backing as well a sixteenth over as
  on the beat, and its loudest notes decide; laid right, such pairs measured 122–167 ms
  apart (a sixteenth at 90–124 BPM) and the guard laid them again and called them out of
  step. So a window's offset is kept only where neither layer matches itself that far on
  (its onset autocorrelation at the lag, over that at 0, under REPEATS = 0.6; windows
  within 40 ms are always kept); where half the windows or more are left out so, the
  offset is "not judged" (``LayerOffset.repeats``), as for a swung layer over a straight
  one, and the guard tries the next reading without taking it (pipeline._lay). Measured
  on the groove generators' pairs (tests/engine/rhythms.py and rhythms_heldout.py, laid
  right, a quarter, a third and half a beat off): the sixteenth-note lead laid right is
  now not judged, and every drummed pair reads as before, half a beat off included
  (metal's double kick, which repeats every half beat at 0.54 and more, kept its
  accents). The price: such a lead laid a sixteenth or half a beat off is not judged
  either (it measured as far apart laid right). At 0.5 the held-out generator's rock
  lead over its drumless groove (90 BPM, one seed), still 168 ms "apart" laid right,
  would be not judged too, but metal half a beat off would go unjudged on the tuning
  generator; the two overlap, and 0.6 keeps every detection that was right.
- Rhythm match (``LayerOffset.rhythm``): layers can line up on a slower shared pulse and
  still run at a relation no musician would choose (4:3, 3:2: every third or fourth beat
  meets, the rest gallop), which no offset can see. The autocorrelation of each layer's
  onsets over lags of 0.15–3 s is its "beat spectrum"; layers at 1:1 or 2:1 share its
  peaks, layers at 4:3 or 3:2 do not. Their correlation: musical pairs measured 0.62–1.0
  (synthetic grooves of nine kinds and real band recordings, at 1:1 and 1:2), pairs at
  4:3, 3:2 and 2:3 0.15–0.42; below RHYTHM_MATCH the layers are not together.
- Stretches apart (``LayerOffset.apart``, stop 51): pooled over the mashup, the windows
  where the layers met outvoted those where they did not. A lead that changed tempo at
  0:30 over a backing that kept its own measured "8 ms apart (67 % of 18 windows within
  20 ms)": its second half's windows met by chance, at lags near 0 or anywhere, and half
  the mashup galloped unsaid. Each measured window is now also asked whether the layers
  keep together there: their beat spectra over the RHYTHM_WINDOW (12 s) around it agree
  (LOCAL_RHYTHM 0.25: 12 s of beat spectrum are noisier than a whole mashup's, which
  RHYTHM_MATCH judges) and their onsets correlate at least TOGETHER_R (0.15) at the
  window's lag. APART_RUN (4) windows in a row that do not (15 s of the mashup; a window
  not measured, a break or notes that repeat, neither ends a run nor counts in it) are a
  stretch apart: the layers are not aligned, and the page says from when to when. The
  offset and the rhythm match are then the rest of the mashup's (where the layers part,
  their lags are chance), or the whole's when they part throughout.
  Chosen on the engine's own layings of pairs whose beats are known, 51 laid right by
  their charts (sectoid's, openmsx's and Freedoom's pairs of ``engine_accuracy.py
  --pairs``, and both groove generators'), and on the same backings time-scaled against
  their leads: windows laid right measure r 0.16 and local rhythm 0.30 at their 1st
  percentile, and never four in a row fall under both floors (three at most); every
  time-scaled backing 4-20 % off was found apart on 298 of 304 layings, and at 4:3 on 96
  of 101. Looser floors call layings laid right apart: LOCAL_RHYTHM 0.3 or TOGETHER_R 0.2
  a sectoid laying (Escape from chaosland over Feelings, off on the whole already), 0.4 a
  Freedoom laying (romero over messag). A stretch shorter than 15 s, and a change whose
  two tempi meet every few beats (4:3 under a steady backing's fills), can go unnamed.
  Where the rest of the mashup is together, the beat is not read again for a stretch
  apart (``pipeline._lay``): no other reading of a whole song can follow a tempo one song
  changes alone.
- Key compatibility: each layer's key (analysis.estimate_key, the estimator that planned
  the shift: Krumhansl–Kessler templates with partials on a chromagram without band
  edges, so a layer shifted n semitones reads n semitones away) as a Camelot code, and
  the distance between them on the wheel. Target ≤ 1. It catches a shift applied wrongly
  and a backing whose sections leave its key; a key the analysis misread would be
  misread here the same way (tests/engine/test_analysis.py holds the estimator to songs
  of known key, with and without partials, and shifted). A layer with no key heard (its
  notes fit none, as a drum loop's: ``analysis.Analysis.has_key``) has nothing to
  compare: no distance and no tuning are reported for the pair, and it does not fail.
- Tuning offset: how far the backing's tuning sits from the lead song's, in cents
  (analysis.estimate_tuning on each layer, from the spectrum the key was read from; the
  difference folded into ±50 cents, since a whole semitone off is the key's business).
  Target ≤ 10 cents: a backing a third of a semitone sour in a perfect key is caught.
- Loudness and true peak of the mix (BS.1770 integrated LUFS; 4× oversampled peak).
- Longest silence inside the mix (below −50 dBFS in 50 ms windows, fades excluded).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.ndimage
import scipy.signal

from . import analysis
from .decode import load
from .master import true_peak_db
from .probe import format_duration

SILENCE_DB = -50.0
EDGE_SECONDS = 5.0  # fade-in and fade-out regions are meant to be quiet


OFFSET_WINDOW, OFFSET_STEP, OFFSET_REACH = 6.0, 3.0, 0.2  # seconds
# The farthest offset a window can measure, in ms (OFFSET_REACH in whole 5.8 ms frames): a
# lag found there means "this far or farther".
REACH_MS = (
    int(OFFSET_REACH * analysis.FINE_SR / analysis.FINE_HOP)
    * analysis.FINE_HOP
    / analysis.FINE_SR
    * 1000
)
ALIGNED_MS = 20.0
# Fewer windows with onsets in both layers than this (about 15 s of music) are too few to
# be sure of: "100 % of 2 windows within 20 ms" reads surer than two windows are.
FEW_WINDOWS = 4
# A window's offset is kept only where neither layer matches itself that far on as well
# as this (its autocorrelation at the lag over that at 0): past it, the cross-correlation
# peaks there because the notes repeat, not because the layers sit apart.
REPEATS = 0.6
RHYTHM_LAGS = (0.15, 3.0)  # seconds: from a fast sixteenth to a slow bar
RHYTHM_MATCH = 0.5
# Stretches apart (``LayerOffset.apart``): a window keeps together when the layers' beat
# spectra over RHYTHM_WINDOW seconds around it agree (LOCAL_RHYTHM) and their onsets
# correlate at least TOGETHER_R at the window's lag; APART_RUN windows in a row that do
# not (15 s of the mashup at the 3 s step) are a stretch a listener hears gallop.
RHYTHM_WINDOW, LOCAL_RHYTHM, TOGETHER_R, APART_RUN = 12.0, 0.25, 0.15, 4


@dataclass(frozen=True)
class LayerOffset:
    """The backing layer's offset from the lead song, per window and in summary."""

    median_ms: float | None  # median |offset| over the windows; None when none measured
    within_20ms: float  # share of the windows within ALIGNED_MS, 0..1
    windows: int
    offsets_ms: tuple[float, ...] = ()  # signed, per window (positive: the backing is late)
    rhythm: float | None = None  # how alike the layers' beat spectra are, −1..1
    # A swung (ternary) layer over a straight one: their offbeats fall a sixth of a beat
    # apart by nature, so the onsets measure them apart when they are laid right, and
    # together when a third of a beat off (sequenced pairs, benchmarks/engine_accuracy.py).
    feels_differ: bool = False
    # Most windows' offsets were lags at which a layer matches itself (``REPEATS``): notes
    # that run evenly at that spacing, a sixteenth-note arpeggio with no drums, line up
    # as well one note over as on the beat, so the offset found says nothing.
    repeats: bool = False
    # Stretches of the mashup (seconds from its start) where the layers' beats run at
    # different speeds: a tempo change one song makes and the other does not follow.
    apart: tuple[tuple[float, float], ...] = ()

    @property
    def rhythms_agree(self) -> bool:
        return self.rhythm is None or self.rhythm >= RHYTHM_MATCH

    @property
    def mostly_together(self) -> bool:
        """Most windows within 20 ms, at a musical tempo relation (stretches apart aside)."""
        if self.median_ms is None:
            return False
        close = self.median_ms <= ALIGNED_MS and self.within_20ms >= 0.5
        return close and self.rhythms_agree

    @property
    def aligned(self) -> bool:
        """Whether a listener would hear the layers as together: most windows within
        20 ms, at a musical tempo relation, and no stretch where their beats part. A pair
        that cannot be measured (no onsets in common, or feels that differ) counts as
        aligned: nothing is known to be off."""
        if self.median_ms is None or self.feels_differ:
            return True
        return self.mostly_together and not self.apart

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def as_text(self) -> str:
        if self.median_ms is None and not self.repeats:
            return "layer offset not measurable (too few onsets)"
        if self.feels_differ:  # the figure would mislead: it stays in as_dict
            return (
                "layer offset not judged: the onsets cannot tell where a swung or 6/8 song "
                "sits over a straight one"
            )
        if self.median_ms is None:  # self.repeats
            return (
                "layer offset not judged: a song's notes run so evenly that the onsets line "
                "up as well a note over as on the beat"
            )
        if self.windows < FEW_WINDOWS:
            text = (
                f"layers {self.median_ms:.0f} ms apart, measured on only {self.windows} "
                f"stretch{'es' * (self.windows != 1)} of {OFFSET_WINDOW:.0f} s where both "
                "have onsets: too few to be sure"
            )
        else:  # FEW_WINDOWS > 1: "windows", plural
            text = (
                f"layers {self.median_ms:.0f} ms apart ({self.within_20ms:.0%} of "
                f"{self.windows} windows within {ALIGNED_MS:.0f} ms)"
            )
        if not self.rhythms_agree:
            text += f", but their beats run at different rates (rhythm match {self.rhythm:.2f})"
        elif self.apart:
            text += f", but their beats run at different speeds from {self.where_apart()}"
        return text

    def where_apart(self) -> str:
        """ "0:31 to 0:58 and 1:35 to 2:05": the stretches apart, in the mashup's time."""
        spans = [f"{format_duration(a)} to {format_duration(b)}" for a, b in self.apart]
        return spans[0] if len(spans) == 1 else ", ".join(spans[:-1]) + " and " + spans[-1]


# A window has onsets when its flux peaks stand out (the layer heard at the analysis
# level): a held chord's flux wobbles by ten units or less (leakage, beating partials),
# a drum hit 40 dB under the layer's level still rises by 150;
# real band recordings peak at 3-4 times their median flux (dense, but accented).
ONSET_CONTRAST, ONSET_FLOOR = 2.0, 40.0


def onset_flux(mono: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(onset envelope, onsets present) of a layer at 5.8 ms: rectified spectral flux with
    slow swells removed and loud passages evened out, so the cross-correlation weighs
    onsets by where they are, not by how loud; and the raw flux, to tell a window with
    onsets from one without. The layer is heard at the analysis level where it plays, as
    analyse hears a song: the lead as given 40 dB under its backing read a backing 30 ms
    late as 23 ms, and ONSET_FLOOR would have meant another thing at every level."""
    raw = analysis.fine_onsets(analysis.at_analysis_level(mono)).astype(np.float64)
    flux = np.maximum(raw - scipy.ndimage.uniform_filter1d(raw, 64), 0.0)
    return flux / (scipy.ndimage.uniform_filter1d(flux, 512) + 1e-9), raw


def has_onsets(raw: np.ndarray) -> bool:
    top, middle = np.percentile(raw, [99, 50])
    return bool(top >= ONSET_FLOOR and top >= ONSET_CONTRAST * middle)


def layer_offset(reference: np.ndarray, backing: np.ndarray) -> LayerOffset:
    """The offset of ``backing`` from ``reference`` (both mono at the analysis rate, the
    same timeline), measured without a beat grid (see the module's notes)."""
    fps = analysis.FINE_SR / analysis.FINE_HOP
    a, raw_a = onset_flux(reference)
    b, raw_b = onset_flux(backing)
    n = min(len(a), len(b))
    window, step, reach = (int(x * fps) for x in (OFFSET_WINDOW, OFFSET_STEP, OFFSET_REACH))
    window = min(window, n - 2 * reach)  # a short mashup is one shorter window
    if window < 2 * fps:
        return LayerOffset(None, 0.0, 0)
    offsets, repeating = [], 0
    # Every window in turn: (start, end, together?), None where it was not measured.
    seen: list[tuple[int, int, bool | None]] = []
    for start in range(reach, n - window - reach + 1, step):
        end = start + window
        seen.append((start, end, None))
        if not (has_onsets(raw_a[start:end]) and has_onsets(raw_b[start:end])):
            continue
        lag = _window_lag(a[start:end], b[start - reach : end + reach], reach)
        if lag is None:
            continue
        if (
            abs(lag) / fps * 1000 >= 2 * ALIGNED_MS
            and max(_repeats(a[start:end], lag), _repeats(b[start:end], lag)) >= REPEATS
        ):
            repeating += 1  # a layer matches itself that far on: no telling it from 0
            continue
        offsets.append((start, lag / fps * 1000))
        seen[-1] = (start, end, _together(a[:n], b[:n], start, end, lag, fps))
    if repeating and repeating >= len(offsets):
        return LayerOffset(None, 0.0, 0, repeats=True)
    if not offsets:
        return LayerOffset(None, 0.0, 0)
    runs = _runs_apart(seen)
    # Where the layers part, their windows' lags are chance: the offset and the rhythm are
    # those of the rest of the mashup (all of it when the layers part throughout).
    outside = [lag for at, lag in offsets if not any(lo <= at <= last for lo, last, _ in runs)]
    kept = np.array(outside or [lag for _, lag in offsets])
    keep = np.ones(n, dtype=bool)
    for lo, _, hi in runs:
        keep[lo:hi] = False
    if not outside:
        keep[:] = True
    magnitudes = np.abs(kept)
    last = len(seen) - 1
    return LayerOffset(
        median_ms=round(float(np.median(magnitudes)), 1),
        within_20ms=round(float(np.mean(magnitudes <= ALIGNED_MS)), 3),
        windows=len(kept),
        offsets_ms=tuple(round(float(x), 1) for x in kept),
        rhythm=rhythm_match(a[:n][keep], b[:n][keep], fps),
        apart=tuple(
            (
                0.0 if lo == seen[0][0] else round(lo / fps, 1),
                round(n / fps, 1) if hi == seen[last][1] else round(hi / fps, 1),
            )
            for lo, _, hi in runs
        ),
    )


def _together(
    a: np.ndarray, b: np.ndarray, start: int, end: int, lag: float, fps: float
) -> bool | None:
    """Whether the layers keep together in the window ``start:end`` (frames) whose
    onsets met best ``lag`` frames apart: their beat spectra around it agree (they run at
    one speed, or one twice the other) and their onsets there correlate (they meet on
    more than chance). None: a layer has no onsets to correlate there."""
    k = int(round(lag))
    if k >= 0:
        x, y = a[start : end - k], b[start + k : end]
    else:
        x, y = a[start - k : end], b[start : end + k]
    if x.std() == 0 or y.std() == 0:
        return None
    if float(np.corrcoef(x, y)[0, 1]) < TOGETHER_R:
        return False
    middle, half = (start + end) // 2, int(RHYTHM_WINDOW * fps / 2)
    lo, hi = max(0, middle - half), min(len(a), middle + half)
    rhythm = rhythm_match(a[lo:hi], b[lo:hi], fps)
    return rhythm is None or not np.isfinite(rhythm) or rhythm >= LOCAL_RHYTHM


def _runs_apart(seen: list[tuple[int, int, bool | None]]) -> list[tuple[int, int, int]]:
    """(first window's start, last window's start, last window's end), in frames, of each
    run of windows where the layers did not keep together, APART_RUN of them or more,
    ended only by a window where they did: a window not measured (a break, notes that
    repeat) neither ends a run nor counts in it."""
    runs: list[tuple[int, int, int]] = []
    current: list[tuple[int, int]] = []
    for start, end, together in [*seen, (0, 0, True)]:
        if together is False:
            current.append((start, end))
        elif together:
            if len(current) >= APART_RUN:
                runs.append((current[0][0], current[-1][0], current[-1][1]))
            current = []
    return runs


def rhythm_match(a: np.ndarray, b: np.ndarray, fps: float) -> float | None:
    """Correlation of two onset envelopes' beat spectra (see the module's notes)."""
    lo, hi = (int(x * fps) for x in RHYTHM_LAGS)
    if len(a) < 2 * hi:
        return None
    spectra = []
    for x in (a, b):
        x = x - x.mean()
        ac = scipy.signal.fftconvolve(x, x[::-1], mode="full")[len(x) - 1 :]
        if ac[0] <= 0:
            return None
        spectra.append(ac[lo:hi] / ac[0])
    return round(float(np.corrcoef(*spectra)[0, 1]), 2)


def _repeats(x: np.ndarray, lag: float) -> float:
    """How well onset envelope ``x`` matches itself ``lag`` frames on (−1..1: the
    autocorrelation there over that at 0, the mean taken out)."""
    k = int(round(abs(lag)))
    x = x - x.mean()
    energy = float(np.dot(x, x))
    if k <= 0 or k >= len(x) or energy <= 0:
        return 0.0
    return float(np.dot(x[:-k], x[k:])) / energy


def _window_lag(a: np.ndarray, b: np.ndarray, reach: int) -> float | None:
    """The lag (frames, fractional) of ``b`` against ``a`` within ±reach at which their
    onsets agree best (positive: ``b`` is late)."""
    scores = np.correlate(b - b.mean(), a - a.mean(), mode="valid")  # k: b[k + i] ~ a[i]
    if len(scores) != 2 * reach + 1 or scores.max() <= 0:
        return None
    k = int(np.argmax(scores))
    frac = 0.0
    if 0 < k < len(scores) - 1:
        left, mid, right = scores[k - 1], scores[k], scores[k + 1]
        denom = left - 2 * mid + right
        frac = float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5)) if denom else 0.0
    return k + frac - reach


@dataclass(frozen=True)
class QualityReport:
    offset: LayerOffset
    keys: tuple[str | None, str | None]  # Camelot codes; None: no key heard (``layer_key``)
    camelot_distance: int | None  # None where a layer has no key heard: not compared
    tuning_cents: float | None  # the backing's tuning minus the lead song's; None: as above
    lufs: float
    true_peak_db: float
    longest_silence_s: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def passes(self) -> bool:
        """Every figure measured and good (layers the onsets cannot judge do not pass); the
        keys and tunings where both layers have a key heard (nothing to compare else)."""
        return (
            self.offset.median_ms is not None
            and not self.offset.feels_differ
            and self.offset.aligned
            and (self.camelot_distance is None or self.camelot_distance <= 1)
            and (self.tuning_cents is None or abs(self.tuning_cents) <= 10)
            and abs(self.lufs + 14) <= 1
            and self.true_peak_db <= -1.0
        )

    def as_text(self) -> str:
        keys = "/".join(key or "no key heard" for key in self.keys)
        if self.camelot_distance is None or self.tuning_cents is None:
            keys += " (not compared)"
        else:
            keys += (
                f" (Camelot distance {self.camelot_distance}, tunings "
                f"{abs(self.tuning_cents):.0f} cents apart)"
            )
        return (
            f"{self.offset.as_text()} · keys {keys} · "
            f"{self.lufs:.1f} LUFS · peak {self.true_peak_db:.1f} dBTP · "
            f"longest silence {self.longest_silence_s:.1f} s"
        )


def layer_key(mono: np.ndarray) -> tuple[str | None, float]:
    """(Camelot code, tuning in semitones) of a layer, by its chords and bass (the notes'
    key does not name it here); (None, 0) where no key is heard in it: the notes, which
    the reading transcribes anyway, fit none (``analysis.Analysis.has_key``)."""
    reading = analysis.key_reading(mono)
    if reading.by_notes is None:
        return None, 0.0
    tonic, mode = reading.by_chords or (reading.tonic, reading.mode)
    return analysis.camelot(tonic, mode), reading.tuning


def longest_silence(mix: np.ndarray, sr: int) -> float:
    window = int(0.05 * sr)
    edge = int(EDGE_SECONDS * sr)
    inner = mix[:, edge : max(edge, mix.shape[1] - edge)]
    if inner.shape[1] < window:
        return 0.0
    frames = inner[:, : inner.shape[1] // window * window].reshape(inner.shape[0], -1, window)
    rms_db = 10 * np.log10((frames**2).mean(axis=(0, 2)) + 1e-12)
    longest = run = 0
    for quiet in rms_db < SILENCE_DB:
        run = run + 1 if quiet else 0
        longest = max(longest, run)
    return longest * window / sr


def measure_layers(
    layers: Mapping[str, np.ndarray],
    sr: int,
    mix: np.ndarray | None = None,
    *,
    loudness: tuple[float, float] | None = None,
    mix_sr: int | None = None,
    offset: LayerOffset | None = None,
) -> QualityReport:
    """``layers``: the reference (lead song on the mashup's timeline) and the backing first,
    stereo or mono, at ``sr``. ``loudness``: (LUFS, dBTP) of ``mix`` when the caller has
    just measured them. ``mix_sr``: the mix's rate when it differs from the layers'.
    ``offset``: the layers' offset when the caller has measured it."""
    mix_sr = mix_sr or sr
    names = list(layers)
    a, b = (analysis.to_mono(layers[name], sr) for name in names[:2])
    if mix is None:
        mix = np.sum([layers[name] for name in names[:2]], axis=0)
    lufs, peak = loudness or (analysis.integrated_lufs(mix, mix_sr), true_peak_db(mix))
    (key_a, tuning_a), (key_b, tuning_b) = layer_key(a), layer_key(b)
    distance = cents_apart = None  # a layer with no key heard has nothing to compare
    if key_a is not None and key_b is not None:
        distance = analysis.camelot_distance(key_a, key_b)
        cents_apart = round(((tuning_b - tuning_a + 0.5) % 1 - 0.5) * 100, 1)
    return QualityReport(
        offset=offset or layer_offset(a, b),
        keys=(key_a, key_b),
        camelot_distance=distance,
        tuning_cents=cents_apart,
        lufs=lufs,
        true_peak_db=peak,
        longest_silence_s=longest_silence(mix, mix_sr),
    )


def measure_stems_dir(folder: Path, mix_path: Path | None = None) -> QualityReport:
    """Measure the stems a ``--stems`` run wrote: reference.wav and backing.wav."""
    sr = 44100
    layers = {name: load(folder / f"{name}.wav", sr) for name in ("reference", "backing")}
    mix = load(mix_path, sr) if mix_path else None
    return measure_layers(layers, sr, mix)
