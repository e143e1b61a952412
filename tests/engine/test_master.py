"""Mastering: −14 LUFS ±1, true peak ≤ −1 dBTP, no clipping (engine/master.py).

Loudness is checked with pyloudnorm and the true peak by plain 4× oversampling of the whole
signal, not with the functions under test.
"""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
import scipy.signal

from mashup_site.engine import master as master_module
from mashup_site.engine.master import master, true_peak_db
from tests import signals

SR = signals.SR


def reference_true_peak(audio: np.ndarray) -> float:
    up = scipy.signal.resample_poly(audio.astype(np.float64), 4, 1, axis=-1)
    return float(20 * np.log10(np.abs(up).max()))


def peaky(gain_db: float) -> np.ndarray:
    """Loud clicks over a quiet song: at −14 LUFS the clicks would peak far above 0 dBFS."""
    song = signals.song(120, 0, "major", 12)["mix"] * 0.05 + signals.click_track(120, 12)
    return song * np.float32(10 ** (gain_db / 20))


@pytest.mark.parametrize(
    "mix",
    [
        signals.song(120, 0, "major", 12)["mix"] * np.float32(0.03),
        signals.song(120, 0, "major", 12)["mix"],
        peaky(0),
        peaky(-20),
    ],
    ids=["quiet", "song", "peaky", "peaky-quiet"],
)
def test_it_masters_to_minus_14_lufs_under_minus_1_dbtp(mix: np.ndarray) -> None:
    out, lufs, peak = master(mix, SR)
    measured = pyloudnorm.Meter(SR).integrated_loudness(out.T.astype(np.float64))
    print(f"mastered: {measured:.2f} LUFS, {reference_true_peak(out):.2f} dBTP")
    assert abs(measured + 14) <= 1
    assert lufs == pytest.approx(measured, abs=0.2)
    assert reference_true_peak(out) <= -1.0 + 0.1  # the reference filter ripples ±0.1 dB
    assert peak <= -1.0
    assert np.abs(out).max() < 1.0


def test_it_finds_inter_sample_peaks_a_sample_peak_misses() -> None:
    t = np.arange(SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * SR / 4 * t + np.pi / 4)).astype(np.float32)[None]
    sample_peak = 20 * np.log10(np.abs(tone).max())
    assert true_peak_db(tone) == pytest.approx(-6.02, abs=0.15)
    assert true_peak_db(tone) > sample_peak + 2.5


def test_it_reads_a_bright_songs_true_peak_as_a_fine_resampling_does() -> None:
    # BS.1770's 48-tap filter loses 2 dB at 20 kHz: it read this song 0.4 dB low, and a
    # click track mastered to "-1.3 dBTP" measured -0.9 here.
    out, _, peak = master(signals.song(120, 0, "major", 12)["mix"], SR)
    print(f"read {peak:.2f}, resampled {reference_true_peak(out):.2f} dBTP")
    assert true_peak_db(out) == pytest.approx(reference_true_peak(out), abs=0.1)


@pytest.mark.parametrize("seed", range(6))
def test_reading_only_the_loud_blocks_finds_the_peak_of_every_sample_oversampled(
    seed: int,
) -> None:
    # Bright hits over a quiet bed, some at the judged blocks' edges (every 64 samples),
    # some with their neighbours a little quieter: the peak read is the one the same
    # filter finds with every sample oversampled.
    rng = np.random.default_rng(seed)
    audio = (0.02 * rng.standard_normal((2, SR))).astype(np.float32)
    edges = rng.choice(SR // 64 - 2, 12, replace=False) * 64 + 64
    for at, level in zip(edges + rng.integers(-2, 2, 12), rng.uniform(0.3, 0.9, 12), strict=True):
        audio[:, at - 1 : at + 2] += np.float32(level) * np.array([0.8, 1.0, -0.8], np.float32)
    audio = scipy.signal.lfilter([0.5, 0.5], [1.0], audio, axis=-1).astype(np.float32)
    up = scipy.signal.upfirdn(master_module.INTERPOLATOR, audio, 4, 1, axis=-1)
    assert true_peak_db(audio) == pytest.approx(20 * np.log10(np.abs(up).max()), abs=1e-5)


def test_a_peak_between_two_blocks_is_read_though_its_own_block_is_quiet() -> None:
    # The loudest sample opens a block (64); the signal overshoots just before it, in a
    # block whose own samples are all more than 3.5 dB down (0.61 at most).
    audio = np.zeros((1, 512), dtype=np.float32)
    audio[0, 60:68] = [-0.135, 0.024, -0.611, 0.56, 1.0, -0.368, 0.016, 0.189]
    up = scipy.signal.upfirdn(master_module.INTERPOLATOR, audio, 4, 1, axis=-1)
    assert 20 * np.log10(np.abs(up).max()) > 1.5  # 1.58 dB over the loudest sample
    assert true_peak_db(audio) == pytest.approx(20 * np.log10(np.abs(up).max()), abs=1e-5)
