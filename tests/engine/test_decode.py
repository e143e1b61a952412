"""Decoding any accepted input to float32 stereo at 44.1 kHz (engine/decode.py)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.signal

from mashup_site.engine.analysis import integrated_lufs
from mashup_site.engine.decode import SR, load
from mashup_site.engine.errors import EngineError
from tests import signals


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (44100, 1), (96000, 2)])
def test_it_decodes_mono_and_odd_rates_to_stereo_at_one_rate(tmp_path, rate, channels) -> None:
    clicks = signals.click_track(120, 4, sr=rate)[:channels]
    audio = load(signals.write_wav(tmp_path / "in.wav", clicks, rate))
    assert audio.shape == (2, pytest.approx(4 * SR, abs=SR // 100))
    assert audio.dtype == np.float32
    assert np.allclose(audio[0], audio[1])
    assert np.abs(audio).max() > 0.3


def test_it_reports_a_corrupt_file_as_such(tmp_path) -> None:
    path = tmp_path / "broken.mp3"
    path.write_bytes(b"ID3" + bytes(range(256)) * 40)
    with pytest.raises(EngineError, match=r"could not decode broken\.mp3") as caught:
        load(path)
    assert caught.value.final  # the same bytes fail the same way


def test_a_file_that_could_not_be_read_may_pass_another_time(tmp_path) -> None:
    # a file system's fault (here: gone), not the song's: trying again may work
    with pytest.raises(EngineError, match=r"could not decode gone\.mp3") as caught:
        load(tmp_path / "gone.mp3")
    assert not caught.value.final


def test_it_reports_a_file_without_audio(tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("la la la\n" * 100)
    with pytest.raises(EngineError, match=r"notes\.txt"):
        load(path)


def test_it_decodes_no_further_than_asked(tmp_path) -> None:
    path = signals.write_wav(tmp_path / "long.wav", signals.click_track(120, 10))
    assert load(path, max_seconds=3).shape == (2, 3 * SR)
    assert load(path).shape == (2, 10 * SR)


def float_wav(path, samples: np.ndarray, sr: int = SR):
    """A mono 32-bit floating-point WAV (format 3) of ``samples``, written as they are."""
    data = samples.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, sr, sr * 4, 4, 32)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data))
    path.write_bytes(
        b"RIFF" + struct.pack("<I", 4 + len(chunks) + len(data)) + b"WAVE" + chunks + data
    )
    return path


def test_samples_that_are_no_number_are_silenced(tmp_path) -> None:
    # A damaged float file: one NaN and an infinity in a song used to reach the analysis,
    # where they poisoned every spectrum they fell in (and crashed the key's transcription).
    song = signals.click_track(120, 6)[0]
    song[SR], song[2 * SR] = np.nan, np.inf
    audio = load(float_wav(tmp_path / "damaged.wav", song))
    assert np.isfinite(audio).all()
    assert abs(audio[0, SR]) < 1e-3 and abs(audio[0, 2 * SR]) < 1e-3
    assert np.abs(audio).max() > 0.3  # the rest is there


def loudness(audio: np.ndarray) -> float:
    return integrated_lufs(audio, SR)


@pytest.mark.parametrize("rate", [SR, 48000])
@pytest.mark.parametrize("value", [1e3, 1e10, 3e38])
def test_samples_no_recording_makes_are_silenced(tmp_path, value, rate) -> None:
    # A damaged float file can hold finite numbers no recording makes: one sample of 1e10
    # overflowed the master's float32 arithmetic (a crash, two silent MP3s left behind)
    # and one of 1e3 passed for the song's loudest moment (its loudness read +24 LUFS,
    # its voice 47 dB under it). At another rate the resampler spreads it over its
    # neighbours: those go too.
    song = signals.chord_progression(0, "major", 120, 4, sr=rate)[0]
    clean = load(float_wav(tmp_path / "clean.wav", song, rate))
    song[rate] = value
    audio = load(float_wav(tmp_path / "damaged.wav", song, rate))
    assert np.isfinite(audio).all()
    assert np.abs(audio).max() <= np.abs(clean).max() * 1.05
    assert loudness(audio) == pytest.approx(loudness(clean), abs=0.2)
    elsewhere = np.ones(audio.shape[1], dtype=bool)
    elsewhere[SR - SR // 4 : SR + SR // 4] = False  # the high-pass rings a little
    assert np.allclose(audio[:, elsewhere], clean[:, elsewhere], atol=1e-3)


@pytest.mark.parametrize("run", [1000, 4 * SR * 3 // 200])  # 23 ms; 1.5 % of the song
def test_random_bits_in_a_float_file_are_silenced(tmp_path, run) -> None:
    # What a damaged float file holds: a run of random bit patterns, numbers of any size
    # (a tenth of them under full scale, half beyond any integer's scale).
    song = signals.chord_progression(0, "major", 120, 4)[0]
    clean = load(float_wav(tmp_path / "clean.wav", song))
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, run, dtype=np.uint64).astype(np.uint32).view(np.float32)
    song[SR : SR + run] = np.where(np.isfinite(bits), bits, 0.0)
    audio = load(float_wav(tmp_path / "damaged.wav", song))
    assert np.isfinite(audio).all()
    assert np.abs(audio).max() <= np.abs(clean).max() * 1.05
    assert loudness(audio) == pytest.approx(loudness(clean), abs=0.5)


def test_a_float_file_written_at_the_scale_of_integers_keeps_its_shape(tmp_path) -> None:
    # Some programs write floating-point samples at 16-bit integers' scale (±32768): the
    # whole song lies past full scale, and none of it is damage to take away.
    song = signals.chord_progression(0, "major", 120, 4)[0]
    audio = load(float_wav(tmp_path / "scaled.wav", song * 32768))
    clean = load(float_wav(tmp_path / "clean.wav", song))
    assert np.allclose(audio / 32768, clean, atol=1e-4)


def test_a_float_file_of_nothing_but_random_bits_is_damaged(tmp_path) -> None:
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2**32, 4 * SR, dtype=np.uint64).astype(np.uint32).view(np.float32)
    noise = np.where(np.isfinite(bits), bits, 0.0).astype(np.float32)
    with pytest.raises(EngineError, match="damaged") as caught:
        load(float_wav(tmp_path / "garbage.wav", noise))
    assert caught.value.final


@pytest.mark.parametrize("every", [1, 20])  # all of it; 5 %
def test_a_float_file_whose_samples_are_not_numbers_is_damaged(tmp_path, every: int) -> None:
    # All of it used to be called silent, and a twentieth of it was silenced into a
    # song full of holes: a player's answer to a few such samples, not to a damaged file.
    song = signals.chord_progression(0, "major", 120, 4)[0]
    song[::every] = np.nan
    with pytest.raises(EngineError, match=r"damaged: much of it is unreadable") as caught:
        load(float_wav(tmp_path / "nan.wav", song))
    assert caught.value.final


@pytest.mark.parametrize("rate", [SR, 48000])
def test_a_few_samples_that_are_not_numbers_are_counted_as_the_file_holds_them(
    tmp_path, rate: int
) -> None:
    # One in 500 (0.2 %): resampled from 48 kHz, each spread over some 37 samples, and
    # counted after resampling the file was refused as damaged (a start spent).
    song = signals.chord_progression(0, "major", 120, 4, sr=rate)[0]
    song[::500] = np.nan
    audio = load(float_wav(tmp_path / "specks.wav", song, rate))
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.1


def cut_flac(folder, seconds: float = 8.0) -> Path:
    """A FLAC of ``seconds`` whose second half is missing (a download cut short): its
    header still says ``seconds``."""
    from pedalboard.io import AudioFile

    whole = folder / "whole.flac"
    with AudioFile(str(whole), "w", SR, 2) as out:
        out.write(signals.chord_progression(0, "major", 120, seconds))
    data = whole.read_bytes()
    cut = folder / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    return cut


def test_a_file_cut_short_gives_what_it_holds(tmp_path) -> None:
    # FFmpeg stops at the cut with "invalid data": the part before it is the song, as a
    # player plays it (an MP3 cut so decodes to its cut already).
    path = cut_flac(tmp_path)
    cuts: list[float] = []
    audio = load(path, on_cut=cuts.append)
    assert 3.0 < audio.shape[1] / SR < 5.0
    assert np.abs(audio).max() > 0.1
    assert cuts == [pytest.approx(audio.shape[1] / SR)]


def test_damage_in_the_middle_of_a_file_is_skipped_as_a_player_skips_it(tmp_path) -> None:
    # 4 KB of noise a third of the way into an MP3: FFmpeg's decoder stops at the first bad
    # packet; a player skips the bad packets and plays on. Cut there, the song was a third
    # of itself, called cut short.
    from pedalboard.io import AudioFile

    path = tmp_path / "damaged.mp3"
    with AudioFile(str(path), "w", SR, 2, quality="V2") as out:
        out.write(signals.chord_progression(0, "major", 120, 20))
    data = bytearray(path.read_bytes())
    third = len(data) // 3
    data[third : third + 4096] = np.random.default_rng(0).bytes(4096)
    path.write_bytes(bytes(data))
    cuts: list[float] = []
    audio = load(path, on_cut=cuts.append)
    assert audio.shape[1] / SR > 19.0
    assert not cuts


def test_a_file_with_nothing_readable_is_still_refused(tmp_path) -> None:
    path = cut_flac(tmp_path)
    path.write_bytes(path.read_bytes()[:200])  # the header and hardly a frame
    with pytest.raises(EngineError, match="could not decode"):
        load(path)


def test_a_channel_wired_backwards_is_turned_back(tmp_path) -> None:
    # One channel's polarity inverted (a cable or an export wired backwards): in stereo it
    # sounds hollow, and summed to one channel, as the analysis and a phone's speaker do,
    # it cancels. Such a song read as having no beat and some key of silence.
    song = signals.song(110, 2, "major", 8)["mix"]
    centre, side = song.mean(axis=0), np.float32(0.3) * (song[0] - song[1])
    backwards = np.stack([centre + side, -(centre - side)])
    audio = load(signals.write_wav(tmp_path / "backwards.wav", backwards))
    assert np.corrcoef(audio)[0, 1] > 0.5
    assert np.abs(audio.mean(axis=0)).max() > 0.5 * np.abs(centre).max()


def test_a_wide_stereo_song_keeps_its_channels(tmp_path) -> None:
    # Left and right apart (a wide band, each channel its own parts) is music, not a fault.
    song = signals.song(110, 2, "major", 8)["mix"]
    wide = np.stack([song[0], np.roll(song[0], SR // 3) * np.float32(-0.4) + song[1]])
    audio = load(signals.write_wav(tmp_path / "wide.wav", wide))
    assert np.corrcoef(audio[0], wide[0])[0, 1] > 0.99
    assert np.corrcoef(audio[1], wide[1])[0, 1] > 0.99


def _heard(audio: np.ndarray) -> np.ndarray:
    """What is heard of ``audio``: above 20 Hz, by a filter of this test's own."""
    sos = scipy.signal.butter(4, 20, "highpass", fs=SR, output="sos")
    return scipy.signal.sosfiltfilt(sos, audio.astype(np.float64), axis=-1)


@pytest.mark.parametrize(
    "under",
    [
        # A recorder's DC offset: silent, but the peak a limiter sees.
        np.float32(0.3),
        # A record's warp: a 0.7 Hz swell about as large as the music.
        np.float32(0.3) * np.sin(2 * np.pi * 0.7 * np.arange(8 * SR) / SR).astype(np.float32),
    ],
    ids=["dc-offset", "warp"],
)
def test_what_no_one_hears_is_taken_out_and_the_music_kept(tmp_path, under) -> None:
    song = signals.song(110, 2, "major", 8)["mix"] * np.float32(0.4)  # under 1 with either
    clean = load(signals.write_wav(tmp_path / "clean.wav", song))
    audio = load(signals.write_wav(tmp_path / "under.wav", song + under))
    left = _heard(audio) - _heard(clean)
    apart = 10 * np.log10((left**2).sum() / (_heard(clean) ** 2).sum())
    # What is left of the offset or the warp, past the filter's first and last 0.2 s.
    left_under = np.abs(audio - clean)[:, SR // 5 : -SR // 5].max()
    print(f"the music {apart:.1f} dB from its own shape; {left_under:.4f} of the rest left")
    assert apart < -40
    assert left_under < 0.005
