"""Signal-processing separation: a sung line comes out in the vocal layer (engine/separation.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage

from mashup_site.engine.separation import (
    SPATIAL_EPS,
    Separator,
    SpectralSeparator,
    Stems,
    _along_time,
    _spatial_voice,
    _voice_gate,
)
from tests import signals
from tests.engine import instruments

SR = signals.SR


def energy_of(part: np.ndarray, layer: np.ndarray) -> float:
    """Energy of ``part`` found in ``layer`` (least-squares projection onto the true part)."""
    return float((layer * part).sum() ** 2 / (part * part).sum())


def ratio_db(song: dict[str, np.ndarray], stems: Stems, part: str) -> float:
    mine, other = (
        (stems.vocals, stems.accompaniment)
        if part == "vocals"
        else (stems.accompaniment, stems.vocals)
    )
    return 10 * np.log10(energy_of(song[part], mine) / (energy_of(song[part], other) + 1e-12))


@pytest.fixture(scope="module")
def stereo() -> tuple[dict[str, np.ndarray], Stems]:
    song = signals.song(110, 9, "minor", 12, f0=220)
    return song, SpectralSeparator().separate(song["mix"], SR)


def test_it_puts_the_vocal_measurably_more_in_the_vocal_layer(stereo) -> None:
    song, stems = stereo
    vocal_db = ratio_db(song, stems, "vocals")
    print(f"vocal in vocal layer vs accompaniment: {vocal_db:+.1f} dB")
    assert vocal_db > 6


def test_it_keeps_drums_and_chords_in_the_accompaniment(stereo) -> None:
    song, stems = stereo
    backing_db = ratio_db(song, stems, "backing")
    print(f"backing in accompaniment vs vocal layer: {backing_db:+.1f} dB")
    assert backing_db > 15


def test_it_loses_nothing_the_layers_sum_to_the_mix(stereo) -> None:
    song, stems = stereo
    assert np.allclose(stems.vocals + stems.accompaniment, song["mix"], atol=1e-5)
    assert stems.vocals.dtype == stems.accompaniment.dtype == np.float32


def test_it_still_separates_a_mono_mix_by_the_voice_moving_and_the_chords_holding() -> None:
    song = {k: v.mean(axis=0, keepdims=True) for k, v in signals.song(110, 0, "major", 12).items()}
    stems = SpectralSeparator().separate(song["mix"], SR)
    assert stems.vocals.shape == (2, song["mix"].shape[1])
    mono = Stems(stems.vocals[:1], stems.accompaniment[:1])
    vocal_db, backing_db = ratio_db(song, mono, "vocals"), ratio_db(song, mono, "backing")
    print(f"mono: vocal {vocal_db:+.1f} dB, backing {backing_db:+.1f} dB")
    assert vocal_db > 6 and backing_db > 3


def test_it_works_at_the_analysis_rate_without_resampling() -> None:
    song = signals.song(110, 0, "major", 8, sr=22050)
    stems = SpectralSeparator().separate(song["mix"], 22050)
    assert stems.vocals.shape == song["mix"].shape


def test_any_object_with_separate_is_a_separator() -> None:
    class Silent:
        def separate(self, audio: np.ndarray, sr: int) -> Stems:
            return Stems(np.zeros_like(audio), audio)

    separator: Separator = Silent()
    stems = separator.separate(np.ones((2, 10), np.float32), SR)
    assert stems.accompaniment.sum() == 20


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant SDR (dB) of ``estimate`` against ``reference``."""
    e, r = estimate.ravel().astype(np.float64), reference.ravel().astype(np.float64)
    target = (e @ r) / (r @ r) * r
    return float(10 * np.log10((target @ target) / ((e - target) ** 2).sum()))


def gains(song: dict[str, np.ndarray], stems: Stems) -> tuple[float, float]:
    """SI-SDR gain (dB) of the vocal layer over the mix against the true voice, and of the
    accompaniment over the mix against the true band."""
    mix = song["mix"]
    vocal = si_sdr(stems.vocals, song["vocals"]) - si_sdr(mix, song["vocals"])
    backing = si_sdr(stems.accompaniment, song["backing"]) - si_sdr(mix, song["backing"])
    return vocal, backing


def test_the_vocal_layer_is_much_closer_to_the_voice_than_the_mix_was(stereo) -> None:
    song, stems = stereo
    vocal, backing = gains(song, stems)
    print(f"SI-SDR gain: vocal {vocal:+.1f} dB, accompaniment {backing:+.1f} dB")
    assert vocal > 10 and backing > 5


def test_a_voice_over_a_band_whose_notes_have_partials_is_still_pulled_out() -> None:
    # The band's instruments are bright (ten partials) and centred like the voice: only
    # what moves and what holds tells them apart.
    song = instruments.song(110, 9, "minor", 12)
    stems = SpectralSeparator().separate(song["mix"], SR)
    vocal, backing = gains(song, stems)
    print(f"SI-SDR gain: vocal {vocal:+.1f} dB, accompaniment {backing:+.1f} dB")
    assert vocal > 3 and backing > -1
    assert np.allclose(stems.vocals + stems.accompaniment, song["mix"], atol=1e-5)


def panned_line_song(quiet_tail: float = 0.0) -> dict[str, np.ndarray]:
    """A centred voice over a melody on a guitar panned 1 : 0.3, at equal level; then
    ``quiet_tail`` seconds of hiss at −80 dBFS, each channel its own (a fade's tail)."""
    voice = signals.voice_like(12.0, f0=220.0, mode="minor")
    line = np.roll(signals.voice_like(12.0, f0=330.0)[0], int(1.3 * SR))
    guitar = np.stack([line, 0.3 * line])
    guitar *= np.sqrt((voice**2).mean() / (guitar**2).mean())
    hiss = 1e-4 * np.random.default_rng(0).standard_normal((2, int(quiet_tail * SR)))
    backing = np.concatenate([guitar, hiss], axis=1).astype(np.float32)
    vocals = np.pad(voice, ((0, 0), (0, hiss.shape[1])))
    return {"mix": vocals + backing, "vocals": vocals, "backing": backing}


def test_a_line_panned_off_the_centre_is_held_back_by_where_it_sits() -> None:
    # A lead guitar's melody moves like a voice and is neither steady nor percussive:
    # only its place in the stereo image tells it from the centred voice. Weighing each
    # cell by how centred it sounds kept a third of it (+5.7 dB); the band's stereo image,
    # learnt from what the mask leaves, holds back what comes from its direction.
    song = panned_line_song()
    stems = SpectralSeparator().separate(song["mix"], SR)
    vocal, backing = gains(song, stems)
    print(f"SI-SDR gain over a panned line: vocal {vocal:+.1f} dB, accompaniment {backing:+.1f} dB")
    assert vocal > 8 and backing > 7
    assert np.allclose(stems.vocals + stems.accompaniment, song["mix"], atol=1e-5)


def test_a_quiet_tail_does_not_blur_where_the_band_sits() -> None:
    # Hiss in a fade's tail has no place in the image; counted cell for cell as much as
    # the loud ones, 12 s of it took the panned line's gain from +9.5 to +6.8 dB (a review).
    song = panned_line_song(quiet_tail=12.0)
    stems = SpectralSeparator().separate(song["mix"], SR)
    vocal, backing = gains(song, stems)
    print(f"SI-SDR gain over a panned line and a quiet tail: vocal {vocal:+.1f} dB")
    assert vocal > 8 and backing > 7
    assert np.isfinite(stems.vocals).all()


def test_the_spatial_filter_is_the_multichannel_wiener_filter_refined_by_em() -> None:
    # v·[1 1]·Σ⁻¹·x, Σ = v·[1 1; 1 1] + a·R + ε·(v + a)·I, against numpy's solver on cells
    # whose band image is complex (a delay between the channels): a conjugate slipped
    # anywhere is off by a tenth. Each EM step takes the voice's power again as the
    # estimate's power plus its posterior variance, v − v²·[1 1]·Σ⁻¹·[1 1]ᵀ.
    rng = np.random.default_rng(1)
    shape = (6, 40)
    left, right = (
        (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
        for _ in range(2)
    )
    right = (0.5 * np.exp(0.7j) * left + 0.3 * right).astype(np.complex64)
    mask = rng.uniform(0, 1, shape).astype(np.float32)
    found = _spatial_voice(left, right, mask)
    residual = [x - mask * 0.5 * (left + right) for x in (left, right)]
    image = np.array([[(a * np.conj(b)).sum(axis=1) for b in residual] for a in residual])
    image = image / (0.5 * np.trace(image).real)  # (2, 2, bins), trace 2
    for f, t in np.ndindex(*shape):
        x = np.array([left[f, t], right[f, t]])
        v = mask[f, t] * abs(x.mean()) ** 2
        total = 0.5 * float(np.vdot(x, x).real)
        for _ in range(2):  # filtered, the voice's power taken again (one EM step), filtered
            a = max(total - v, 0) + 1e-10
            sigma = v * np.ones((2, 2)) + a * image[:, :, f] + SPATIAL_EPS * (v + a) * np.eye(2)
            expected = v * np.ones(2) @ np.linalg.solve(sigma, x)
            variance = v - v * v * float(np.ones(2) @ np.linalg.solve(sigma, np.ones(2)).real)
            v = abs(expected) ** 2 + max(variance, 0)
        assert abs(found[f, t] - expected) <= 1e-4 * (abs(expected) + abs(x).max())


def band_and_voice(
    voice_late: float, band_late: float, *, lead_late: float | None = None
) -> dict[str, np.ndarray]:
    """The tests' band and a voice (about 8 dB under it, as ``voice_like`` makes it),
    either's right channel later by ``*_late`` seconds; with ``lead_late``, a second,
    voice-like line (a sax, a violin: vibrato, a fifth above) 6 dB over the voice, later
    so, in the band."""
    band = signals.song(110, 9, "minor", 12, vocal=False)["mix"]
    voice = signals.voice_like(band.shape[1] / SR, f0=220.0, mode="minor")[0]
    if lead_late is not None:
        line = signals.voice_like(band.shape[1] / SR, f0=330.0, mode="major")[0] * 2.0
        band = band + signals.channel_later(np.stack([line, line]).astype(np.float32), lead_late)
    vocals = signals.channel_later(np.stack([voice, voice]).astype(np.float32), voice_late)
    backing = signals.channel_later(band, band_late)
    return {"mix": backing + vocals, "vocals": vocals, "backing": backing}


CHANNELS_APART = (
    "known blind spot (issue 13, stop 35): a voice later in one channel than in the "
    "other reads as wide and stays in the accompaniment. Finding its delay (GCC-PHAT) and "
    "bringing the channels into step fixes it, but a band or a voice-like lead recorded by "
    "two microphones apart is alike at its own lag too; checking the lag by the voice the "
    "masks keep there (5 dB more) still took a lead 6 dB over the voice for it (the "
    "singer's vocal layer fell by 19 to 36 dB in a review's mixes, to -14 and -24 dB in "
    "the test of a voice-like lead below), so it was not shipped"
)


@pytest.mark.xfail(strict=True, reason=CHANNELS_APART)
@pytest.mark.parametrize("voice_late", [0.0005, -0.0004])
def test_a_voice_a_little_later_in_one_channel_is_still_found(voice_late: float) -> None:
    # A voice widened by a short delay: -19 and -2 dB; found in step by the design that
    # was tried, +19 and +13 dB.
    song = band_and_voice(voice_late, 0.0)
    vocal, _ = gains(song, SpectralSeparator().separate(song["mix"], SR))
    print(f"SI-SDR gain of a voice {voice_late * 1000:+.1f} ms on the right: {vocal:+.1f} dB")
    assert vocal > 8


@pytest.mark.xfail(strict=True, reason=CHANNELS_APART)
def test_a_song_heard_through_two_microphones_apart_is_separated_in_step() -> None:
    # The whole mix 0.3 ms later on the right: a phone's two microphones at a concert, or
    # a tape played with its head askew. In step +15 dB; apart -10 (tried design: +15).
    song = {
        k: signals.channel_later(v, 0.0003) for k, v in signals.song(110, 9, "minor", 12).items()
    }
    vocal, _ = gains(song, SpectralSeparator().separate(song["mix"], SR))
    print(f"SI-SDR gain, the whole mix 0.3 ms apart: vocal {vocal:+.1f} dB")
    assert vocal > 12


@pytest.mark.parametrize("band_late", [0.0003, 0.0007, 0.0012])
def test_a_band_recorded_by_two_microphones_apart_leaves_a_centred_voice_where_it_is(
    band_late: float,
) -> None:
    # A band's own delay (drums under a spaced pair, a guitar re-amped in a room) makes
    # the channels alike at its lag too. Taken for the voice's (by GCC-PHAT alone: the
    # design reverted in stop 34), the channels were moved off the voice: -10.6 dB at
    # 0.3 ms and +1.1 at 1.2 ms, where the voice left in step gains +13.8 and +16.6.
    song = band_and_voice(0.0, band_late)
    vocal, _ = gains(song, SpectralSeparator().separate(song["mix"], SR))
    print(f"SI-SDR gain of a centred voice, the band {band_late * 1000:.1f} ms apart: {vocal:+.1f}")
    assert vocal > 12


@pytest.mark.parametrize("lead_late", [0.0003, 0.0005])
def test_a_voice_like_lead_recorded_by_two_microphones_apart_leaves_the_singer_in_the_vocals(
    lead_late: float,
) -> None:
    # A sax or a violin 6 dB over the singer, its right channel later: the design tried
    # in stop 35 (a lag taken only where the masks keep 5 dB more voice at it) took the
    # lead's lag, and the singer's vocal layer fell from +12.7 and +12.5 dB to -14.5 and
    # -24.1 (a review found it).
    song = band_and_voice(0.0, 0.0, lead_late=lead_late)
    vocal, _ = gains(song, SpectralSeparator().separate(song["mix"], SR))
    print(f"SI-SDR gain of the singer, a lead {lead_late * 1000:+.1f} ms apart: {vocal:+.1f} dB")
    assert vocal > 4


def test_a_band_alone_leaves_little_in_the_vocal_layer() -> None:
    song = signals.song(110, 9, "minor", 12, vocal=False)
    stems = SpectralSeparator().separate(song["mix"], SR)
    left = 10 * np.log10((stems.vocals**2).sum() / (song["mix"] ** 2).sum())
    print(f"vocal layer of a band alone: {left:+.1f} dB of the mix")
    assert left < -15


def speaking_voice(seconds: float, f0: float) -> np.ndarray:
    """A low voice that talks: its pitch wanders a few semitones around ``f0``, four
    syllables a second, a breath every 3 s (as steady in pitch as speech is, unlike a tune)."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    pitch = f0 * 2 ** (0.08 * np.sin(2 * np.pi * 0.7 * t) + 0.03 * np.sin(2 * np.pi * 2.3 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / SR
    voice = sum(np.sin(k * phase) / k**0.7 for k in range(1, 40) if k * f0 < SR / 2.2)
    syllables = (np.sin(2 * np.pi * 4 * t) > -0.7) & (t % 3.0 < 2.6)
    width = int(0.02 * SR)
    envelope = np.convolve(syllables.astype(float), np.ones(width) / width, "same")
    return (voice * envelope / np.abs(voice).max()).astype(np.float32)


def test_a_low_speaking_voice_over_a_band_is_pulled_out() -> None:
    # Speech holds its pitch more than a tune does, so the steady model mistakes some of it
    # for the band; the second pass gives it back (the first design: +0.7 dB here).
    band = signals.song(110, 9, "minor", 12, vocal=False)["mix"]
    voice = speaking_voice(band.shape[1] / SR, f0=110.0)
    voice = np.stack([voice, voice]) * np.sqrt((band**2).mean() / (voice**2).mean())
    song = {"mix": band + voice, "vocals": voice, "backing": band}
    vocal, _ = gains(song, SpectralSeparator().separate(song["mix"], SR))
    print(f"SI-SDR gain of a low speaking voice: {vocal:+.1f} dB")
    assert vocal > 1.3


def test_a_click_track_stays_out_of_the_vocal_layer() -> None:
    # Centred clicks are as centred as a voice and move as much; only holding tells them
    # apart (without the held test: -8 dB).
    rng = np.random.default_rng(0)
    clicks = np.zeros(20 * SR, dtype=np.float32)
    for start in range(0, clicks.size - SR, SR // 2):
        clicks[start : start + 600] = rng.standard_normal(600) * np.exp(-np.arange(600) / 80)
    track = np.stack([clicks, clicks]) * 0.3
    vocals = SpectralSeparator().separate(track, SR).vocals
    left = 10 * np.log10((vocals**2).mean() / (track**2).mean())
    print(f"vocal layer of a click track: {left:+.1f} dB of the track")
    assert left < -15


def _frames(shares: list[float], bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(mask, centre magnitudes) whose frames keep ``shares`` of their energy as voice."""
    mid = np.ones((bins, len(shares)), dtype=np.float32)
    return np.sqrt(np.array(shares, dtype=np.float32))[None, :] * mid, mid


def test_the_voice_gate_fades_the_frames_between_phrases() -> None:
    # Two phrases, each followed by a pause in which the masks still keep a little of the
    # band (1 % of the frame's energy: the song's floor); a frame kept at twice the floor
    # is half-way.
    phrase, pause = [0.5] * 60, [0.01] * 60
    gate = _voice_gate(*_frames(phrase + pause + phrase + pause + [0.02] * 20))[0]
    assert gate.shape == (260,)
    assert gate[10:50].min() > 0.95 and gate[130:170].min() > 0.95  # the phrases
    assert gate[70:110].max() < 0.2 and gate[190:230].max() < 0.2  # the pauses
    assert 0.4 < gate[250] < 0.6


def test_the_voice_gate_stands_aside_when_no_frame_stands_out() -> None:
    # A voice that never pauses, or a band the masks cannot see through: every frame keeps
    # about the same share, so no frame is a pause (without this, a sung line that never
    # stops lost most of its level to the accompaniment: -3.7 dB instead of +16.6).
    rng = np.random.default_rng(0)
    for level in (0.4, 0.05):
        gate = _voice_gate(*_frames(list(level * (1 + 0.3 * rng.random(300)))))
        assert np.all(gate == 1)
    assert np.all(_voice_gate(*_frames([0.0] * 50)) == 1)  # nothing kept: nothing to gate
    assert _voice_gate(*_frames([])).shape == (1, 0)


def test_the_steady_floor_is_scipys_percentile_filter_along_time_row_by_row() -> None:
    rng = np.random.default_rng(3)
    cells = rng.random((7, 300)).astype(np.float32)
    cells[2, 100:180] = 5.0  # a held note: the floor must pass it on as it is, row by row
    expected = scipy.ndimage.percentile_filter(cells, 30, size=(1, 61), mode="nearest")
    found = _along_time(cells, 30, 61)
    assert found.dtype == np.float32
    np.testing.assert_array_equal(found, expected)
