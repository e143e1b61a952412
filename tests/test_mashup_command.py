"""``manage.py mashup``: the engine from the command line (management/commands/mashup.py)."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from django.core.management import CommandError, call_command
from mutagen.id3 import ID3

from mashup_site.providers import contract
from tests import signals


@pytest.fixture
def songs(tmp_path):
    one = signals.write_wav(tmp_path / "one.wav", signals.song(100, 0, "major", 14)["mix"] * 0.7)
    two = signals.write_wav(tmp_path / "two.wav", signals.song(120, 9, "minor", 14)["mix"] * 0.7)
    return one, two


def test_it_writes_two_tagged_mashups_covers_and_stems_and_prints_the_figures(
    tmp_path, songs
) -> None:
    out, stdout = tmp_path / "out", io.StringIO()
    call_command(
        "mashup", *map(str, songs), "--out", str(out), "--stems", "--title", "Night Drive",
        "--style", "lofi", stdout=stdout,
    )  # fmt: skip
    printed = stdout.getvalue()
    for index, title in ((1, "Night Drive"), (2, "Night Drive (flip)")):
        tags = ID3(out / f"mashup-{index}.mp3")
        assert str(tags["TIT2"]) == title and str(tags["TCON"]) == "lofi"
        assert (out / f"mashup-{index}.png").stat().st_size > 20_000
        for layer in ("reference", "lead", "backing"):
            assert (out / f"mashup-{index}-stems" / f"{layer}.wav").is_file()
    for stage in ("] text", "] first", "] complete"):
        assert stage in printed
    for figure in ("C major", "A minor", "stretch ×", "shift", "LUFS", "dBTP",
                   "alignment: layers", "Camelot distance", "Time: "):  # fmt: skip
        assert figure in printed
    assert printed.count("Style: lofi effect at") == 1  # the analysis says it, once
    assert re.search(r"one.wav: (99\.\d|100\.\d) BPM", printed)
    assert re.search(r"two.wav: (119\.\d|120\.\d) BPM", printed)
    assert re.search(r"shift [+-]\d st [+-]\d+ cents", printed)  # key shift and tuning match
    # the offset is said once a variant, on its alignment line, not again under quality
    assert printed.count(" ms apart") == 2 and printed.count("    quality: ") == 2
    print(printed)


def test_without_quality_figures_it_says_nothing_of_them(tmp_path, songs) -> None:
    stdout = io.StringIO()
    call_command(
        "mashup", *map(str, songs), "--out", str(tmp_path / "out"), "--no-quality", stdout=stdout
    )
    printed = stdout.getvalue()
    assert "LUFS" in printed and "quality:" not in printed
    assert "alignment: layers" in printed  # the guard's measure costs nothing more
    assert (tmp_path / "out" / "mashup-2.mp3").exists()


def test_backing_offbeat_lays_each_backing_half_a_beat_over_and_says_so(tmp_path, songs):
    stdout = io.StringIO()
    call_command(
        "mashup", *map(str, songs), "--out", str(tmp_path / "out"), "--no-quality",
        "--backing-offbeat", stdout=stdout,
    )  # fmt: skip
    assert stdout.getvalue().count("the backing half a beat over") == 2


def test_a_tempo_and_a_key_given_are_what_the_songs_are_read_at_and_it_says_so(tmp_path, songs):
    stdout = io.StringIO()
    call_command(
        "mashup", *map(str, songs), "--out", str(tmp_path / "out"), "--no-quality",
        "--tempo2", "60", "--key1", "F# minor", stdout=stdout,
    )  # fmt: skip
    assert "two.wav: 60.0 BPM as you gave it" in stdout.getvalue()
    assert "F# minor (11A) as you gave it" in stdout.getvalue()


def test_a_key_given_is_named_as_the_engine_names_keys(tmp_path, songs) -> None:
    with pytest.raises(CommandError, match="argument --key2: invalid choice: 'Gb major'"):
        call_command(
            "mashup", *map(str, songs), "--out", str(tmp_path / "out"), "--key2", "Gb major"
        )


@pytest.mark.parametrize("bpm", ["30", "300", "fast"])
def test_a_tempo_given_outside_40_to_250_bpm_is_refused(tmp_path, songs, bpm: str) -> None:
    with pytest.raises(CommandError, match="argument --tempo1: invalid tempo value"):
        call_command("mashup", *map(str, songs), "--out", str(tmp_path / "out"), "--tempo1", bpm)


def test_it_refuses_a_file_that_is_not_audio(tmp_path, songs) -> None:
    text = tmp_path / "lyrics.mp3"
    text.write_text("la la la\n" * 50)
    with pytest.raises(CommandError, match=r"lyrics\.mp3"):
        call_command("mashup", str(songs[0]), str(text), "--out", str(tmp_path / "out"))


def test_it_turns_an_engine_refusal_into_a_command_error(tmp_path, songs) -> None:
    clip = signals.write_wav(tmp_path / "clip.wav", signals.click_track(120, 2))
    with pytest.raises(CommandError, match=r"clip.wav is only 2\.0 s long"):
        call_command("mashup", str(songs[0]), str(clip), "--out", str(tmp_path / "out"))


def test_a_song_over_the_models_limit_is_named_by_the_path_given(tmp_path, songs, monkeypatch):
    # Two folders' "mix.wav": the warning says which of the two it means.
    monkeypatch.setitem(contract.MODELS, "V4", replace(contract.MODELS["V4"], max_minutes=1))
    long = tmp_path / "b" / "one.wav"
    long.parent.mkdir()
    signals.write_wav(long, signals.click_track(120, 61))
    clip = signals.write_wav(tmp_path / "clip.wav", signals.click_track(120, 2))
    err = io.StringIO()
    with pytest.raises(CommandError):  # the clip is refused after the warning
        call_command(
            "mashup",
            str(long),
            str(clip),
            "--model",
            "V4",
            "--out",
            str(tmp_path / "o"),
            stderr=err,
        )
    assert f"{long} is longer than the 1 minutes V4 allows" in err.getvalue()
