"""Writing results: MP3 (LAME V2 through pedalboard) with ID3 tags, WAV stems, PNG cover.

The cover is the music itself: a log-frequency spectrogram of the mix, coloured from deep
violet (quiet) through pink to warm yellow (loud), with the title set along the bottom.
"""

from __future__ import annotations

import itertools
import unicodedata
from pathlib import Path

import numpy as np
import scipy.signal
from mutagen.id3 import COMM, ID3, TCON, TIT2, TPE1, ID3NoHeaderError
from pedalboard.io import AudioFile
from PIL import Image, ImageDraw, ImageFont

from .analysis import stft_magnitude

COVER_SIZE = 600
PALETTE = np.array(
    [[12, 8, 32], [60, 20, 110], [124, 92, 255], [255, 92, 138], [255, 200, 90], [255, 250, 220]],
    dtype=np.float32,
)


def write_mp3(
    path: Path, audio: np.ndarray, sr: int, *, title: str, genre: str, comment: str
) -> Path:
    with AudioFile(str(path), "w", sr, audio.shape[0], quality="V2") as out:
        out.write(audio)
    try:
        tags = ID3(str(path))
    except ID3NoHeaderError:
        tags = ID3()
    tags.add(TIT2(encoding=3, text=title))
    tags.add(TCON(encoding=3, text=genre or "Mashup"))
    tags.add(TPE1(encoding=3, text="Mashup Studio"))
    if comment:
        tags.add(COMM(encoding=3, lang="eng", desc="description", text=comment[:2000]))
    tags.save(str(path))
    return path


def write_wav(path: Path, audio: np.ndarray, sr: int) -> Path:
    with AudioFile(str(path), "w", sr, audio.shape[0], bit_depth=16) as out:
        out.write(np.clip(audio, -1, 1))
    return path


def _colour(values: np.ndarray) -> np.ndarray:
    scaled = np.clip(values, 0, 1) * (len(PALETTE) - 1)
    low = np.floor(scaled).astype(int)
    high = np.minimum(low + 1, len(PALETTE) - 1)
    frac = (scaled - low)[..., None]
    return (PALETTE[low] * (1 - frac) + PALETTE[high] * frac).astype(np.uint8)


# A TrueType font with the typography titles use (×, accents); Pillow's default lacks "×".
FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in FONTS:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


# Not in the font, a character is drawn as an empty box (.notdef); this one is in no font.
MISSING = "\U0010fffd"
# Words that only join two names ("A × B"), meaningless once a name beside them is gone.
JOINS = frozenset({"×", "x", "X", "+", "&", "-", "–", "—", "/", "|", "vs", "vs."})


def drawable(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> str:
    """``text`` without the characters ``font`` has no glyph for (emoji, and Chinese or
    Japanese in the DejaVu fonts), so that the cover shows no empty boxes; a join left
    with nothing on one side goes too ("夜 × B": "B"). Text it can draw is left as it is."""
    if not isinstance(font, ImageFont.FreeTypeFont):
        return text

    def glyph(ch: str) -> tuple[tuple[int, int], bytes]:
        mask = font.getmask(ch)
        return mask.size, bytes(list(mask))

    box = glyph(MISSING)
    missing = {ch for ch in set(text) if not ch.isspace() and glyph(ch) == box}
    if not missing:
        return text
    words = ["".join(ch for ch in word if ch not in missing) for word in text.split()]
    kept: list[str] = []
    for word in filter(None, words):
        if word in JOINS and (not kept or kept[-1] in JOINS):
            continue  # a join with nothing before it
        kept.append(word)
    while kept and kept[-1] in JOINS:  # ... or after it
        kept.pop()
    return " ".join(kept)


def one_line(text: str) -> str:
    """``text`` on one line: every run of whitespace (line and paragraph breaks, tabs, the
    separators a text box keeps) one space, control characters left out. The text layout
    raises on a paragraph separator, and a caption is one line."""
    return " ".join("".join(ch for ch in text if ch.isspace() or not _control(ch)).split())


def _control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc"


def caption(title: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> str:
    """``title`` as it fits the cover's width (24 px margins), cut at a word where it can
    be and marked "…" where it is cut; on one line (``one_line``), without what the font
    cannot draw."""
    title = drawable(one_line(title), font)
    room = COVER_SIZE - 48
    if font.getlength(title) <= room:
        return title
    words = title.split()
    while len(words) > 1 and font.getlength(" ".join(words) + "…") > room:
        words.pop()
    text = " ".join(words)
    while text and font.getlength(text + "…") > room:
        text = text[:-1]
    return text.rstrip(" ,;:-–—") + "…"


def write_cover(path: Path, audio: np.ndarray, sr: int, *, title: str) -> Path:
    mono = scipy.signal.resample_poly(audio.mean(axis=0), 1, 2)
    rate = sr / 2
    mag = stft_magnitude(mono, 2048, 1024)
    freqs = np.fft.rfftfreq(2048, 1 / rate)
    edges = np.geomspace(40, rate / 2, COVER_SIZE + 1)
    rows = np.stack(
        [
            mag[(freqs >= lo) & (freqs < hi)].mean(axis=0)
            if ((freqs >= lo) & (freqs < hi)).any()
            else mag[np.searchsorted(freqs, lo) - 1]
            for lo, hi in itertools.pairwise(edges)
        ]
    )
    # Each column is the mean of its stretch of frames (for songs longer than the cover is
    # wide), not one frame picked from it, which would alias into speckle.
    frames = rows.shape[1]
    if frames >= COVER_SIZE:
        starts = np.linspace(0, frames, COVER_SIZE, endpoint=False).astype(int)
        columns = np.add.reduceat(rows, starts, axis=1) / np.diff(np.append(starts, frames))
    else:
        columns = rows[:, np.linspace(0, frames - 1, COVER_SIZE).astype(int)]
    db = 20 * np.log10(columns + 1e-9)
    norm = (db - (db.max() - 70)) / 70
    image = Image.fromarray(_colour(norm[::-1]), "RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle([(0, COVER_SIZE - 70), (COVER_SIZE, COVER_SIZE)], fill=(12, 8, 32))
    font = _font(28)
    draw.text((24, COVER_SIZE - 52), caption(title, font), fill=(238, 240, 255), font=font)
    image.save(path, format="PNG", optimize=True)
    return path
