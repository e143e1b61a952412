"""Uploads are judged by decoding them, never by their names (engine/probe.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mashup_site.engine.probe import (
    NotAudioError,
    declared_duration,
    format_duration,
    media_type,
    probe_audio,
    sniff,
    split_suffix,
    stated_duration,
)
from tests.audiofiles import (
    FORMATS,
    tone,
    write_audio,
    write_empty,
    write_long_wav,
    write_png_as,
    write_tone,
    write_truncated_mp3,
)

SR = 44100
FORMAT_NAMES = {
    "mp3": "MP3",
    "wav": "WAV",
    "ogg": "OGG Vorbis",
    "flac": "FLAC",
    "m4a": "AAC (M4A)",
    "opus": "Opus",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_accepts_each_format_by_decoding_it(tmp_path, fmt: str) -> None:
    info = probe_audio(write_tone(tmp_path / f"tone.{fmt}", fmt, seconds=2.0))
    assert info.format_name == FORMAT_NAMES[fmt]
    assert info.duration == pytest.approx(2.0, abs=0.15)
    assert info.channels == 2


@pytest.mark.parametrize("fmt", ["flac", "ogg", "m4a"])
def test_it_ignores_a_misleading_extension(tmp_path, fmt: str) -> None:
    info = probe_audio(write_tone(tmp_path / "actually-not.mp3", fmt))
    assert info.format_name == FORMAT_NAMES[fmt]


def test_it_reads_mono_and_unusual_rates(tmp_path) -> None:
    info = probe_audio(write_tone(tmp_path / "low.wav", "wav", sr=8000, channels=1))
    assert (info.channels, info.sample_rate) == (1, 8000)


def test_it_names_a_png_renamed_mp3_for_what_it_is(tmp_path) -> None:
    with pytest.raises(NotAudioError, match="this file is a PNG image, not audio"):
        probe_audio(write_png_as(tmp_path / "song.mp3"))


def test_it_refuses_an_empty_file(tmp_path) -> None:
    with pytest.raises(NotAudioError, match="this file is empty"):
        probe_audio(write_empty(tmp_path / "song.mp3"))


def test_it_refuses_a_truncated_mp3_as_damaged(tmp_path) -> None:
    with pytest.raises(NotAudioError, match="looks like MP3 but could not be decoded"):
        probe_audio(write_truncated_mp3(tmp_path / "cut.mp3"))


def test_it_names_a_text_file(tmp_path) -> None:
    path = tmp_path / "lyrics.mp3"
    path.write_text("Verse one\nChorus\n")
    with pytest.raises(NotAudioError, match="a text file"):
        probe_audio(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_refuses_a_file_that_is_silent_throughout(tmp_path, fmt: str) -> None:
    # what the engine would refuse only in the worker, after a start was spent
    silent = np.zeros((2, 40 * SR), np.float32)
    with pytest.raises(NotAudioError, match=re.escape(f"this {FORMAT_NAMES[fmt]} file is silent")):
        probe_audio(write_audio(tmp_path / f"quiet.{fmt}", fmt, silent, SR))


@pytest.mark.parametrize("at", [0.4, 0.9])
def test_it_accepts_a_song_that_starts_quiet_and_sounds_later(tmp_path, at: float) -> None:
    # a long quiet intro, or a "hidden track" after minutes of silence
    audio = np.zeros((2, 60 * SR), np.float32)
    start = int(at * audio.shape[1])
    tone = 0.01 * np.sin(2 * np.pi * 220 * np.arange(audio.shape[1] - start) / SR)
    audio[:, start:] = tone  # -40 dBFS: quiet, but heard
    assert probe_audio(write_audio(tmp_path / "late.flac", "flac", audio, SR)).duration > 59


def test_a_loud_float_file_with_a_few_samples_that_are_no_number_is_not_silent(tmp_path) -> None:
    # the engine silences such samples (engine/decode.py); one must not hide the song
    audio = 0.3 * np.sin(2 * np.pi * 220 * np.arange(20 * SR) / SR) * np.ones((2, 1))
    audio[:, ::500] = np.nan  # one in every decoded frame
    path = write_audio(tmp_path / "nan.wav", "wav_f32", audio.astype(np.float32), SR)
    assert probe_audio(path).duration > 19


@pytest.mark.parametrize("part", [slice(None), slice(0, 10 * SR)])  # all of it; its start
def test_a_float_file_whose_samples_are_not_numbers_is_damaged_not_silent(
    tmp_path, part: slice
) -> None:
    audio = 0.3 * np.sin(2 * np.pi * 220 * np.arange(20 * SR) / SR) * np.ones((2, 1))
    audio[:, part] = np.nan
    path = write_audio(tmp_path / "nan.wav", "wav_f32", audio.astype(np.float32), SR)
    with pytest.raises(NotAudioError, match=r"^this WAV file is damaged: much of it is unreadable"):
        probe_audio(path)


def test_a_quiet_start_in_a_file_whose_length_is_only_estimated_is_left_to_the_engine(
    tmp_path,
) -> None:
    # Raw AAC (ADTS) has no duration: estimated from the bit rate, it can be far longer
    # than the file, and a listening point past its end hears nothing. Not judged then.
    audio = np.zeros((2, 230 * SR), np.float32)
    audio[:, 30 * SR :] = 0.2 * np.sin(2 * np.pi * 220 * np.arange(200 * SR) / SR)
    path = write_audio(tmp_path / "late.aac", "adts", audio, SR)
    assert probe_audio(path).format_name == FORMAT_NAMES["m4a"]


def test_it_measures_raw_aac_by_its_frames_not_by_a_guess_from_its_bit_rate(tmp_path) -> None:
    # FFmpeg guesses a raw AAC file's length from its first frames' bit rate: a minute
    # that starts quiet was "9:45", longer than V4 takes. Its frames say exactly.
    audio = np.zeros((2, 60 * SR), np.float32)
    audio[:, 30 * SR :] = 0.2 * np.sin(2 * np.pi * 220 * np.arange(30 * SR) / SR)
    info = probe_audio(write_audio(tmp_path / "minute.aac", "adts", audio, SR))
    assert info.duration == pytest.approx(60.0, abs=0.1)
    # and the analysis names the length the upload's check measured
    assert declared_duration(tmp_path / "minute.aac") == pytest.approx(60.0, abs=0.1)


def test_a_file_cut_short_still_says_its_whole_length(tmp_path) -> None:
    path = write_audio(tmp_path / "whole.flac", "flac", tone(8, SR), SR)
    data = path.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    assert declared_duration(cut) == pytest.approx(8.0, abs=0.1)
    cut.write_text("not audio")
    assert declared_duration(cut) is None


def test_it_measures_a_long_wav_without_decoding_it_all(tmp_path) -> None:
    info = probe_audio(write_long_wav(tmp_path / "long.wav", seconds=9 * 60 + 1))
    assert info.duration == pytest.approx(541, abs=0.5)
    assert format_duration(info.duration) == "9:01"


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0:00"), (59.9, "0:59"), (761.4, "12:41"), (3723, "1:02:03")]
)
def test_it_formats_durations_as_people_read_them(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"%PDF-1.7", "a PDF document"),
        (b"<!DOCTYPE html><html>", "a web page (HTML)"),
        (b"PK\x03\x04rest", "a ZIP archive (or an Office document)"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb", None),
    ],
)
def test_it_sniffs_common_mistakes_but_not_audio(head: bytes, name: str | None) -> None:
    assert sniff(head) == name


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("song.ogg", ("song", ".ogg")),
        ("Mr. Brightside.mp3", ("Mr. Brightside", ".mp3")),
        ("Mr. Brightside", ("Mr. Brightside", "")),
        ("Song.MP3", ("Song", ".MP3")),
        ("take 2.final mix", ("take 2.final mix", "")),
        ("Mr.Brightside", ("Mr.Brightside", "")),
        ("Greatest Hits Vol.2", ("Greatest Hits Vol.2", "")),
        ("track.a-very-long-suffix", ("track.a-very-long-suffix", "")),
        ("song.ögg", ("song.ögg", "")),
        (".wav", (".wav", "")),
        ("song", ("song", "")),
        ("song.", ("song.", "")),
    ],
)
def test_split_suffix_takes_only_a_short_format_suffix_after_the_last_dot(name, parts) -> None:
    # A dot in a title ("Mr. Brightside", "St. Mary's") is part of the name, not a format.
    assert split_suffix(name) == parts


def cut_in_half(path):
    data = path.read_bytes()
    cut = path.with_name(f"cut{path.suffix}")
    cut.write_bytes(data[: len(data) // 2])
    return cut


@pytest.mark.parametrize("fmt", ["wav", "wav_f32", "mp3", "flac"])
def test_a_header_that_states_the_length_still_states_it_when_the_file_is_cut(
    tmp_path, fmt: str
) -> None:
    # FFmpeg gives a cut WAV's length as what is left of it: only its header knows more.
    whole = write_audio(tmp_path / f"song.{fmt.split('_')[0]}", fmt, tone(20, SR, 2, 440), SR)
    assert stated_duration(cut_in_half(whole)) == pytest.approx(20, abs=0.1)


@pytest.mark.parametrize("fmt", ["ogg", "opus", "adts"])
def test_a_length_read_from_the_file_itself_is_no_header_statement(tmp_path, fmt: str) -> None:
    whole = write_audio(tmp_path / f"song.{fmt}", fmt, tone(20, SR, 2, 440), SR)
    assert stated_duration(whole) is None


def test_a_wav_whose_writer_could_not_state_its_length_states_none(tmp_path) -> None:
    path = write_audio(tmp_path / "song.wav", "wav", tone(6, SR, 2, 440), SR)
    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = b"\xff\xff\xff\xff"  # a streaming writer's "unknown"
    path.write_bytes(bytes(data))
    assert stated_duration(path) is None


def test_raw_aac_cut_short_is_accepted_for_what_it_holds(tmp_path) -> None:
    # It was refused as "looks like MP3 but could not be decoded": the engine plays it to
    # its cut, and it is no MP3.
    whole = write_audio(tmp_path / "song.aac", "adts", tone(20, SR, 2, 440), SR)
    info = probe_audio(cut_in_half(whole))
    assert 8 < info.duration < 11


@pytest.mark.parametrize(("rate", "channels"), [(44100, 2), (44100, 1), (22050, 2), (22050, 1)])
def test_an_mp3s_frame_count_states_its_length_at_every_version_and_channel_count(
    tmp_path, rate: int, channels: int
) -> None:
    path = write_audio(tmp_path / "song.mp3", "mp3", tone(12, rate, channels, 440), rate)
    assert stated_duration(path) == pytest.approx(12, abs=0.1)


def test_an_mp3_with_more_after_its_frames_still_states_its_frames_length(tmp_path) -> None:
    # FFmpeg drops the frame count for an estimate when the file is longer than the
    # header says: the page would have called a whole song cut short.
    path = write_audio(tmp_path / "song.mp3", "mp3", tone(10, SR, 2, 440), SR)
    path.write_bytes(path.read_bytes() + bytes(100_000))
    assert stated_duration(path) == pytest.approx(10, abs=0.1)


def wav_with(path, *, tag: int | None = None, fmt_size: int | None = None):
    data = bytearray(path.read_bytes())
    at = data.index(b"fmt ") + 4
    if fmt_size is not None:
        data[at : at + 4] = fmt_size.to_bytes(4, "little")
    if tag is not None:
        data[at + 4 : at + 6] = tag.to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


def test_a_wav_of_compressed_data_states_no_length(tmp_path) -> None:
    path = write_audio(tmp_path / "song.wav", "wav", tone(6, SR, 2, 440), SR)
    assert stated_duration(wav_with(path, tag=0x55)) is None  # MP3 in a WAV


def test_a_wav_whose_format_chunk_claims_gigabytes_is_not_read_into_memory(tmp_path) -> None:
    path = write_audio(tmp_path / "song.wav", "wav", tone(6, SR, 2, 440), SR)
    assert stated_duration(wav_with(path, fmt_size=0xFFFFFFF0)) is None


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        ("fffb9064", "audio/mpeg"),  # MPEG 1 Layer III
        ("fffa9064", "audio/mpeg"),  # with CRC
        ("fff39064", "audio/mpeg"),  # MPEG 2
        ("ffe39064", "audio/mpeg"),  # MPEG 2.5
        ("fffd9064", "audio/mpeg"),  # Layer II
        ("fff15080", "audio/aac"),  # ADTS, MPEG-4
        ("fff95080", "audio/aac"),  # ADTS, MPEG-2
    ],
)
def test_raw_aac_and_mp3_frames_are_told_apart_by_their_layer_bits(head: str, kind: str) -> None:
    assert media_type(bytes.fromhex(head) + bytes(12)) == kind


def test_a_few_samples_that_are_not_numbers_at_its_start_are_left_to_the_engine(tmp_path):
    # 0.5 % of the file, all in its first fifth of a second: the engine silences them
    # and makes the mashup; the upload's check, judging its first seconds, refused it.
    audio = 0.3 * np.sin(2 * np.pi * 220 * np.arange(30 * SR) / SR) * np.ones((2, 1))
    audio[:, 2000 : 2000 + int(30 * SR * 0.005)] = np.nan
    path = write_audio(tmp_path / "specks.wav", "wav_f32", audio.astype(np.float32), SR)
    assert probe_audio(path).duration > 29


def test_a_wav_whose_data_runs_past_its_riff_chunk_states_no_length(tmp_path) -> None:
    # A writer's fault (the RIFF size right, the data size wrong): a whole file was called
    # cut short of "the 1:41:27 it says it holds".
    path = write_audio(tmp_path / "song.wav", "wav", tone(6, SR, 2, 440), SR)
    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = (12 * SR * 4).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert stated_duration(path) is None


@pytest.mark.parametrize("keep", [4, 20, 40, 44])
def test_an_mp3_that_ends_inside_its_first_frame_states_no_length(tmp_path, keep: int) -> None:
    path = write_audio(tmp_path / "song.mp3", "mp3", tone(6, SR, 2, 440), SR)
    data = path.read_bytes()
    start = data.index(b"\xff\xfb")  # the first frame, past the ID3 tag
    path.write_bytes(data[: start + keep])
    assert stated_duration(path) is None
