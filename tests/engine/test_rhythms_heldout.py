"""The held-out groove generator (tests/engine/rhythms_heldout.py): its audio and the
truth it reports agree, with the same conventions as rhythms.py. Nothing about the engine."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine import rhythms, rhythms_heldout

SECONDS = 12.0


def nearest(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    return np.abs(times[None, :] - targets[:, None]).min(axis=1)


@pytest.mark.parametrize("category", list(rhythms.CATEGORIES))
def test_each_category_gives_audio_and_the_truth_of_rhythms_py(category: str) -> None:
    spec = rhythms.CATEGORIES[category]
    bpm = spec.tempi[0] + 7
    example = rhythms_heldout.groove(category, bpm, SECONDS, seed=1)
    assert example.audio.shape == (2, int(SECONDS * rhythms.SR))
    assert example.audio.dtype == np.float32
    assert np.isfinite(example.audio).all()
    assert 0.5 < np.abs(example.audio).max() <= 1.0
    assert np.abs(example.audio[:, -rhythms.SR :]).max() > 0.05
    assert example.beats_per_bar == spec.beats_per_bar
    assert example.ternary == spec.ternary
    np.testing.assert_allclose(np.diff(example.beat_times), 60 / bpm)
    np.testing.assert_allclose(np.diff(example.downbeat_times), 60 / bpm * spec.beats_per_bar)
    assert nearest(example.beat_times, example.downbeat_times).max() < 1e-9
    assert 0.01 < example.beat_times[0] < 60 / bpm


def test_the_same_seed_plays_the_same_groove_and_another_seed_another() -> None:
    a = rhythms_heldout.groove("funk", 100, SECONDS, seed=3)
    b = rhythms_heldout.groove("funk", 100, SECONDS, seed=3)
    c = rhythms_heldout.groove("funk", 100, SECONDS, seed=4)
    np.testing.assert_array_equal(a.audio, b.audio)
    assert not np.allclose(a.beat_times[:3], c.beat_times[:3])


def test_it_does_not_play_rhythms_py_s_audio() -> None:
    held = rhythms_heldout.groove("straight", 120, SECONDS, seed=0).audio
    tuned = rhythms.groove("straight", 120, SECONDS, seed=0).audio
    assert abs(np.corrcoef(held[0], tuned[0])[0, 1]) < 0.2


@pytest.mark.parametrize(
    ("category", "kick_on", "snare_on"),
    [
        ("straight", (0, 2), (1, 3)),
        ("metal", (0, 2), (1, 3)),
        ("halftime", (0,), (2,)),
        ("four_on_floor", (0, 1, 2, 3), ()),
        ("shuffle", (0, 2), (1, 3)),
        ("six_eight", (0,), (1,)),
        ("twelve_eight", (0, 2), (1, 3)),
        ("funk", (0,), (1, 3)),
        ("waltz", (0,), (2,)),
    ],
)
def test_kicks_and_snares_fall_where_the_category_s_truth_says(
    category: str, kick_on: tuple[int, ...], snare_on: tuple[int, ...]
) -> None:
    for seed in (0, 1, 2):
        example = rhythms_heldout.groove(
            category, np.mean(rhythms.CATEGORIES[category].tempi), SECONDS, seed=seed
        )
        beats = example.beat_times
        index = np.round((beats - example.downbeat_times[0]) / (60 / example.bpm)).astype(int)
        position = index % example.beats_per_bar
        for voice, wanted in (("kick", kick_on), ("snare", snare_on)):
            targets = beats[np.isin(position, wanted)]
            if not len(targets) or voice not in example.hits:
                continue
            # jitter up to 8 ms (2.5 σ) and a lean up to 12 ms; fills take some last beats
            found = nearest(example.hits[voice], targets) < 0.035
            assert found.mean() > 0.7, (seed, voice, found.mean())
