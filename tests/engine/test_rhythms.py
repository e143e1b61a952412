"""The groove generator itself (tests/engine/rhythms.py): its audio and the truth it
reports agree. These say nothing about the engine."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine import rhythms

SECONDS = 12.0


def nearest(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each of ``targets``, the distance (s) to the nearest of ``times``."""
    return np.abs(times[None, :] - targets[:, None]).min(axis=1)


@pytest.mark.parametrize("category", list(rhythms.CATEGORIES))
def test_each_category_gives_stereo_float32_audio_of_the_length_asked(category: str) -> None:
    example = rhythms.groove(category, np.mean(rhythms.CATEGORIES[category].tempi), SECONDS)
    assert example.audio.shape == (2, int(SECONDS * rhythms.SR))
    assert example.audio.dtype == np.float32
    assert 0.5 < np.abs(example.audio).max() <= 1.0
    assert np.isfinite(example.audio).all()
    # sound from the first second to the last
    assert np.abs(example.audio[:, : rhythms.SR]).max() > 0.05
    assert np.abs(example.audio[:, -rhythms.SR :]).max() > 0.05


def test_the_same_seed_plays_the_same_groove_and_another_seed_another() -> None:
    a = rhythms.groove("funk", 100, SECONDS, seed=3)
    b = rhythms.groove("funk", 100, SECONDS, seed=3)
    c = rhythms.groove("funk", 100, SECONDS, seed=4)
    np.testing.assert_array_equal(a.audio, b.audio)
    np.testing.assert_array_equal(a.beat_times, b.beat_times)
    assert not np.allclose(a.beat_times[:3], c.beat_times[:3])


@pytest.mark.parametrize("category", list(rhythms.CATEGORIES))
def test_the_beats_are_the_truth_tempo_apart_and_the_downbeats_a_bar(category: str) -> None:
    bpm = rhythms.CATEGORIES[category].tempi[0] + 7
    example = rhythms.groove(category, bpm, SECONDS, seed=1)
    np.testing.assert_allclose(np.diff(example.beat_times), 60 / bpm)
    np.testing.assert_allclose(np.diff(example.downbeat_times), 60 / bpm * example.beats_per_bar)
    # the downbeats are beats, and the phase is not given away: nothing starts at 0
    assert nearest(example.beat_times, example.downbeat_times).max() < 1e-9
    assert 0 < example.beat_times[0] < 60 / bpm
    assert example.beat_times[0] > 0.01
    assert example.downbeat_times[0] <= example.beat_times[0] + 60 / bpm * example.beats_per_bar


def test_phases_differ_between_seeds() -> None:
    starts = {rhythms.groove("straight", 120, 6, seed=s).downbeat_times[0] for s in range(4)}
    assert len(starts) == 4


@pytest.mark.parametrize(
    ("category", "kick_on", "snare_on"),
    [
        ("straight", (0, 2), (1, 3)),
        ("metal", (0, 1, 2, 3), (1, 3)),
        ("halftime", (0,), (2,)),
        ("four_on_floor", (0, 1, 2, 3), ()),
        ("shuffle", (0, 2), (1, 3)),
        ("six_eight", (0,), (1,)),
        ("twelve_eight", (0, 2), (1, 3)),
        ("funk", (0,), (1, 3)),
        ("waltz", (0,), (2,)),
    ],
)
def test_kicks_and_snares_fall_on_the_beats_the_module_says(
    category: str, kick_on: tuple[int, ...], snare_on: tuple[int, ...]
) -> None:
    example = rhythms.groove(category, np.mean(rhythms.CATEGORIES[category].tempi), SECONDS)
    beats = example.beat_times
    index = np.round((beats - example.downbeat_times[0]) / (60 / example.bpm)).astype(int)
    position = index % example.beats_per_bar
    tolerance = 0.012  # 3 σ of the 3 ms jitter, and then some
    for voice, wanted in (("kick", kick_on), ("snare", snare_on)):
        targets = beats[np.isin(position, wanted)]
        if not len(targets):
            continue
        # a fill replaces the snare and kick on the last beat of every 8th bar
        found = nearest(example.hits[voice], targets) < tolerance
        assert found.mean() > 0.85, (voice, found.mean())
    # and the snare's backbeat never sits on the 1
    if snare_on:
        ones = example.downbeat_times
        assert (nearest(example.hits["snare"], ones) > 0.05).all()


def test_halftime_has_one_snare_a_bar_and_hats_on_eighths_of_the_notated_tempo() -> None:
    example = rhythms.groove("halftime", 140, SECONDS, seed=2)
    bar = 4 * 60 / 140
    snares = example.hits["snare"]
    bars = np.floor((snares - example.downbeat_times[0]) / bar)
    single = np.unique(bars, return_counts=True)[1]
    assert np.median(single) == 1
    assert np.median(np.diff(example.hits["hat"])) == pytest.approx(60 / 140 / 2, abs=0.01)


def test_ternary_categories_say_so_and_play_in_threes() -> None:
    for category in ("shuffle", "six_eight", "twelve_eight"):
        example = rhythms.groove(category, 90, SECONDS)
        assert example.ternary
        voice = "ride" if category == "twelve_eight" else "hat"
        gaps = np.diff(example.hits[voice]) / (60 / 90)
        # shuffle: swung eighths, 2/3 then 1/3 of a beat; 6/8 and 12/8: every third
        expected = (1 / 3, 2 / 3) if category == "shuffle" else (1 / 3,)
        assert np.isclose(gaps[:, None], expected, atol=0.05).any(axis=1).all()
    for category in ("straight", "metal", "halftime", "four_on_floor", "funk", "no_drums"):
        assert not rhythms.groove(category, 120, 6).ternary


def test_six_eight_has_two_dotted_quarter_beats_a_bar() -> None:
    example = rhythms.groove("six_eight", 70, SECONDS)
    assert example.beats_per_bar == 2
    eighth = 60 / 70 / 3
    assert np.median(np.diff(example.hits["hat"])) == pytest.approx(eighth, abs=0.01)


def test_swing_moves_the_off_beat_eighths_and_makes_a_straight_groove_ternary() -> None:
    straight = rhythms.groove("straight", 100, SECONDS, seed=5)
    swung = rhythms.groove("straight", 100, SECONDS, seed=5, swing=1.0)
    assert swung.ternary and not straight.ternary
    beat = 0.6

    def phases(example: rhythms.Example) -> np.ndarray:
        return ((example.hits["hat"] - example.downbeat_times[0]) / beat) % 1

    off = phases(straight)[np.abs(phases(straight) - 0.5) < 0.1]
    assert np.median(off) == pytest.approx(0.5, abs=0.02)
    late = phases(swung)[np.abs(phases(swung) - 0.6) < 0.15]
    assert np.median(late) == pytest.approx(2 / 3, abs=0.02)


def test_no_drums_has_only_pitched_parts_on_the_beat() -> None:
    example = rhythms.groove("no_drums", 100, SECONDS)
    assert set(example.hits) == {"bass", "chords", "arpeggio"}
    assert nearest(example.beat_times, example.hits["bass"]).max() < 0.012
