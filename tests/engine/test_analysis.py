"""Tempo, beats, key and loudness of songs whose truth the tests wrote (engine/analysis.py)."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from mashup_site.engine import analysis
from mashup_site.engine.errors import EngineError
from tests import signals

SR = signals.SR


@pytest.mark.parametrize("bpm", [85, 100, 120, 170])
def test_it_finds_the_tempo_of_a_click_track(bpm: float) -> None:
    found = analysis.analyse(signals.click_track(bpm, 12), SR)
    assert found.tempo == pytest.approx(bpm, rel=0.02)
    assert found.has_beat


def test_it_places_beats_on_the_clicks_within_a_few_milliseconds() -> None:
    found = analysis.analyse(signals.click_track(120, 12, start=0.25), SR)
    truth = np.arange(0.25, 12, 0.5)
    nearest = np.abs(found.beats[:, None] - truth[None, :]).min(axis=1)
    print(f"median beat error {np.median(nearest) * 1000:.1f} ms")
    assert np.median(nearest) < 0.010


def test_it_puts_the_downbeat_on_the_low_thump() -> None:
    found = analysis.analyse(signals.click_track(100, 15, start=0.25), SR)
    bar = 4 * 60 / 100
    phase = ((found.downbeats - 0.25) / bar) % 1
    assert np.all(np.minimum(phase, 1 - phase) < 0.05)


@pytest.mark.parametrize(
    ("tonic", "mode", "camelot"),
    [
        (0, "major", "8B"),
        (9, "minor", "8A"),
        (7, "major", "9B"),
        (2, "minor", "7A"),
        (6, "major", "2B"),
        (3, "minor", "2A"),
    ],
)
def test_it_names_the_key_of_a_song_in_a_known_key(tonic: int, mode: str, camelot: str) -> None:
    song = signals.song(110, tonic, mode, 12)
    found = analysis.analyse(song["mix"], SR)
    assert (found.tonic, found.mode, found.camelot) == (tonic, mode, camelot)


def test_it_counts_camelot_steps_around_the_wheel() -> None:
    assert analysis.camelot_distance("8B", "8B") == 0
    assert analysis.camelot_distance("8B", "8A") == 1  # relative minor
    assert analysis.camelot_distance("12B", "1B") == 1  # wraps around
    assert analysis.camelot_distance("8B", "3A") == 6


def test_it_measures_loudness_as_pyloudnorm_does() -> None:
    audio = signals.song(120, 0, "major", 10)["mix"]
    expected = pyloudnorm.Meter(SR).integrated_loudness(audio.T.astype(np.float64))
    assert analysis.integrated_lufs(audio, SR) == pytest.approx(expected, abs=0.1)


def test_it_tells_a_held_chord_and_noise_from_music_with_a_beat() -> None:
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal((2, 10 * SR)) * 0.1).astype(np.float32)
    assert not analysis.analyse(signals.pad(10), SR).has_beat
    assert not analysis.analyse(noise, SR).has_beat
    assert analysis.analyse(signals.song(100, 0, "major", 10)["mix"], SR).has_beat


def test_it_refuses_silence() -> None:
    with pytest.raises(EngineError, match="silent"):
        analysis.analyse(np.zeros((2, 10 * SR), dtype=np.float32), SR, name="quiet.wav")


def test_it_refuses_a_two_second_clip() -> None:
    with pytest.raises(EngineError, match=r"only 2\.0 s long"):
        analysis.analyse(signals.click_track(120, 2), SR, name="clip.wav")
