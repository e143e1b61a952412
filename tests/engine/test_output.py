"""Results on disk: tagged MP3, WAV stems, a cover that shows the music (engine/output.py)."""

from __future__ import annotations

import numpy as np
import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3
from PIL import Image

from mashup_site.engine import output
from mashup_site.engine.decode import load, subsonic_removed
from tests import signals

SR = signals.SR


def test_it_writes_an_mp3_with_title_and_genre(tmp_path) -> None:
    mix = signals.song(120, 0, "major", 5)["mix"]
    path = output.write_mp3(
        tmp_path / "m.mp3", mix, SR, title="Über × Mix", genre="lofi", comment="an idea"
    )
    tags = ID3(path)
    assert str(tags["TIT2"]) == "Über × Mix"
    assert str(tags["TCON"]) == "lofi"
    assert abs(MP3(path).info.length - 5) < 0.1


def test_it_writes_stems_that_decode_to_the_same_samples(tmp_path) -> None:
    mix = signals.song(120, 0, "major", 3)["mix"] * np.float32(0.5)  # no clipping
    back = load(output.write_wav(tmp_path / "s.wav", mix, SR))
    assert back.shape == mix.shape
    # As decoding hears any file: without what lies under 15 Hz (decode.subsonic_removed).
    assert np.abs(back - subsonic_removed(mix.copy(), SR)).max() < 1e-3


def cover_of(tmp_path, audio: np.ndarray, name: str) -> np.ndarray:
    path = output.write_cover(tmp_path / f"{name}.png", audio, SR, title="A × B")
    image = Image.open(path)
    assert image.format == "PNG" and image.size == (output.COVER_SIZE, output.COVER_SIZE)
    return np.asarray(image.convert("L"), dtype=np.float32)[: output.COVER_SIZE - 70]


def test_it_draws_a_cover_that_follows_the_music(tmp_path) -> None:
    low = cover_of(tmp_path, signals.chord_progression(0, "major", 100, 8), "low")
    busy = cover_of(tmp_path, signals.song(120, 0, "major", 8)["mix"], "busy")
    assert low.std() > 10  # not a flat placeholder
    # Chords alone light the low rows; drums and voice light the top half as well.
    top, bottom = slice(0, 200), slice(330, 530)
    assert low[top].mean() < low[bottom].mean()
    assert busy[top].mean() > low[top].mean() + 10


def test_a_cover_caption_fits_its_width_cut_at_a_word_and_marked() -> None:
    font = output._font(28)
    room = output.COVER_SIZE - 48
    assert output.caption("Night Drive", font) == "Night Drive"
    long = "Dreamy synthwave mashup, keep the drums of song one and the voice of two"
    cut = output.caption(long, font)
    assert cut.endswith("…") and font.getlength(cut) <= room
    assert long.startswith(cut[:-1]) and long[len(cut) - 1] in " ,"  # ends on a whole word
    one_word = "x" * 200
    assert font.getlength(output.caption(one_word, font)) <= room


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Night 🌙 Drive", "Night Drive"),  # no empty box where the font has no moon
        ("夜のドライブ × Summer Rain", "Summer Rain"),  # no "×" left hanging
        ("夜のドライブ", ""),  # nothing it can draw: no caption rather than boxes
        ("Ça va — déjà vu × Œuvre", "Ça va — déjà vu × Œuvre"),
        ("Phoenix Remix", "Phoenix Remix"),  # a title it can draw is left as it is
        ("Tax x Sax", "Tax x Sax"),
        ("A × 夜 × B", "A × B"),  # one join left between what stays
        ("夜 x Remix", "Remix"),
    ],
)
def test_a_cover_caption_leaves_out_what_its_font_cannot_draw(title: str, shown: str) -> None:
    assert output.caption(title, output._font(28)) == shown


@pytest.mark.parametrize(
    "breaking",
    ["\n", "\r\n", "\x85", "\u2028", "\u2029", "\x1c", "\t", "\x0b", "\x00", "\x07", "\x7f"],
)
def test_a_cover_caption_is_one_line_whatever_breaks_or_controls_a_title_holds(
    tmp_path, breaking: str
) -> None:
    # A title's paragraph separator (a text box keeps it) made the text layout raise, and
    # every job with that title failed "with an unexpected problem".
    title = f"Side A{breaking}Side B"
    shown = "Side A Side B" if breaking.isspace() else "Side ASide B"  # a control goes
    assert output.caption(title, output._font(28)) == shown
    mix = signals.song(120, 0, "major", 2)["mix"]
    assert output.write_cover(tmp_path / "c.png", mix, SR, title=title).is_file()
