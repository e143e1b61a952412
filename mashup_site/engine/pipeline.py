"""Two songs in, two mashups out: decode, analyse, separate, match, arrange, master, write.

How the API's parameters are honoured (the mapping is ours; the remote API only documents
what the words mean):

- ``instrumental``: off, the natural pair (vocals of 1 over the backing of 2, and of 2
  over 1); on, two instrumental blends (the accompaniment of each song leads in turn, the
  other's accompaniment, high-passed, supports it).
- ``audioWeight`` (0–1): the balance between the two songs, ±6 dB at the ends, 0.5 even.
- ``style`` + ``styleWeight``: an effect preset per known style word, blended by weight.
- ``weirdnessConstraint`` (0–1): how adventurous the arrangement is: the chance, per
  section, of a filtered breakdown of the backing, or of borrowing a different section of
  the backing song. Seeded, so the same request gives the same result.
- ``vocalGender``: the song whose separated vocal sits in that register (median pitch above
  or below 165 Hz) becomes the first variant's lead.
- ``model``: the length cap (V4: 4 minutes, others 8), passed as ``max_seconds``.
- ``title`` and ``prompt``: the title goes into the ID3 tags and the cover; the prompt is
  kept as the track's description (in custom mode, the lyrics are shown with the track:
  this engine does not sing).

Cost (benchmarks/engine.py): two threads throughout (numpy, scipy.fft, pedalboard and
FFmpeg release the GIL), the two songs prepared at once, then the two variants rendered at
once, their backings' segments stretched in turn on threads both share
(``arrange.stretch_backing``), so the variants finish stretching together and master and
encode side by side. Everything is float32; spectra are computed a block of frames at a
time; nothing is JIT-compiled (no librosa/numba on the engine's path), so a worker's
first job costs what its second does, apart from importing the modules. The quality
figures (``measure``: beat offset, keys and tuning of the layers) cost about 1.5 s a
variant; the command line shows them, the web worker does not and skips them
(``measure_quality=False``).
"""

from __future__ import annotations

import ctypes
import filecmp
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pedalboard as pb

from . import analysis, arrange, matching, measure, output, style, voice
from .analysis import (
    ANALYSIS_SR,
    GIVEN_BPM,
    Analysis,
    analyse,
    camelot,
    integrated_lufs,
    to_mono,
)
from .decode import SR, load
from .errors import EngineError
from .key import KEY_NAMES, UNCERTAIN, key_name
from .master import TARGET_LUFS, master
from .probe import declared_duration, format_duration, split_suffix, stated_duration
from .separation import Separator, SpectralSeparator, Stems

log = logging.getLogger(__name__)

StageCallback = Callable[[str, dict], None]
BALANCE_DB = 6.0
LAYER_LUFS = -20.0
HIGH_VOICE_HZ = 165.0
# Measured: a separated synthetic sung line sits ~11 dB below its song, real band tracks
# without a voice ~10 dB (leakage), drums and chords alone ~23 dB, a click track ~45 dB.
QUIET_VOICE_DB = -18.0
# Tuning offsets the text mentions: two tones 5 cents apart beat about once a second at
# A4, which a careful ear hears in held chords; smaller ones are corrected silently.
AUDIBLE_CENTS = 5
# Seconds a file may decode short of the length its header states (probe.stated_duration)
# before it is called cut short: an MP3's encoder delay and padding are some milliseconds.
CUT_SLACK = 1.0
# Silence at a song's start or end that the analysis names (the mashups leave it out,
# arrange._heard_bars): a breath before the first note is no news.
SAID_SILENCE = 2.0
MAX_SAID_STRETCHES = 3  # a song in more stretches than this is "... and more"


@dataclass(frozen=True)
class MashupParams:
    instrumental: bool = False
    audio_weight: float = 0.5
    style: str = ""
    style_weight: float = 0.5
    weirdness: float = 0.2
    vocal_gender: str | None = None
    max_seconds: int = 480
    title: str = ""
    prompt: str = ""
    seed: int = 0
    # Lay the backing on the offbeats of its beat grid (``analysis.on_offbeats``): asked
    # for when a mashup came out with the backing half a beat off. Not an API parameter.
    backing_offbeat: bool = False
    # The tempo (BPM) a person gave for each song, in the order they were given, or None:
    # its beat is read at it (``analysis.as_given``), for the readings the engine cannot
    # tell apart by ear (a fast song read at half, 6/4 read as 12/8). Not an API parameter.
    tempi: tuple[float | None, ...] = ()
    # The key a person gave for each song, in order ("F# minor", ``key.KEY_NAMES``), or
    # None: the matcher plans for it alone (``analysis.with_key``), for a key the engine
    # misheard. Not an API parameter.
    keys: tuple[str | None, ...] = ()

    def __post_init__(self) -> None:
        for name in ("audio_weight", "style_weight", "weirdness"):
            if not 0 <= getattr(self, name) <= 1:
                raise EngineError(f"{name.replace('_', ' ')} must be between 0 and 1")
        low, high = GIVEN_BPM
        if len(self.tempi) > 2 or any(
            bpm is not None and not low <= bpm <= high for bpm in self.tempi
        ):
            raise EngineError(f"a song's tempo is given from {low:g} to {high:g} BPM")
        if len(self.keys) > 2 or any(name and name not in KEY_NAMES for name in self.keys):
            raise EngineError("a song's key is given by its name, such as C major or F# minor")
        if self.vocal_gender not in (None, "", "m", "f"):
            raise EngineError("vocal gender must be m or f")


@dataclass(frozen=True)
class Variant:
    audio_path: Path
    cover_path: Path
    title: str
    duration: float
    summary: dict[str, object]
    stems: dict[str, Path] = field(default_factory=dict)
    # What a musician may ask for next (``keep_extras``): "vocals" and "instrumental" (the
    # layers as mixed, at the master's level; no vocals in instrumental mode) and "wav"
    # (the master, 16-bit), and the master's waveform: WAVEFORM_POINTS peaks from 0 to 1.
    extras: dict[str, Path] = field(default_factory=dict)
    waveform: tuple[float, ...] = ()


@dataclass(frozen=True)
class MashupResult:
    variants: tuple[Variant, Variant]
    analysis_text: str
    report: dict[str, object]


class Steps:
    """Seconds spent per step, summed over both songs or both variants (they run in two
    threads, so the sums exceed the wall time): what a profile of a job would show. Wall
    seconds include waiting for a core; CPU seconds (of the step's own thread, and of the
    helper threads it reports: ``elsewhere``) do not."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            with self._lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
                self.cpu[name] = self.cpu.get(name, 0.0) + time.thread_time() - cpu

    def elsewhere(self, name: str) -> Callable[[float], None]:
        """What to tell the CPU seconds that step ``name`` spent in helper threads (the
        stretch's, ``arrange.stretch_backing``), counted with its own thread's."""

        def add(seconds: float) -> None:
            with self._lock:
                self.cpu[name] = self.cpu.get(name, 0.0) + seconds

        return add


@dataclass(frozen=True)
class Song:
    name: str
    audio: np.ndarray
    analysis: Analysis
    stems: Stems
    pitch: float | None
    vocal_db: float  # loudness of the separated vocal layer relative to the song
    # At the analysis rate (18 MB for 3.5 minutes): what the layers laid on it are measured
    # against, cut from it (``_under``) rather than mixed down again for every laying.
    mono: np.ndarray
    # The file stopped before its end (cut short or damaged: ``decode.load`` gives what
    # it holds), and how long it says it is, when it says so or when the model's length
    # cut it (``probe.declared_duration``): ``describe`` tells the person.
    cut_short: bool = False
    whole_seconds: float | None = None


def make_mashup(
    song1: Path,
    song2: Path,
    out_dir: Path,
    params: MashupParams,
    *,
    on_stage: StageCallback | None = None,
    write_stems: bool = False,
    separator: Separator | None = None,
    measure_quality: bool = True,
    keep_extras: bool = False,
) -> MashupResult:
    if filecmp.cmp(song1, song2, shallow=False):
        # The form refuses one upload twice; two links can still bring the same file.
        raise EngineError(
            "song 1 and song 2 are the same file: a mashup needs two different songs",
            final=True,
        )
    notify = on_stage or (lambda stage, info: None)
    timings: dict[str, float] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    steps = Steps()
    # A song longer than the model's cap is decoded only that far, plus room to pick bars.
    limit = params.max_seconds + 30
    songs = _prepare([Path(song1), Path(song2)], separator or SpectralSeparator(), steps, limit)
    songs = [
        _given(song, bpm, name)
        for song, bpm, name in zip(
            songs, _per_song(params.tempi), _per_song(params.keys), strict=True
        )
    ]
    timings["analyse+separate"] = time.perf_counter() - started
    release_memory()
    pairs = _order(songs, params)
    text = describe(songs, pairs, params)
    notify("text", {"summary": text, "songs": [_song_summary(s) for s in songs]})

    # Both variants render at once, one per core; whichever is written first is "first".
    t0 = time.perf_counter()
    variants: dict[int, Variant] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            pool.submit(
                _render,
                index,
                lead,
                backing,
                params,
                out_dir,
                steps,
                write_stems=write_stems,
                measure_quality=measure_quality,
                keep_extras=keep_extras,
            ): index
            for index, (lead, backing) in enumerate(pairs, start=1)
        }
        for future in as_completed(futures):
            index = futures[future]
            variants[index] = future.result()
            timings[f"variant {index}"] = time.perf_counter() - t0
            # The analysis as made so far: each finished mashup's measured alignment.
            text = describe(songs, pairs, params, variants)
            info = {"variant": variants[index], "index": index, "summary": text}
            notify("first" if len(variants) == 1 else "complete", info)
    timings["total"] = time.perf_counter() - started
    release_memory()
    report: dict[str, object] = {
        "timings": timings,
        "steps": {name: round(value, 2) for name, value in steps.seconds.items()},
        "steps_cpu": {name: round(value, 2) for name, value in steps.cpu.items()},
        "variants": [variants[i].summary for i in (1, 2)],
    }
    return MashupResult(variants=(variants[1], variants[2]), analysis_text=text, report=report)


def release_memory() -> None:
    """Hand freed heap back to the system (glibc only; elsewhere nothing happens).

    Song-sized numpy buffers freed from two threads leave glibc's arenas fragmented; a
    long-lived worker would otherwise carry each job's high-water mark into the next
    (measured: +200 MB on the second job of a process)."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _prepare(paths: list[Path], separator: Separator, steps: Steps, limit: float) -> list[Song]:
    """Decode, analyse and separate both songs, two at a time (numpy/pedalboard release
    the GIL for most of the work, so two threads use both cores)."""
    named = list(zip(paths, song_names(paths), strict=True))
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda pn: _song(pn[0], separator, steps, limit, name=pn[1]), named))


def song_names(paths: list[Path]) -> list[str]:
    """What the analysis, the titles and the errors call the songs: their file names, or,
    where two are the same (two folders' "mix.wav"), each numbered in the order given,
    "mix (1).wav" and "mix (2).wav": "vocals of mix.wav over mix.wav" says nothing. (The
    engine takes two songs; given more, all are numbered once any two share a name.)"""
    names = [path.name for path in paths]
    if len(set(names)) == len(names):
        return names
    numbered = []
    for k, name in enumerate(names, 1):
        stem, suffix = split_suffix(name)  # "Mr. Brightside (1)", not "Mr (1). Brightside"
        numbered.append(f"{stem} ({k}){suffix}")
    return numbered


def _per_song[T](given: tuple[T | None, ...]) -> tuple[T | None, T | None]:
    """What was given for each of the two songs (``MashupParams.tempi``, ``keys``), or None."""
    first, second = (*given, None, None)[:2]
    return first or None, second or None


def _given(song: Song, bpm: float | None, key_given: str | None = None) -> Song:
    """``song`` with the tempo and the key its owner gave, if any: a song the engine heard
    no steady beat in is given one at that tempo (``analysis.as_given``; ``describe`` says
    so); a key given is planned for alone (``analysis.with_key``)."""
    read = song.analysis
    if bpm is not None:
        read = analysis.as_given(read, bpm)
    if key_given:
        read = analysis.with_key(read, key_given)
    return song if read is song.analysis else replace(song, analysis=read)


def _song(path: Path, separator: Separator, steps: Steps, limit: float, *, name: str = "") -> Song:
    """``path`` decoded, read and separated; ``name``: what it is called (``song_names``;
    its file name when not given)."""
    name = name or path.name
    cut: list[float] = []
    with steps("decode"):
        audio = load(path, SR, max_seconds=limit, name=name, on_cut=cut.append)
        capped = audio.shape[1] >= int(limit * SR)
        stated = None if capped else stated_duration(path)
        heard = audio.shape[1] / SR
        if stated is not None and heard > stated + CUT_SLACK:
            stated = None  # it undercounts (MP3s joined end to end): the decoder judges
        if stated is not None:
            # The header knows: a file that ends cleanly short of it is cut (a WAV, an
            # MP3), and one that holds all of it is whole, whatever damage follows its
            # last frame (a tag at an MP3's end decodes as a bad packet).
            cut = [heard] if stated > heard + CUT_SLACK else []
        whole = stated or (declared_duration(path) if cut or capped else None)
    if cut and cut[0] < analysis.MIN_SECONDS:
        # "only 2.0 s long" would be taken for the song's length, not the file's fault
        said = f" of the {format_duration(round(whole))} it says it holds" if whole else ""
        raise EngineError(
            f"{name} stops after {format_duration(cut[0])}{said}: it is cut short or damaged"
        )
    with steps("analyse"):
        mono = to_mono(audio, SR)
        info = analyse(audio, SR, name=name, mono=mono)
    with steps("separate"):
        stems = separator.separate(audio, SR)
    with steps("voice pitch"):
        pitch = voice.median_pitch(stems.vocals, SR)
        vocal_db = integrated_lufs(stems.vocals, SR) - info.lufs
    return Song(name, audio, info, stems, pitch, vocal_db, mono, bool(cut), whole)


def _under(lead: Song, timeline: arrange.Timeline, length: int) -> np.ndarray:
    """The lead song (mono, at the analysis rate) under a layer ``length`` samples long laid
    from the timeline's start: cut from the song's own mono, not made again per layer."""
    start = int(round(timeline.start * ANALYSIS_SR))
    return lead.mono[start : start + length]


def voice_warnings(lead: Song, backing: Song, params: MashupParams) -> list[str]:
    """Say so when the lead song gave the separator (almost) no voice to lead with."""
    if params.instrumental or lead.vocal_db > QUIET_VOICE_DB:
        return []
    return [
        f"little or no voice was found in {lead.name} (its vocal layer is "
        f"{-lead.vocal_db:.0f} dB below the song), so this mashup is mostly the backing of "
        f"{backing.name}; instrumental mode may suit these songs better"
    ]


def repeat_warnings(
    lead: Song, backing: Song, timeline: arrange.Timeline, seconds: float
) -> list[str]:
    """Say so when the backing ran out before the lead and its bars repeat (arrange.plan
    loops it) over the mashup's ``seconds``: a listener hears it, and would otherwise
    take it for the engine's fault. (Shorter than the mashup, not than the lead's file:
    a lead's silences are not laid.)"""
    starts = timeline.backing_grid[:, 0]
    if len(np.unique(starts)) == len(starts):
        return []
    held = float(timeline.backing_grid.max() - timeline.backing_grid.min())
    return [
        f"the backing, {backing.name}, is shorter than this mashup: its "
        f"{format_duration(held)} loops to fill the {format_duration(seconds)}"
    ]


def tempo_change_warnings(
    lead: Song, backing: Song, timeline: arrange.Timeline, fit: matching.Match
) -> list[str]:
    """Say so when a song's tempo changes (``Analysis.tempo_sections``): the backing is
    laid on the lead's beats through it, each of its bars stretched to the lead's, and a
    listener should know where that stretch goes past what sounds clean (the matcher's
    note, ``fit``'s, judges the songs' tempi, the ones they hold longest)."""
    said = [
        f"the {which}, {song.name}, changes tempo (in the song: "
        f"{tempo_sections_words(song.analysis)}): "
        + ("the backing follows it" if which == "lead" else "each section is laid at the lead's")
        for which, song in (("lead", lead), ("backing", backing))
        if song.analysis.tempo_sections
    ]
    if not said:
        return []
    pieces = timeline.backing_grid[:, 1] - timeline.backing_grid[:, 0]
    stretch = np.diff(timeline.lead_grid) / np.maximum(pieces, 1e-9)  # past 1: slowed
    clean = matching.CLEAN_STRETCH
    past = (stretch < clean[0]) | (stretch > clean[1])
    noted = not clean[0] <= fit.stretch <= clean[1]
    if past.any() and not (past.all() and noted):
        at = timeline.lead_grid - timeline.start
        edges = np.flatnonzero(np.diff(np.concatenate([[0], past.astype(int), [0]])))
        spans = " and ".join(
            f"{format_duration(max(0.0, at[a]))} to {format_duration(at[b])}"
            for a, b in zip(edges[::2], edges[1::2], strict=True)
        )
        said[-1] += f"; the backing is stretched past what sounds clean from {spans} of the mashup"
    return said


def tempo_sections_words(a: Analysis) -> str:
    """A tempo that changes, as said: "120.1 BPM, then 152.0 BPM from 0:44, then 120.1 BPM
    from 1:32"."""
    first, *rest = a.tempo_sections
    return ", ".join(
        [f"{first.bpm:.1f} BPM"]
        + [f"then {x.bpm:.1f} BPM from {format_duration(round(x.start))}" for x in rest]
    )


def _order(songs: list[Song], params: MashupParams) -> list[tuple[Song, Song]]:
    first, second = songs
    pairs = [(first, second), (second, first)]
    if params.vocal_gender and not params.instrumental:

        def fits(song: Song) -> bool:
            high = song.pitch is not None and song.pitch >= HIGH_VOICE_HZ
            return high if params.vocal_gender == "f" else not high

        if fits(second) and not fits(first):
            pairs.reverse()
    return pairs


def _render(
    index: int,
    lead: Song,
    backing: Song,
    params: MashupParams,
    out_dir: Path,
    steps: Steps,
    *,
    write_stems: bool,
    measure_quality: bool,
    keep_extras: bool = False,
) -> Variant:
    laid = _lay(index, lead, backing, params, steps)
    fit, timeline, offset = laid.fit, laid.timeline, laid.offset
    lead_layer, backing_layer = laid.lead_layer, laid.backing_layer
    tempi = (laid.lead.tempo, laid.backing.tempo)
    reread, guard_warnings = laid.note, laid.warnings
    del laid  # the layers go before mastering (see below)
    with steps("mix"):
        lead_layer, backing_layer = _balance(lead_layer, backing_layer, params, index)
        if not params.instrumental:
            backing_layer = arrange.duck(backing_layer, lead_layer, SR)
        mix = arrange.fades(lead_layer + backing_layer, SR, in_place=True)
        mix, applied, unknown = style.apply_style(mix, SR, params.style, params.style_weight)
    start, n = int(timeline.start * SR), mix.shape[1]
    reference = lead.audio[:, start : start + n]  # what the lead song plays under the mix
    stems = {}
    if write_stems:
        with steps("stems"):
            folder = out_dir / f"mashup-{index}-stems"
            stems = _write_stems(folder, reference, lead_layer, backing_layer)
    extras: dict[str, Path] = {}
    if keep_extras:
        with steps("extras: stems"):
            extras = _write_extras(out_dir, index, mix, lead_layer, backing_layer, params)
    monos = {}
    if measure_quality:
        with steps("measure"):
            # Measured on mono copies at the analysis rate, so the song-sized layers can go
            # before mastering and encoding (two variants at once: ~300 MB less at the peak).
            backing_mono = to_mono(backing_layer, SR)
            reference_mono = _under(lead, timeline, len(backing_mono))
            monos = {"reference": reference_mono, "backing": backing_mono}
    del lead_layer, backing_layer
    with steps("master"):
        mastered, lufs, peak = master(mix, SR, in_place=True)
    title = _title(params, lead, backing, index)
    genre = ", ".join(applied) or (params.style[:60] if params.style else "Mashup")
    with steps("encode mp3"):
        audio_path = output.write_mp3(
            out_dir / f"mashup-{index}.mp3", mastered, SR, title=title, genre=genre,
            comment=params.prompt,
        )  # fmt: skip
    with steps("cover"):
        cover_path = output.write_cover(out_dir / f"mashup-{index}.png", mastered, SR, title=title)
    waveform: tuple[float, ...] = ()
    if keep_extras:
        with steps("extras: wav"):
            extras["wav"] = output.write_wav(out_dir / f"mashup-{index}.wav", mastered, SR)
        with steps("extras: waveform"):
            waveform = peaks(mastered)
    quality = None
    if measure_quality:
        with steps("measure"):
            quality = measure.measure_layers(
                monos, ANALYSIS_SR, mastered, loudness=(lufs, peak), mix_sr=SR, offset=offset
            )
    summary = {
        "lead": lead.name,
        "backing": backing.name,
        "tempo": round(tempi[0], 1),
        "backing_tempo": round(tempi[1], 1),
        "tempo_ratio": round(fit.ratio, 3),
        "stretch": round(fit.stretch, 3),
        "shift": fit.shift,
        "tuning_cents": cents(fit.tuning),
        "keys": f"{key_words(lead.analysis)} / {key_words(backing.analysis)}",
        "lufs": round(lufs, 1),
        "true_peak_db": round(peak, 1),
        "duration": round(n / SR, 1),
        "section": (start / SR, (start + n) / SR),  # of the lead song, to the sample
        "styles_applied": applied,
        "styles_unknown": unknown,
        "reread": reread,
        "backing_offbeat": _on_offbeats(params, backing.analysis),
        "offset": offset.as_dict(),
        "offset_text": offset.as_text(),
        "warnings": [
            *fit.warnings,
            *guard_warnings,
            *voice_warnings(lead, backing, params),
            *repeat_warnings(lead, backing, timeline, round(n / SR, 1)),
            *tempo_change_warnings(lead, backing, timeline, fit),
        ],
        "quality": quality.as_dict() if quality else None,
        "quality_text": quality.as_text() if quality else "not measured",
    }
    return Variant(audio_path, cover_path, title, n / SR, plain(summary), stems, extras, waveform)


# The alignment guard: a backing that comes out off the lead (measure.layer_offset, which
# uses no beat grid) is laid again on the next plausible metrical readings, at most this
# many times: each costs one more stretch of the backing (about 3 s of a core a minute).
MAX_RELAYS = 3
# A level the tempo reader scored below this share of its best is not read again.
PLAUSIBLE = 0.15
# Nor a level at no metrical relation to the first reading: a misreading is an octave, a
# 3:2 or a 2:3 from the truth (and octaves of those), never 2:5 or 5:4 (Metal madness,
# 150 BPM, was laid again at a 60 it had scored, and played 5:4 over a 95 BPM lead).
RELATIVES = tuple(2.0**a * 3.0**b for a in range(-3, 4) for b in (-1, 1))
SAME_LEVEL = 0.04  # two tempi within 4 % (in log) are one metrical level


@dataclass(frozen=True)
class Laid:
    """The two layers of one variant, and how they were laid."""

    lead: Analysis  # the readings they were laid on
    backing: Analysis
    fit: matching.Match
    timeline: arrange.Timeline
    lead_layer: np.ndarray
    backing_layer: np.ndarray
    offset: measure.LayerOffset
    order: tuple[int, ...] = ()  # the backing segment laid under each lead segment
    note: str = ""  # how the readings differ from the songs' first readings
    warnings: tuple[str, ...] = ()


def _lay(
    index: int,
    lead: Song,
    backing: Song,
    params: MashupParams,
    steps: Steps,
    *,
    relays: int = MAX_RELAYS,
) -> Laid:
    """Lay the backing on the lead at the songs' readings; if the layers come out off, lay
    it again at the next plausible readings (``relays`` at most) and keep the best."""
    best: Laid | None = None
    tried = 0
    readings = _readings(lead.analysis, backing.analysis)
    for lead_a, backing_a, note in itertools.islice(readings, 1 + relays):
        if _on_offbeats(params, backing_a):
            backing_a = analysis.on_offbeats(backing_a)
        fit = matching.match(lead_a, backing_a)
        lead_grid, backing_grid = matching.common_grid(lead_a, backing_a)
        timeline = arrange.plan(lead_grid, backing_grid, fit, params.max_seconds)
        with steps("stretch"):
            lead_layer, backing_layer, order = _layers(
                index, lead, backing, params, fit, timeline, on_cpu=steps.elsewhere("stretch")
            )
        with steps("check alignment"):
            backing_mono = to_mono(backing_layer, SR)
            reference = _under(lead, timeline, len(backing_mono))
            offset = measure.layer_offset(reference, backing_mono)
        if lead_a.ternary != backing_a.ternary:
            # A swung or 6/8 layer over a straight one: their beat spectra differ by nature
            # (the matcher says so), and so do their offbeats: the onsets cannot judge them.
            offset = replace(offset, rhythm=None, feels_differ=True, apart=())
        tried += 1
        if best is None or _closer(offset, best.offset):
            best = Laid(
                lead_a, backing_a, fit, timeline, lead_layer, backing_layer, offset, order, note
            )
        del lead_layer, backing_layer  # at most two backings held at once
        # A reading tried again that the onsets cannot judge is no better known than the
        # first, which measured off: the next is tried (the first is kept unless one
        # measures together: _closer).
        judged = offset.median_ms is not None or tried == 1
        if (offset.aligned and judged) or (
            tried == 1 and _half_a_beat(offset, lead_a, backing_a, fit)
        ):
            break  # half a beat off is no misreading of the tempo: see _half_a_beat
        if offset.mostly_together and best.offset is offset:
            # Together but for a stretch where the beats part: a tempo one song changes
            # there and the other does not. Another reading of a whole song's beat cannot
            # follow it (tried, a 4:3 change's other reading laid the rest half a beat
            # off, which the onsets cannot hear); the person is told where instead.
            break
    assert best is not None
    moved = _on_offbeats(params, best.backing)
    return replace(best, warnings=_alignment_warnings(best, tried, moved))


def _readings(lead: Analysis, backing: Analysis) -> Iterator[tuple[Analysis, Analysis, str]]:
    """The songs as read, then their other plausible metrical readings, taken in turn, the
    backing's first (it is the layer that is stretched). Each is read (its beats tracked
    again) only when it is asked for: most layings measure together on the first, and
    every reading made in advance cost each variant's thread a second of a two-song job."""
    yield lead, backing, ""
    if not (lead.has_beat and backing.has_beat):
        return  # a song without a beat is laid by its own timing: nothing to re-read
    if lead.ternary != backing.ternary:
        # Triplets against straight eighths measure apart by nature, and a 3:2 reading of
        # either song lines its notes up with the other's (a hemiola): the check would take
        # the very relation the matcher must never play. The matcher says the feels differ.
        return

    def note(which: str, song: Analysis, bpm: float) -> str:
        return f"the {which}'s beat was read again at {bpm:.1f} BPM (first {song.tempo:.1f})"

    backings = [("backing", bpm) for bpm in _other_levels(backing)]
    leads = [("lead", bpm) for bpm in _other_levels(lead)]
    for pair in itertools.zip_longest(backings, leads):
        for which, bpm in filter(None, pair):
            if which == "backing":
                yield lead, analysis.at_tempo(backing, bpm), note(which, backing, bpm)
            else:
                yield analysis.at_tempo(lead, bpm), backing, note(which, lead, bpm)


def _other_levels(song: Analysis) -> list[float]:
    """Plausible metrical readings of ``song`` other than its first: the runner-up, then
    the 3:2 relatives (the error that lays a backing a third of a beat off), then the other
    levels by score. Octaves of the first are left out: the matcher meets them at 1:2 or
    2:1 anyway, on the same beats.

    Only levels at 3:2 or 2:3 (or their octaves) from the first are read again, the
    runner-up too (RELATIVES), and only plausible ones: the tempo
    reader's evidence gives the level at least PLAUSIBLE of the best level's score. A
    song read with confidence is not read again at a level its own evidence rules out.
    Without this, a 12/8 lead at 80 BPM (confidence 0.97) over a straight backing was read
    again at 120: that regroups its triplets in pairs, a 3:2 layering, and it lines up
    with the straight song's eighths so well that the offset check took it (4 ms apart,
    71 % of windows within 20 ms)."""
    if song.envelopes is None or song.tempo_given:
        return []  # a tempo its owner gave is not a reading to doubt
    scores = dict(song.tempo_candidates)
    best = max(scores.values(), default=0.0)

    def plausible(bpm: float) -> bool:
        if not scores:
            return True  # an analysis that kept no candidates (built by hand)
        near = [s for b, s in scores.items() if abs(math.log(b / bpm)) < SAME_LEVEL]
        return bool(near) and max(near) >= PLAUSIBLE * best

    def metrical(bpm: float) -> bool:  # 3:2 or 2:3, or one of their octaves
        return any(abs(math.log(bpm / song.tempo / ratio)) < SAME_LEVEL for ratio in RELATIVES)

    levels = [song.tempo_runner_up] if song.tempo_runner_up else []
    levels += [song.tempo * 1.5, song.tempo / 1.5]
    levels += [bpm for bpm, _ in song.tempo_candidates[1:]]
    out: list[float] = []
    for bpm in levels:
        octave = math.log2(bpm / song.tempo)
        if abs(octave - round(octave)) < 0.06 or not 50 <= bpm <= 230:
            continue
        if not plausible(bpm) or not metrical(bpm):
            continue
        if all(abs(math.log(bpm / seen)) > SAME_LEVEL for seen in out):
            out.append(bpm)
    return out[:2]


# Layers whose onsets sit within this share of half a beat of half a beat apart are half a
# beat apart (a 3:2 misreading lays them a third of a beat apart: 33 % off half a beat),
# and so in every window: the middle half of the windows' offsets within this share too.
HALF_BEAT_SPAN = 0.2


def _half_a_beat(
    offset: measure.LayerOffset, lead: Analysis, backing: Analysis, fit: matching.Match
) -> bool:
    """Whether layers laid on these readings measured half a beat apart. Reading either
    song again cannot help: a 3:2 reading lays a backing a third of a beat off, an octave
    meets on the same beats, and a song whose snare hits every "and" (a punk skank, its
    grid held on its kicks by ``analysis.on_the_kick``) measures half a beat from a lead
    it is laid right on. The guard took such a reading anyway, from "beats at different
    rates" that happened to meet (a skank at 176 BPM read again at 58.7 over rock at 176,
    three of its beats against two of the lead's); the person is told instead, and can
    have it made again half a beat over."""
    if not (lead.has_beat and backing.has_beat):
        return False
    return _half_beat_apart(offset, lead.tempo, fit.ratio)


def _closer(a: measure.LayerOffset, b: measure.LayerOffset) -> bool:
    """Whether ``a``, a reading tried again, measures closer than ``b``, the best so far.
    Beats at different rates are never closer, however many of their onsets happen to
    meet: not than beats that agree, nor than a first reading that does not either (the
    tempo reader's own evidence chose it; a re-read is taken for beats that run together,
    and one whose beats do not ran a 104 BPM lead against a backing at 4:3, stretched 39 %,
    because more of its onsets met)."""
    if not a.rhythms_agree:
        return False
    if a.median_ms is None or b.median_ms is None:
        return b.median_ms is None and a.median_ms is not None
    return not b.rhythms_agree or (a.within_20ms, -a.median_ms) > (b.within_20ms, -b.median_ms)


def _alignment_warnings(best: Laid, tried: int, moved: bool) -> tuple[str, ...]:
    if best.offset.aligned or best.lead.ternary != best.backing.ternary:
        return ()  # mixed feels: the matcher's own warning says why the notes differ
    beats = best.lead.has_beat and best.backing.has_beat
    lead_bpm = best.lead.tempo if beats else 0.0
    movable = not best.backing.ternary  # see _on_offbeats
    kept_first = not best.note  # only a reading tried again carries a note
    return (
        alignment_warning(
            best.offset,
            lead_bpm,
            best.fit.ratio,
            tried,
            moved=moved,
            movable=movable,
            kept_first=kept_first,
        ),
    )


def _half_beat_apart(offset: measure.LayerOffset, lead_bpm: float, ratio: float) -> bool:
    """Whether ``offset`` is half of the faster beat, and in most windows alike: see
    alignment_warning. (Half a beat early and half a beat late are the same place, so the
    sign says nothing; layers at 3:2 meet and part from window to window, and their lags
    spread.)"""
    half = 30000.0 / lead_bpm * min(1.0, ratio) if lead_bpm > 0 else 0.0  # ms
    median = offset.median_ms
    if median is None or not offset.rhythms_agree or not 0 < half <= 0.9 * measure.REACH_MS:
        return False
    if median >= measure.REACH_MS - 6.0 or abs(median - half) > HALF_BEAT_SPAN * half:
        return False
    lags = np.abs(np.asarray(offset.offsets_ms, dtype=float))
    if not len(lags):
        return True  # no windows kept: the median is all there is
    low, high = np.percentile(lags, [25, 75])
    return bool(high - low <= HALF_BEAT_SPAN * half)


def alignment_warning(
    offset: measure.LayerOffset,
    lead_bpm: float,
    ratio: float,
    tried: int,
    *,
    moved: bool = False,
    movable: bool = True,
    kept_first: bool = False,
) -> str:
    """What a listener is told of layers that measured apart (``lead_bpm`` 0: a song
    without a beat), after the offset itself (the page and the command line say it
    first). Half of the faster of the two beats apart is its own case: the onset
    measure lines up the loudest notes, and a song that accents its offbeats (a punk
    snare on every "and": Metal madness, read on its kick, measured 154 ms off Feelings)
    is laid right and still measures so; or its beat was read on those offbeats. Only the
    ear can tell. The measure sees that far only when half that beat is well within its
    reach (a faster beat of 170 BPM or more), and not from a lag stuck at the reach.
    Where the backing's beat is the faster one (``ratio`` ≤ 1: a backing beat to each
    lead beat, or two), moving it half its beat moves it half the faster beat: the person
    can have the mashup made again with the backing half a beat over (or, ``moved``, back
    on its beat). Where the lead's is, half a backing beat is a whole lead beat, and that
    would change nothing; nor is it offered for a backing whose beat divides in three
    (not ``movable``: see _on_offbeats). ``kept_first``: the first reading was kept after
    ``tried`` − 1 others, none of whose beats ran together with the lead's."""
    if lead_bpm <= 0:
        readings = ""  # laid by its own timing: no reading of the beat to speak of
    elif tried > 1 and not kept_first:
        readings = f"on the best of {tried} readings of the beat, "
    elif tried > 1:
        others = f"{tried - 1} other reading{'s' * (tried > 2)}"
        readings = f"with the beats as first read ({others} tried, none running together), "
    else:
        readings = "with the beats as first read, "
    if offset.apart and offset.mostly_together:
        return (
            f"{readings}the layers could not be kept together from {offset.where_apart()}: "
            "one song's tempo moves there and the other's does not follow, so they sound "
            "out of step there"
        )
    if not _half_beat_apart(offset, lead_bpm, ratio):
        return _out_of_step(readings)  # unmeasured, out of reach, or not half a beat
    text = (
        f"{readings}the layers' loudest notes sit half a beat apart: one song accents its "
        "offbeats, or its beat was heard on them"
    )
    if ratio > 1 or not movable:
        return text
    where = "back on its beat" if moved else "half a beat over"
    return (
        f"{text}, so if the backing's kick falls between the lead's beats, make it again "
        f"with the backing {where}"
    )


def _out_of_step(readings: str) -> str:
    """(The measured offset is said just before, with the tempo relation laid.)"""
    return (
        f"{readings}the layers could not be brought together: one song's beat is unclear, "
        "so they may sound out of step"
    )


def _layers(
    index: int,
    lead: Song,
    backing: Song,
    params: MashupParams,
    fit: matching.Match,
    timeline: arrange.Timeline,
    *,
    on_cpu: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """The lead layer (its own timing) and the backing laid on it, the same length, and
    the backing segment laid under each lead segment (``on_cpu``: told the CPU seconds
    the stretch spent in other threads)."""
    rng = np.random.default_rng(params.seed + index)
    order, breakdowns = _arrangement(
        len(timeline.lead_grid) - 1, len(timeline.backing_grid), params.weirdness, rng
    )
    start, end = int(timeline.start * SR), int(timeline.end * SR)
    source = lead.stems.accompaniment if params.instrumental else lead.stems.vocals
    lead_layer = source[:, start:end]
    backing_layer = arrange.stretch_backing(
        backing.stems.accompaniment, SR, timeline, fit.semitones, order, on_cpu=on_cpu
    )
    if params.instrumental:
        backing_layer = pb.Pedalboard([pb.HighpassFilter(180)])(backing_layer, SR)
    backing_layer = _breakdowns(backing_layer, timeline, breakdowns)
    n = min(lead_layer.shape[1], backing_layer.shape[1])
    return lead_layer[:, :n], backing_layer[:, :n], tuple(order)


def _arrangement(
    sections: int, available: int, weirdness: float, rng: np.random.Generator
) -> tuple[list[int], set[int]]:
    order = [i % available for i in range(sections)]
    breakdowns: set[int] = set()
    for k in range(1, sections - 1):  # never the first or last section
        if rng.random() < weirdness * 0.5:
            if rng.random() < 0.5:
                breakdowns.add(k)
            else:
                order[k] = int(rng.integers(available))
    return order, breakdowns


def _breakdowns(backing: np.ndarray, timeline: arrange.Timeline, sections: set[int]) -> np.ndarray:
    if not sections:
        return backing
    lowpass = pb.Pedalboard([pb.LowpassFilter(500)])
    out = backing.copy()
    for k in sections:
        a = int((timeline.lead_grid[k] - timeline.start) * SR)
        b = int((timeline.lead_grid[k + 1] - timeline.start) * SR)
        out[:, a:b] = lowpass(np.ascontiguousarray(backing[:, a:b]), SR)
    return out


def _balance(
    lead: np.ndarray, backing: np.ndarray, params: MashupParams, index: int
) -> tuple[np.ndarray, np.ndarray]:
    """Both layers to one loudness, then tilt toward song 1 by ``audio_weight``."""

    def level(x: np.ndarray, target: float, *, own: bool = False) -> np.ndarray:
        lufs = integrated_lufs(x, SR)
        if lufs <= -69:
            return x
        gain = np.float32(10 ** ((target - lufs) / 20))
        if own:  # an array this job made (the stretched backing): no copy needed
            x *= gain
            return x
        return x * gain

    tilt = (params.audio_weight - 0.5) * 2 * BALANCE_DB  # + favours song 1
    lead_is_song1 = index == 1
    lead_db = LAYER_LUFS + (tilt / 2 if lead_is_song1 else -tilt / 2)
    backing_db = LAYER_LUFS - 2 + (-tilt / 2 if lead_is_song1 else tilt / 2)
    return level(lead, lead_db), level(backing, backing_db, own=True)


def _write_stems(
    folder: Path, reference: np.ndarray, lead: np.ndarray, backing: np.ndarray
) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    n = min(reference.shape[1], lead.shape[1], backing.shape[1])
    layers = {"reference": reference, "lead": lead, "backing": backing}
    return {
        name: output.write_wav(folder / f"{name}.wav", layer[:, :n], SR)
        for name, layer in layers.items()
    }


WAVEFORM_POINTS = 300


def peaks(audio: np.ndarray, points: int = WAVEFORM_POINTS) -> tuple[float, ...]:
    """The loudest sample of each of ``points`` equal stretches, 0 to 1 (rounded: a page
    draws them), for drawing a waveform."""
    loudest = np.abs(audio).max(axis=0) if audio.ndim == 2 else np.abs(audio)
    if not len(loudest):
        return ()
    starts = np.linspace(0, len(loudest), min(points, len(loudest)), endpoint=False).astype(int)
    values = np.clip(np.maximum.reduceat(loudest, starts), 0, 1)
    return tuple(round(float(v), 3) for v in values)


def _write_extras(
    out_dir: Path,
    index: int,
    mix: np.ndarray,
    lead: np.ndarray,
    backing: np.ndarray,
    params: MashupParams,
) -> dict[str, Path]:
    """The vocals and the instrumental as mixed (faded like the mix), at the level the
    master will bring the mix to, so that they line up with the track and sum to about it.
    As 16-bit WAV: writing costs about a tenth of a second each where an MP3 costs three
    (benchmarks/follow_ups.py). An instrumental mashup has no vocal layer: nothing to write."""
    if params.instrumental:
        return {}
    gain = np.float32(10 ** ((TARGET_LUFS - integrated_lufs(mix, SR)) / 20))
    n = mix.shape[1]
    out = {}
    for name, layer in (("vocals", lead), ("instrumental", backing)):
        faded = arrange.fades(layer[:, :n] * gain, SR, in_place=True)
        out[name] = output.write_wav(out_dir / f"mashup-{index}-{name}.wav", faded, SR)
    return out


def _title(params: MashupParams, lead: Song, backing: Song, index: int) -> str:
    if params.title:
        return params.title if index == 1 else f"{params.title} (flip)"
    return f"{split_suffix(lead.name)[0]} × {split_suffix(backing.name)[0]}"


def plain(value: object) -> Any:
    """``value`` with numpy scalars as Python numbers and tuples as lists, so summaries
    go into JSON (a JSONField, the CLI's --json) as they are."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def tempo_words(tempo: float, stretch: float, ratio: float) -> str:
    """The backing's tempo change as a musician says it: "backing sped up from 95.9 to
    117.9 BPM", and the beat relation when it is not one to one ("2 backing beats to 1 lead
    beat"). ``stretch`` is the factor on the backing's duration, ``ratio`` the lead
    beats per backing beat."""
    new = tempo / stretch
    if round(new, 1) == round(tempo, 1):
        words = f"backing kept at {tempo:.1f} BPM"
    else:
        words = (
            f"backing {'sped up' if new > tempo else 'slowed'} from {tempo:.1f} to {new:.1f} BPM"
        )
    if ratio != 1:
        beats = Fraction(ratio).limit_denominator(4)  # lead beats per backing beat
        lead, back = beats.numerator, beats.denominator
        words += f", {back} backing beat{'s' if back > 1 else ''} to {lead} lead beat" + (
            "s" if lead > 1 else ""
        )
    return words


def shift_words(shift: int) -> str:
    """The key shift as a person would say it: "shifted -1 semitone", "not shifted"."""
    if not shift:
        return "not shifted"
    return f"shifted {shift:+d} semitone{'' if abs(shift) == 1 else 's'}"


def cents(semitones: float) -> int:
    return round(semitones * 100)


def _song_summary(song: Song) -> dict[str, object]:
    a = song.analysis
    return plain(
        {
            "name": song.name,
            "duration": round(a.duration, 1),
            "tempo": round(a.tempo, 1),
            "tempo_confidence": round(a.beat_confidence, 2),
            "tempo_runner_up": round(a.tempo_runner_up, 1) if a.tempo_runner_up else None,
            "tempo_given": a.tempo_given,
            "tempo_sections": [
                {"from": round(x.start, 1), "bpm": round(x.bpm, 1)} for x in a.tempo_sections
            ],
            "has_beat": a.has_beat,
            "ternary": a.ternary,
            "beats_per_bar": a.beats_per_bar,
            "key": a.key_name if a.has_key else None,
            "has_key": a.has_key,
            "key_confidence": round(a.key_confidence, 2),
            "key_by_notes": key_name(*a.key_by_notes) if a.key_by_notes else None,
            "key_by_chords": key_name(*a.key_by_chords) if a.key_by_chords else None,
            "key_uncertain": key_uncertain(a),
            "key_given": a.key_given,
            "camelot": a.camelot if a.has_key else None,
            "tuning_cents": cents(a.tuning),
            "lufs": round(a.lufs, 1),
            "vocal_pitch_hz": round(song.pitch, 0) if song.pitch else None,
        }
    )


# An unsure reading (key.UNCERTAIN) names this many of the next keys its scores give, as
# keys it may also be: not planned for (matching's notes), but what a person who knows
# the song may recognise and give on the remake form.
MAY_ALSO_BE = 2


def _key_text(a: Analysis) -> str:
    """The key as read, with the readings nearly as plausible (matching plans for them),
    the key of the song's notes among them when it is another; where the notes named the
    key (a near-tie broken, an unsure reading overruled), the key is theirs and the
    chords' reading is among the close ones; for an unsure reading, the next keys its
    scores give (MAY_ALSO_BE); a key given, as given (the only one planned for)."""
    if a.key_given:
        return f"{a.key_name} ({a.camelot}) as you gave it"
    if not a.has_key:
        return f"{NO_KEY} (no notes that fit a key)"
    labels = {a.key_by_chords: " by its chords"} if a.key_by_chords else {}
    if a.key_doubted and a.key_by_notes:
        labels[a.key_by_notes] = " by its notes"
    planned = matching.readings(a)
    close = [
        f"{key_name(tonic, mode)} {camelot(tonic, mode)}{labels.get((tonic, mode), '')}"
        for (tonic, mode), _ in sorted(planned.items(), key=lambda kv: -kv[1])
        if (tonic, mode) != (a.tonic, a.mode)
    ]
    text = f"{a.key_name} ({a.camelot}" + (", by its notes" if a.key_by_chords else "")
    text += f"; close: {', '.join(close)}" if close else ""
    named = [f"{key_name(*key)} {camelot(*key)}" for key in may_also_be(a, planned)]
    text += f"; it may also be {' or '.join(named)}" if named else ""
    return text + ")" + key_doubt_words(a)


NO_KEY = "no key heard"


def key_words(a: Analysis) -> str:
    """The key's name, or that none was heard (``Analysis.has_key``: drums, noise)."""
    return a.key_name if a.has_key else NO_KEY


def may_also_be(
    a: Analysis, planned: dict[tuple[int, str], float] | None = None
) -> list[tuple[int, str]]:
    """The keys an unsure reading (below key.UNCERTAIN) may also be: the next MAY_ALSO_BE
    its scores give that are not planned for (``planned``: ``matching.readings(a)``, when
    the caller has it); none for a sure one, a key given, or scores too weak to weigh (as
    ``matching.readings`` weighs none: a drum loop fits no key)."""
    if not key_uncertain_by_confidence(a) or a.key_given:
        return []
    planned = matching.readings(a) if planned is None else planned
    scored = {key: r for key, r in a.key_scores.items() if math.isfinite(r)}
    if max(scored.values(), default=0.0) <= matching.KEY_MARGIN:
        return []
    ranked = sorted(scored, key=lambda k: -scored[k])
    others = [key for key in ranked if key not in planned and key != (a.tonic, a.mode)]
    return others[:MAY_ALSO_BE]


def key_uncertain(a: Analysis) -> bool:
    """Whether the key reading is unsure (below key.UNCERTAIN) or the key of the song's
    notes puts it in doubt (``Analysis.key_doubted``); a song with no key heard has none to
    be unsure of."""
    return a.has_key and (key_uncertain_by_confidence(a) or a.key_doubted)


def key_uncertain_by_confidence(a: Analysis) -> bool:
    """Whether the key reading is unsure by its own confidence (below key.UNCERTAIN)."""
    return a.key_confidence < UNCERTAIN


def key_doubt_words(a: Analysis) -> str:
    """The words added to an uncertain key (``key_uncertain``), else none."""
    return ", key uncertain" if key_uncertain(a) else ""


def _length_words(song: Song) -> str:
    """How long the song is, with any silence at its ends that the mashups leave out."""
    words = _heard_words(song)
    laid = song.analysis.sounding
    if laid is None:
        return words
    # A click or a pop is no stretch of a song to name (the longest is named whatever).
    stretches = [x for x in song.analysis.heard_at or () if x == laid or x[1] - x[0] >= 1.0]
    if len(stretches) > 1:
        spans = " and ".join(f"{_span(a, b)}" for a, b in stretches[:MAX_SAID_STRETCHES])
        more = " and more" if len(stretches) > MAX_SAID_STRETCHES else ""
        return (
            f"{words}, heard at {spans}{more} with silence between: the mashups lay "
            f"{_span(*laid)}, the longest"
        )
    first, last = laid
    silences = [
        f"its {end} {format_duration(round(seconds))}"
        for end, seconds in (("first", first), ("last", song.analysis.duration - last))
        if seconds >= SAID_SILENCE
    ]
    return f"{words}, silent for {' and '.join(silences)}" if silences else words


def _span(start: float, end: float) -> str:
    """0:02–0:04 for 2.4–3.6 s: to the nearest seconds (decoding's filter rings some
    hundredths into the silence), and never a span of none (1.5–2.5 s is 0:02–0:03)."""
    first = round(start)
    return f"{format_duration(first)}–{format_duration(max(round(end), first + 1))}"


def _heard_words(song: Song) -> str:
    """How long the song is as heard, and, where that is not the whole file, why: it stops
    before its end (cut short or damaged), or the model takes no more of it."""
    heard, whole = round(song.analysis.duration), song.whole_seconds
    longer = whole is not None and whole > heard + 1
    if song.cut_short:
        said = f", short of the {format_duration(round(whole or 0))} it says it holds"
        said = said if longer else ""
        return f"{heard} s: the file stops there{said} (cut short or damaged)"
    if longer:
        return (
            f"{heard} s (the first {format_duration(heard)} of its "
            f"{format_duration(round(whole or 0))}: more than the longest mashup this model makes)"
        )
    return f"{heard} s"


def _tempo_text(a: Analysis) -> str:
    """The tempo as read: its feel, and the other reading when it is nearly as likely; for a
    song heard without a steady beat, that (its best-scoring level is no beat to hear)."""
    if not a.has_beat:
        return "no steady beat"
    words = f"{a.tempo:.1f} BPM" + (" as you gave it" if a.tempo_given else "")
    words += " (ternary feel)" if a.ternary else ""
    if a.beats_per_bar != 4:
        words += f", {matching.bar_words(a.beats_per_bar)} beats a bar"
    if a.tempo_runner_up:
        words += f", or {a.tempo_runner_up:.1f} BPM: the beat is ambiguous"
    if a.tempo_sections:
        words += f", its tempo changing: {tempo_sections_words(a)}"
    return words


OFFBEAT_WORDS = ", the backing half a beat over (laid on the offbeats of its beat grid, as asked)"
OFFBEAT_KEPT_WORDS = (
    ", the backing kept on its beats (asked half a beat over, but its beat divides in three: "
    "halfway is no point of it)"
)


def _on_offbeats(params: MashupParams, backing: Analysis) -> bool:
    """Whether the backing is laid on the offbeats of its grid: asked for, and it has a beat
    in two to move (a swung or 6/8 beat divides in three: halfway is no point of it)."""
    return params.backing_offbeat and backing.has_beat and not backing.ternary


def _offbeat_words(params: MashupParams, backing: Analysis) -> str:
    if _on_offbeats(params, backing):
        return OFFBEAT_WORDS
    return OFFBEAT_KEPT_WORDS if params.backing_offbeat and backing.has_beat else ""


# Each note (a warning) on a line of ``describe``'s text follows this mark, so a page can
# list them apart (mashups/templatetags) and the text still reads as one sentence.
NOTE_MARK = "; note: "


def describe(
    songs: list[Song],
    pairs: list[tuple[Song, Song]],
    params: MashupParams,
    variants: dict[int, Variant] | None = None,
) -> str:
    """The analysis as the page shows it: each song as read, then each mashup as planned
    or, once ``variants`` are made, as made: its tempo relation as laid (the alignment
    check may have read a beat again) and the layers' measured offset."""
    lines = []
    for song in songs:
        a = song.analysis
        tuning = cents(a.tuning)
        unheard = (
            " (no steady beat was heard: laid on a beat at the tempo you gave)"
            if a.beat_only_given
            else ""
        )
        lines.append(
            f"{song.name}: {_tempo_text(a)}{unheard}, {_key_text(a)}, "
            + (f"tuned {tuning:+d} cents from A440, " if abs(tuning) >= AUDIBLE_CENTS else "")
            + f"{a.lufs:.1f} LUFS, {_length_words(song)}"
        )
    if styled := style.described(params.style, params.style_weight):
        lines.append(styled)
    for index, (lead, backing) in enumerate(pairs, start=1):
        fit = matching.match(lead.analysis, backing.analysis)
        what = "lead" if params.instrumental else "vocals"
        notes = [*fit.warnings, *voice_warnings(lead, backing, params)]
        tempo, stretch, ratio = backing.analysis.tempo, fit.stretch, fit.ratio
        made = ""
        if variants and index in variants:
            summary: dict[str, Any] = variants[index].summary
            tempo, stretch = summary["backing_tempo"], summary["stretch"]
            ratio, notes = summary["tempo_ratio"], list(summary["warnings"])
            start, end = summary["section"]
            made = (
                f", {summary['offset_text']}"
                + (f" ({summary['reread']})" if summary["reread"] else "")
                # whole bars of the lead are laid: a track can be shorter than its songs
                + f", {format_duration(summary['duration'])} long: {format_duration(start)}"
                f" to {format_duration(end)} of {lead.name}"
            )
        tuned = cents(fit.tuning)
        lines.append(
            f"Mashup {index}: {what} of {lead.name} over {backing.name}, "
            + (
                f"{tempo_words(tempo, stretch, ratio)}, "
                if backing.analysis.has_beat or stretch != 1
                else "backing kept at its own speed, "  # no beat: see _tempo_text
            )
            + shift_words(fit.shift)
            + (f", tuned {tuned:+d} cents to match" if abs(tuned) >= AUDIBLE_CENTS else "")
            + (f", Camelot distance {fit.key_distance}" if fit.key_distance is not None else "")
            + _offbeat_words(params, backing.analysis)
            + made
            + "".join(f"{NOTE_MARK}{note}" for note in notes)
        )
    return "\n".join(lines)
