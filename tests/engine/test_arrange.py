"""Laying the backing onto the lead's bars, ducking, fades (engine/arrange.py)."""

from __future__ import annotations

import itertools
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from multiprocessing.connection import Connection
from threading import Event

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal

from mashup_site.engine import analysis, arrange, matching, measure
from mashup_site.engine.errors import EngineError
from tests import signals
from tests.engine import instruments, rhythms_heldout

SR = signals.SR


def laid(lead_bpm: float, backing_bpm: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(the lead click track's part under the backing, the drum loop laid on it, the
    timeline's start in the lead, s)."""
    lead = signals.click_track(lead_bpm, 20)
    backing = signals.drum_loop(backing_bpm, 20)
    lead_a, backing_a = analysis.analyse(lead, SR), analysis.analyse(backing, SR)
    fit = matching.match(lead_a, backing_a)
    timeline = arrange.plan(lead_a, backing_a, fit, max_seconds=60)
    layer = arrange.stretch_backing(backing, SR, timeline, shift=0)
    start = int(timeline.start * SR)
    return lead[:, start : start + layer.shape[1]], layer, timeline.start


@pytest.mark.parametrize(("lead_bpm", "backing_bpm"), [(100, 120), (120, 100)])
def test_it_lays_the_backing_beats_on_the_lead_beats(lead_bpm: float, backing_bpm: float) -> None:
    reference, layer, _ = laid(lead_bpm, backing_bpm)
    offset = measure.layer_offset(analysis.to_mono(reference, SR), analysis.to_mono(layer, SR))
    print(f"{backing_bpm} BPM laid on {lead_bpm} BPM: {offset.as_text()}")
    assert offset.median_ms is not None and offset.median_ms <= 20 and offset.aligned


def test_a_backing_read_at_half_its_tempo_lays_its_kicks_on_the_lead_beats() -> None:
    """A rock loop at 170 (kick on 1 and 3, snare on 2 and 4) is read at 85; its grid is
    held on the kicks (``analysis.on_the_kick``), so laid on an 85 BPM click its kicks
    fall on the clicks and its snares between them. (The onset check lines up loudest
    with loudest and prefers the snare on the click: it cannot judge this layering.) The
    kicks are found by their 55 Hz body, apart from the engine."""
    _, layer, start = laid(85, 170)
    body = scipy.signal.sosfiltfilt(
        scipy.signal.butter(4, (40, 70), "bandpass", fs=SR, output="sos"), layer.mean(axis=0)
    )
    level = np.abs(scipy.signal.hilbert(body))
    peaks, _ = scipy.signal.find_peaks(level, height=0.5 * level.max(), distance=int(0.3 * SR))
    kicks = peaks / SR
    clicks = np.arange(0.25, 20, 60 / 85) - start
    clicks = clicks[(clicks >= 0) & (clicks < layer.shape[1] / SR)]
    apart = np.abs(kicks[:, None] - clicks[None, :]).min(axis=1)
    assert len(kicks) >= 8
    assert np.median(apart) < 0.03, apart


def test_it_caps_the_mashup_at_the_models_length() -> None:
    lead = analysis.analyse(signals.click_track(120, 30), SR)
    timeline = arrange.plan(lead, lead, matching.match(lead, lead), max_seconds=10)
    assert timeline.end - timeline.start <= 10


def test_the_silence_before_either_song_is_not_laid() -> None:
    # A lead silent for its first 10 s made the backing play alone there, and a backing
    # silent for 8 s laid its silence under the lead's first bars.
    lead = np.concatenate([np.zeros((2, 10 * SR), np.float32), signals.click_track(120, 16)], 1)
    backing = np.concatenate([np.zeros((2, 8 * SR), np.float32), signals.drum_loop(100, 16)], 1)
    lead_a, backing_a = analysis.analyse(lead, SR), analysis.analyse(backing, SR)
    timeline = arrange.plan(lead_a, backing_a, matching.match(lead_a, backing_a), 60)
    assert 10.25 - 2.0 < timeline.start <= 10.25 + 0.1  # the bar that holds the first click
    assert timeline.backing_grid[0][0] > 8 - 2.4  # 2.4 s: a bar at 100 BPM
    assert timeline.backing_grid.min() > 8 - 2.4  # and it loops from there


def test_the_silence_after_a_backing_is_not_looped_into_the_lead() -> None:
    lead = signals.click_track(100, 40)
    backing = np.concatenate([signals.drum_loop(100, 16), np.zeros((2, 20 * SR), np.float32)], 1)
    lead_a, backing_a = analysis.analyse(lead, SR), analysis.analyse(backing, SR)
    timeline = arrange.plan(lead_a, backing_a, matching.match(lead_a, backing_a), 60, bars=1)
    assert timeline.backing_grid.max() < 16 + 2.4 + 0.2  # the bar that holds its last sound
    assert len(np.unique(timeline.backing_grid[:, 0])) < len(timeline.backing_grid)  # loops


def test_it_ducks_the_backing_where_the_lead_sings() -> None:
    backing = signals.chord_progression(0, "major", 100, 6)
    lead = np.zeros_like(backing)
    lead[:, 3 * SR :] = 0.3  # loud from 3 s on
    ducked = arrange.duck(backing, lead, SR)
    gain_before = np.abs(ducked[:, SR : 2 * SR]).mean() / np.abs(backing[:, SR : 2 * SR]).mean()
    gain_under = (
        np.abs(ducked[:, 4 * SR : 5 * SR]).mean() / np.abs(backing[:, 4 * SR : 5 * SR]).mean()
    )
    assert gain_before == pytest.approx(1, abs=0.01)
    assert 20 * np.log10(gain_under) == pytest.approx(-4, abs=0.5)


def test_it_fades_in_and_out() -> None:
    x = np.ones((2, 20 * SR), dtype=np.float32)
    faded = arrange.fades(x, SR)
    assert faded[0, 0] == 0 and faded[0, -1] == 0 and faded[0, 10 * SR] == 1


def peak_hz(x: np.ndarray, near: float) -> float:
    """The strongest frequency of ``x`` within a semitone and a half of ``near``, to a
    hundredth of a cent (Hann window, parabola through the log magnitudes)."""
    n = len(x)
    spectrum = np.log(np.abs(np.fft.rfft(x * np.hanning(n), 4 * n)) + 1e-12)
    hz = np.fft.rfftfreq(4 * n, 1 / SR)
    band = np.flatnonzero(np.abs(12 * np.log2(hz[1:] / near)) < 1.5) + 1
    k = band[np.argmax(spectrum[band])]
    a, b, c = spectrum[k - 1 : k + 2]
    return float((k + 0.5 * (a - c) / (a - 2 * b + c)) * SR / (4 * n))


@pytest.mark.parametrize("semitones", [-3, -1, 2, 3, -0.32, 0.05, 2.68])
def test_it_shifts_pitch_by_semitones_and_fractions_keeping_the_level(semitones: float) -> None:
    # Fractions: a key shift plus a tuning correction (A=432 against A=440 is -0.32).
    t = np.arange(4 * SR) / SR
    tone = np.stack([0.3 * np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)
    shifted, speed = arrange.pitch_resample(tone, semitones)
    cents = 1200 * np.log2(peak_hz(shifted[0], 440 * 2 ** (semitones / 12)) / 440)
    assert cents == pytest.approx(100 * semitones, abs=1)
    assert shifted.shape[1] == pytest.approx(tone.shape[1] / speed, abs=2)
    assert np.abs(shifted[:, SR:-SR]).max() == pytest.approx(0.3, abs=0.005)


@pytest.mark.parametrize("stretch", [0.8, 0.96, 1.04, 1.25])
def test_it_keeps_the_bass_and_chords_in_tune_while_stretching(stretch: float) -> None:
    # A band (bass from C2, chords from C3, with partials) at 100 BPM laid on bars
    # ``stretch`` times as long. With Rubber Band's default "crisp" transients these notes
    # moved by up to the speed ratio, as on tape: 70 cents at 4 %. (No drums: the kick's
    # 55 Hz would bias the reading of the 65 Hz bass, not the stretcher.)
    backing = instruments.band(0, "major", 100, 12)
    bar = 2.4
    timeline = arrange.Timeline(
        start=0.0,
        end=4 * bar * stretch,
        lead_grid=np.arange(5) * bar * stretch,
        backing_grid=np.array([(k * bar, (k + 1) * bar) for k in range(4)]),
    )
    laid = arrange.stretch_backing(backing, SR, timeline, shift=0)
    first_bar = laid[0, int(0.2 * SR) : int((bar * stretch - 0.2) * SR)]  # C major
    off = {hz: 1200 * np.log2(peak_hz(first_bar, hz) / hz) for hz in (65.41, 130.81, 261.63)}
    print(f"x{stretch}: " + ", ".join(f"{hz} Hz {c:+.1f} cents" for hz, c in off.items()))
    assert all(abs(c) < 2 for c in off.values())


def in_bars_of(bpm: float, length: int, first: float = 0.3) -> analysis.Analysis:
    beats = np.arange(first, 60.0, 60 / bpm)
    return analysis.Analysis(
        60.0, bpm, beats, beats[::length], 0, "major", -14.0, 0.9, beats_per_bar=length
    )


def beats_in(grid: np.ndarray, song: analysis.Analysis) -> np.ndarray:
    return np.round(np.diff(grid) / (60 / song.tempo)).astype(int)


def test_two_songs_in_three_are_laid_bar_on_bar() -> None:
    lead, backing = in_bars_of(120, 3), in_bars_of(126, 3, first=0.1)
    timeline = arrange.plan(lead, backing, matching.match(lead, backing), 60, bars=1)
    assert set(beats_in(timeline.lead_grid, lead)) == {3}
    assert np.isin(timeline.lead_grid, lead.downbeats).all()
    assert np.isin(timeline.backing_grid.ravel(), backing.downbeats).all()


@pytest.mark.parametrize(("lead_bar", "backing_bar"), [(3, 4), (4, 3)])
def test_a_song_in_three_and_one_in_four_are_cut_in_twelve_beats_whole_bars_of_both(
    lead_bar: int, backing_bar: int
) -> None:
    # Cut at their own bars, three beats of one would be stretched over four of the other;
    # cut in fours, a waltz would be broken mid-bar where sections join and loop.
    lead, backing = in_bars_of(120, lead_bar), in_bars_of(126, backing_bar, first=0.1)
    timeline = arrange.plan(lead, backing, matching.match(lead, backing), 60)
    assert set(beats_in(timeline.lead_grid, lead)) == {12}
    assert set(np.round(np.diff(timeline.backing_grid, axis=1).ravel() * 126 / 60)) == {12}
    assert timeline.lead_grid[0] == pytest.approx(lead.downbeats[0])
    assert np.isin(timeline.backing_grid.ravel(), backing.beats[backing.beats >= 0.1]).all()


def test_a_waltz_over_a_song_in_four_at_half_its_tempo_holds_whole_bars_of_both() -> None:
    lead, backing = in_bars_of(120, 3), in_bars_of(61, 4, first=0.1)
    fit = matching.match(lead, backing)
    assert fit.ratio == 2
    timeline = arrange.plan(lead, backing, fit, 60)
    assert set(beats_in(timeline.lead_grid, lead)) == {24}  # 8 bars of three
    assert set(np.round(np.diff(timeline.backing_grid, axis=1).ravel() * 61 / 60)) == {12}


@pytest.mark.parametrize(
    ("ratio", "bars", "expected"),
    [(1.0, 4, (4, 4)), (2.0, 4, (4, 2)), (0.5, 4, (4, 8)), (2.0, 1, (2, 1)), (0.5, 1, (1, 2)),
     (2.0, 3, (4, 2))],
)  # fmt: skip
def test_segments_hold_whole_bars_of_both_songs_at_half_and_double_time(
    ratio: float, bars: int, expected: tuple[int, int]
) -> None:
    # One lead bar at double time is half a backing bar: the segment takes two.
    assert arrange.segment_bars(ratio, bars) == expected


def test_a_waltz_laid_over_a_song_in_four_keeps_its_beats_on_the_leads() -> None:
    # The whole chain on audio: the waltz is read in three, the rock song in four, and both
    # are cut in twelve beats, so each of the waltz's beats is stretched onto one of the lead's.
    from tests.engine import rhythms

    lead = rhythms.groove("straight", 120.0, 30.0, seed=1).audio
    backing = rhythms.groove("waltz", 122.0, 30.0, seed=1).audio
    lead_a, backing_a = analysis.analyse(lead, SR), analysis.analyse(backing, SR)
    assert (lead_a.beats_per_bar, backing_a.beats_per_bar) == (4, 3)
    fit = matching.match(lead_a, backing_a)
    assert any("bar lines meet only every 12 of the lead's beats" in w for w in fit.warnings)
    timeline = arrange.plan(lead_a, backing_a, fit, max_seconds=60)
    layer = arrange.stretch_backing(backing, SR, timeline, shift=0)
    start = int(timeline.start * SR)
    reference = lead[:, start : start + layer.shape[1]]
    offset = measure.layer_offset(analysis.to_mono(reference, SR), analysis.to_mono(layer, SR))
    print(f"waltz over rock: {offset.as_text()}")
    assert offset.median_ms is not None and offset.median_ms <= 20


@pytest.mark.parametrize(("lead_bar", "backing_bar"), [(3, 4), (4, 3)])
def test_songs_too_short_for_twelve_beats_are_cut_in_fours_at_the_matched_stretch(
    lead_bar: int, backing_bar: int
) -> None:
    # An 8 s backing at 62 BPM holds no unit of twelve of its beats at half time.
    lead = in_bars_of(120, lead_bar)
    short = in_bars_of(62, backing_bar, first=0.1)
    backing = analysis.Analysis(
        8.0, 62, short.beats[short.beats < 8], short.downbeats[short.downbeats < 8], 0,
        "major", -14.0, 0.9, beats_per_bar=backing_bar,
    )  # fmt: skip
    fit = matching.match(lead, backing)
    timeline = arrange.plan(lead, backing, fit, 60)
    lead_seconds = np.diff(timeline.lead_grid)
    backing_seconds = np.diff(timeline.backing_grid, axis=1).ravel() * fit.stretch
    assert np.allclose(lead_seconds, backing_seconds, rtol=0.03)


def _click_times(layer: np.ndarray) -> np.ndarray:
    """Where a click track's clicks sound in ``layer``, found by their own level (not
    by the engine's onsets): each one's attack, where it first reaches half its peak."""
    level = np.abs(scipy.signal.hilbert(layer.mean(axis=0)))
    level = scipy.ndimage.maximum_filter1d(level, int(0.002 * SR))
    peaks, _ = scipy.signal.find_peaks(level, height=0.2 * level.max(), distance=int(0.25 * SR))
    attacks = []
    for p in peaks:
        before = level[max(0, p - int(0.03 * SR)) : p + 1]
        attacks.append(p - len(before) + 1 + int(np.argmax(before >= level[p] / 2)))
    return np.array(attacks) / SR


def test_a_backing_whose_drummer_pushes_and_pulls_is_laid_beat_on_beat() -> None:
    # A backing section is stretched to its lead section's length, four bars at a time;
    # inside it, a tempo that moves (a drummer pushing and pulling ±3 % over four bars, a
    # grid run on over a silent intro) was stretched as if steady, and the beats between
    # its ends fell up to ~40 ms from the lead's (a song laid over itself after 12 s of
    # silence: 52 ms apart, and 0 four bars on).
    period = 60 / 110
    swing = 1 + 0.03 * np.sin(2 * np.pi * np.arange(80) / 16)
    backing_times = 0.3 + np.concatenate([[0.0], np.cumsum(period * swing)])
    backing = signals.clicks_at(backing_times, 40)
    lead = signals.click_track(110, 40)
    lead_a, backing_a = analysis.analyse(lead, SR), analysis.analyse(backing, SR)
    fit = matching.match(lead_a, backing_a)
    timeline = arrange.plan(lead_a, backing_a, fit, max_seconds=60)
    layer = arrange.stretch_backing(backing, SR, timeline, shift=0)
    heard = _click_times(layer)
    lead_times = _click_times(lead[:, int(timeline.start * SR) :][:, : layer.shape[1]])
    apart = np.abs(heard[:, None] - lead_times[None, :]).min(axis=1) * 1000
    print(
        f"backing clicks from the lead's: median {np.median(apart):.1f} ms, most {apart.max():.1f}"
    )
    assert len(heard) >= 40
    assert np.percentile(apart, 90) <= 8


def _timeline(lead_beats: np.ndarray, backing_beats: np.ndarray) -> arrange.Timeline:
    return arrange.Timeline(
        start=0.0,
        end=8.0,
        lead_grid=np.array([0.0, 8.0]),
        backing_grid=np.array([[0.0, 8.0]]),
        lead_beats=lead_beats,
        backing_beats=backing_beats,
    )


def test_a_backing_in_half_time_is_laid_on_every_second_lead_beat() -> None:
    lead = np.arange(0.0, 8.01, 0.5)
    backing = np.arange(0.0, 8.01, 1.0) + np.array([0, 0.05, 0, 0, 0, 0, 0, 0, 0])
    backing_at, lead_at = arrange.segment_warp(
        _timeline(lead, backing), lead[[0, -1]], backing[[0, -1]]
    )
    assert np.allclose(lead_at, np.arange(0.0, 8.01, 1.0))
    assert backing_at[1] == pytest.approx(1.05)


@pytest.mark.parametrize(
    "backing",
    [
        np.delete(np.arange(0.0, 8.01, 0.5), 7),  # the grid skipped a beat
        np.arange(0.0, 8.01, 0.5) + 0.3 * (np.arange(17) == 8),  # one beat far off
    ],
    ids=["skipped", "bent"],
)
def test_a_grid_that_does_not_pair_is_stretched_evenly(backing: np.ndarray) -> None:
    lead = np.arange(0.0, 8.01, 0.5)
    backing_at, lead_at = arrange.segment_warp(
        _timeline(lead, backing), lead[[0, -1]], backing[[0, -1]]
    )
    assert list(backing_at) == [0.0, 8.0] and list(lead_at) == [0.0, 8.0]


def test_a_song_shorter_than_two_bars_at_its_tempo_is_refused_saying_so() -> None:
    # A 5.5 s held chord given 40 BPM: one bar of its steady grid fits, and no bar line
    # can be counted from one. The words once said no beat was found, next to an analysis
    # saying it was laid on the beat its owner gave.
    with pytest.raises(EngineError, match="fewer than two bars of beats at its tempo"):
        arrange._grid(np.array([0.0]), np.array([0.0, 1.5, 3.0, 4.5]), 5.5)


def test_the_segments_lay_the_same_backing_on_one_thread_as_on_many(monkeypatch) -> None:
    # Both variants' segments share the stretching threads and finish in any order (here
    # the first finishes last); each is laid where it belongs, so the backing is the same
    # sample for sample.
    stretch, calls = arrange._stretch, []

    def first_comes_back_last(*args):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.3)
        return stretch(*args)

    monkeypatch.setattr(arrange, "_stretch", first_comes_back_last)
    spread = laid(100, 120)[1]
    monkeypatch.setattr(arrange, "_stretch", stretch)
    one = ThreadPoolExecutor(max_workers=1)
    monkeypatch.setattr(arrange, "_stretchers", lambda: one)
    alone = laid(100, 120)[1]
    one.shutdown()
    assert arrange.STRETCHERS >= 2
    assert np.abs(spread).max() > 0.1
    np.testing.assert_array_equal(spread, alone)


def test_the_cpu_each_segment_took_in_its_thread_is_told(monkeypatch) -> None:
    lead_a = analysis.analyse(signals.click_track(100, 20), SR)
    backing = signals.drum_loop(120, 20)
    backing_a = analysis.analyse(backing, SR)
    fit = matching.match(lead_a, backing_a)
    timeline = arrange.plan(lead_a, backing_a, fit, max_seconds=60)
    told: list[float] = []
    arrange.stretch_backing(backing, SR, timeline, shift=0, on_cpu=told.append)
    assert len(told) == len(timeline.lead_grid) - 1  # one a segment
    assert all(seconds > 0 for seconds in told)


def _stretch_in_child(done: Connection) -> None:
    done.send(float(np.abs(laid(100, 120)[1]).max()))


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_process_forked_after_stretching_stretches_too() -> None:
    # A worker process forked from one that has stretched inherits no stretching threads.
    assert np.abs(laid(100, 120)[1]).max() > 0.1
    mine, theirs = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(target=_stretch_in_child, args=(theirs,))
    child.start()
    try:
        assert mine.poll(60), "the forked process never finished stretching"
        assert mine.recv() > 0.1
    finally:
        child.kill()
        child.join()


def test_two_backings_stretched_at_once_take_turns_on_the_threads(monkeypatch) -> None:
    # One stretching thread, held until the second backing has a segment waiting; the
    # second backing comes a moment after the first, time enough for the first to have
    # queued all it would. The segments are then stretched a few of one backing, a few of
    # the other, in turn, so both are done together (the first used to be stretched whole,
    # then the second).
    lead_a = analysis.analyse(signals.click_track(100, 30), SR)
    backings = [signals.drum_loop(120, 30), signals.drum_loop(120, 30) * np.float32(0.5)]
    backing_a = analysis.analyse(backings[0], SR)
    fit = matching.match(lead_a, backing_a)
    timeline = arrange.plan(lead_a, backing_a, fit, 60, bars=1)  # a segment a bar
    one, second_waiting, order = ThreadPoolExecutor(max_workers=1), Event(), []

    class Watched:
        def submit(self, fn, *args):
            if np.shares_memory(args[0], backings[1]):
                second_waiting.set()
            return one.submit(fn, *args)

    stretch = arrange._stretch

    def noted(piece, *args):
        assert second_waiting.wait(30)
        order.append(next(k for k, b in enumerate(backings) if np.shares_memory(piece, b)))
        return stretch(piece, *args)

    monkeypatch.setattr(arrange, "_stretchers", Watched)
    monkeypatch.setattr(arrange, "_stretch", noted)
    with ThreadPoolExecutor(max_workers=2) as variants:
        first = variants.submit(arrange.stretch_backing, backings[0], SR, timeline, 0)
        time.sleep(0.3)
        second = variants.submit(arrange.stretch_backing, backings[1], SR, timeline, 0)
        laid = [first.result(), second.result()]
    one.shutdown()
    segments = len(timeline.lead_grid) - 1
    assert segments >= 3 * arrange.IN_FLIGHT
    assert sorted(order) == [0] * segments + [1] * segments
    runs = [len(list(run)) for _, run in itertools.groupby(order)]
    assert max(runs) <= arrange.IN_FLIGHT, order
    np.testing.assert_allclose(laid[1], laid[0] * 0.5, atol=1e-5)


def test_a_segment_that_fails_leaves_none_of_the_rest_to_be_stretched(monkeypatch) -> None:
    lead_a = analysis.analyse(signals.click_track(100, 30), SR)
    backing = signals.drum_loop(120, 30)
    backing_a = analysis.analyse(backing, SR)
    timeline = arrange.plan(lead_a, backing_a, matching.match(lead_a, backing_a), 60, bars=1)
    one, released, begun = ThreadPoolExecutor(max_workers=1), Event(), []

    def failing_first(*args):
        begun.append(1)
        if len(begun) == 1:
            raise RuntimeError("Rubber Band failed")
        released.wait(30)  # the next one, begun before the failure was seen, ends later
        return arrange._stretch(*args)

    monkeypatch.setattr(arrange, "_stretchers", lambda: one)
    submit = one.submit
    monkeypatch.setattr(one, "submit", lambda fn, *args: submit(failing_first, *args))
    with pytest.raises(RuntimeError, match="Rubber Band failed"):
        arrange.stretch_backing(backing, SR, timeline, shift=0)
    released.set()
    one.shutdown(wait=True)
    assert arrange.IN_FLIGHT >= 3
    assert len(begun) <= 2  # the first, and at most the one begun before it failed


def stepping(first: float, then: float, beats: int = 16, at: int = 12) -> np.ndarray:
    """Beat times at ``first`` seconds a beat for ``at`` beats, then ``then``."""
    return np.concatenate([[0.0], np.cumsum([first] * at + [then] * (beats - at))])


def test_a_segment_across_a_change_of_tempo_lays_each_beat_on_the_leads() -> None:
    """96 BPM then 120 against a steady 110: the bends step, +5 % then −16 %; laid evenly
    the backing ran up to 0.29 s off the lead's beats around the change."""
    lead = stepping(60 / 96, 0.5)
    backing = np.arange(17) * 60 / 110
    timeline = replace(_timeline(lead, backing), end=float(lead[-1]), tempo_changes=True)
    backing_at, lead_at = arrange.segment_warp(timeline, lead[[0, -1]], backing[[0, -1]])
    assert np.allclose(lead_at, lead) and np.allclose(backing_at, backing)
    steady = replace(timeline, tempo_changes=False)  # as a song of one tempo is judged
    assert len(arrange.segment_warp(steady, lead[[0, -1]], backing[[0, -1]])[0]) == 2


def test_across_a_change_of_tempo_a_doubled_beat_still_stands_out() -> None:
    lead = stepping(60 / 96, 0.5)
    backing = np.arange(17) * 60 / 110 + 0.25 * (np.arange(17) == 5)
    timeline = replace(_timeline(lead, backing), end=float(lead[-1]), tempo_changes=True)
    backing_at, _ = arrange.segment_warp(timeline, lead[[0, -1]], backing[[0, -1]])
    assert list(backing_at) == [0.0, backing[-1]]


def test_beats_are_smoothed_in_each_tempo_section_apart() -> None:
    beats = stepping(0.6, 0.5, beats=40, at=20)
    sections = (
        analysis.TempoSpan(0.0, float(beats[20]) - 0.1, 100.0),
        analysis.TempoSpan(float(beats[20]) - 0.1, 30.0, 120.0),
    )
    assert np.allclose(arrange.steady_beats(beats, sections), beats, atol=1e-9)
    assert np.max(np.abs(arrange.steady_beats(beats) - beats)) > 0.01  # one quadratic blurs it


def test_bars_before_the_first_downbeat_run_at_the_first_bars_period() -> None:
    """A song at 100 BPM, then 120 for longer: before its first downbeat the grid ran on
    at the period of most of its bars (2.0 s), and the first bar came out 0.4 s short."""
    marks = np.concatenate([2.4 + 2.4 * np.arange(5), 14.4 + 2.0 * np.arange(1, 12)])
    grid = arrange._grid(marks, np.zeros(0), 40.0, changes=True)
    assert grid[0] == pytest.approx(0.0) and grid[1] == pytest.approx(2.4)
    steady = arrange._grid(2.4 + 2.4 * np.arange(10), np.zeros(0), 26.0, changes=True)
    assert steady[0] == pytest.approx(0.0)
    # A song of one tempo runs on at its bars' period, however its first bars were heard.
    assert arrange._grid(marks, np.zeros(0), 40.0)[0] == pytest.approx(0.4)


def test_the_beats_either_side_of_a_change_of_tempo_are_laid_where_they_were_heard() -> None:
    """Smoothed across the change (the old tempo's last beat in the new tempo's piece), the
    beats either side moved 40–75 ms (a review of stop 50)."""
    example = rhythms_heldout.tempo_changes("waltz", (100.0, 120.0), 30.0, seed=5)
    song = analysis.analyse(example.audio, example.sr)
    assert len(song.tempo_sections) == 2
    beats = np.asarray(song.beats)
    near = np.abs(beats - song.tempo_sections[1].start) < 3.0
    moved = np.abs(arrange.steady_beats(beats, song.tempo_sections) - beats)[near]
    assert np.max(moved) < 0.015, moved
