"""The sectioned-song generator (tests/engine/sections.py): its audio and the truth it
reports agree. Nothing about the engine."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.engine import rhythms, sections

SECONDS = 30.0


def nearest(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    return np.abs(times[None, :] - targets[:, None]).min(axis=1)


def test_it_gives_audio_and_a_steady_beat_across_its_sections() -> None:
    song = sections.song(150, SECONDS, seed=1)
    assert song.audio.shape == (2, int(SECONDS * rhythms.SR))
    assert song.audio.dtype == np.float32
    assert np.isfinite(song.audio).all()
    assert 0.5 < np.abs(song.audio).max() <= 1.0
    np.testing.assert_allclose(np.diff(song.beat_times), 60 / 150)
    np.testing.assert_allclose(np.diff(song.downbeat_times), 4 * 60 / 150)
    assert nearest(song.beat_times, song.downbeat_times).max() < 1e-9
    assert 0 <= song.beat_times[0] < 60 / 150


def test_its_sections_change_style_and_each_follows_the_last() -> None:
    song = sections.song(150, SECONDS, seed=1)
    styles = [style for _, style in song.sections]
    starts = [start for start, _ in song.sections]
    assert len(set(styles)) >= 2
    assert all(a != b for a, b in itertools.pairwise(styles))
    assert starts == sorted(starts)
    bar = 4 * 60 / 150
    for start in starts[1:]:  # each section starts on a downbeat, 4 or 8 bars after the last
        assert nearest(song.downbeat_times, np.array([start]))[0] < 1e-9
    assert {round((b - a) / bar) for a, b in itertools.pairwise(starts[1:])} <= {4, 8}


def test_a_punk_section_puts_its_snare_on_the_offbeats_and_its_kick_on_the_beats() -> None:
    song = sections.song(150, SECONDS, seed=1)
    beat = 60 / 150
    ends = [start for start, _ in song.sections[1:]] + [SECONDS]
    for (start, style), end in zip(song.sections, ends, strict=True):
        if style != "skank":
            continue
        kicks = song.hits["kick"][(song.hits["kick"] >= start) & (song.hits["kick"] < end - 0.05)]
        snares = song.hits["snare"][
            (song.hits["snare"] >= start) & (song.hits["snare"] < end - 0.05)
        ]
        assert nearest(song.beat_times, kicks).max() < 0.03
        assert nearest(song.beat_times + beat / 2, snares).max() < 0.03
        return
    raise AssertionError("seed 1 has no punk section")


def test_the_same_seed_plays_the_same_song_and_another_seed_another() -> None:
    a = sections.song(120, 12.0, seed=3)
    b = sections.song(120, 12.0, seed=3)
    c = sections.song(120, 12.0, seed=4)
    np.testing.assert_array_equal(a.audio, b.audio)
    assert not np.array_equal(a.audio, c.audio)


def test_only_plays_every_section_in_one_style() -> None:
    song = sections.song(130.0, 40.0, seed=3, only="skank")
    assert {style for _, style in song.sections} == {"skank"}


def test_a_style_it_does_not_have_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="no style 'ska'"):
        sections.song(130.0, 10.0, only="ska")
