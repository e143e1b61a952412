"""Is this upload really audio we can use? Decided by decoding, never by the file's name.

PyAV (FFmpeg) opens the container, the first audio stream's first seconds are decoded to
prove the bytes are audio and not only a header, and the duration comes from the
container. When the container does not know its duration (raw MP3 without a Xing header,
some Ogg files), it is estimated from the stream's bit rate and the file size, which is
accurate for constant bit rate and close for variable; decoding a 50 MB file whole just to
show a duration would make the form slow. Raw AAC (ADTS) is measured by its frames
(``FRAMED_ONLY``): FFmpeg's guess from its first frames' bit rate was ten times too long.

A file silent throughout (digital silence, or nothing above SILENCE_DBFS) is refused here,
where the engine would refuse it only in the worker, after a start was spent: when its
first seconds are silent, it is listened to at LISTEN_POINTS points spread over its
length (a second each), and refused only when none of them sounds; where the points
cannot be listened to (a seek lands elsewhere than asked), the engine judges. A quiet
intro before the music passes. A floating-point file whose first seconds are silent for
more than ``decode.DAMAGED`` samples that are no number is refused as damaged (it had been
called silent); where they sound, the engine judges the whole file.

Messages are for musicians: they say what the file is ("a PNG image") rather than what
FFmpeg said ("Invalid data found when processing input").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from .decode import DAMAGED, NOT_NUMBERS, not_numbers

# Codec name -> what a person calls it. Anything else is refused by name.
ACCEPTED_CODECS: dict[str, str] = {
    "mp3": "MP3",
    "mp3float": "MP3",
    "vorbis": "OGG Vorbis",
    "flac": "FLAC",
    "aac": "AAC (M4A)",
    "opus": "Opus",
}
PCM_PREFIX = "pcm_"  # WAV holds PCM in many sample formats

# Magic bytes of common files people pick by mistake, to name them in the message.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF8", "a GIF image"),
    (0, b"%PDF", "a PDF document"),
    (0, b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (0, b"\x1f\x8b", "a gzip archive"),
    (0, b"Rar!", "a RAR archive"),
    (0, b"7z\xbc\xaf", "a 7-Zip archive"),
    (0, b"MZ", "a Windows program"),
    (0, b"\x7fELF", "a program"),
    (8, b"WEBP", "a WebP image"),
    (0, b"BM", "a bitmap image"),
)


# Peak level below which a song is silent (the engine's analysis refuses such a song too).
SILENCE_DBFS = -60.0
LISTEN_POINTS, LISTEN_SECONDS = 12, 1.0


class NotAudioError(ValueError):
    """The file is not audio we accept; ``str(error)`` is the message for the person."""


@dataclass(frozen=True)
class AudioInfo:
    format_name: str
    codec: str
    duration: float
    sample_rate: int
    channels: int


MAX_SUFFIX = 5  # ".mp3", ".flac", ".opus", ".aiff": a format's suffix is short


def split_suffix(name: str) -> tuple[str, str]:
    """``name`` as its stem and its format suffix: ("song", ".ogg"). Only a suffix of up
    to MAX_SUFFIX ASCII letters and digits, not all digits, counts, so a dot in a title
    stays in the name: "Mr. Brightside", "Mr.Brightside" and "Vol.2" are all stem, where
    ``Path.stem`` would cut them."""
    stem, dot, suffix = name.rpartition(".")
    is_format = suffix.isascii() and suffix.isalnum() and not suffix.isdigit()
    if not stem or not is_format or len(suffix) > MAX_SUFFIX:
        return name, ""
    return stem, dot + suffix


def format_duration(seconds: float) -> str:
    """761.4 -> "12:41"; hours when needed ("1:02:03")."""
    total = int(max(0.0, seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def sniff(head: bytes) -> str | None:
    """A name for a well-known non-audio file, from its first bytes."""
    for offset, magic, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML)"
    if head and all(32 <= b < 127 or b in b"\r\n\t" for b in head[:512]):
        return "a text file"
    return None


def _format_name(codec: str) -> str | None:
    if codec.startswith(PCM_PREFIX):
        return "WAV"
    return ACCEPTED_CODECS.get(codec)


def media_type(head: bytes) -> str | None:
    """The audio or image type (MIME) a file's first bytes show, or None: what the app
    serves a stored file as (mashups/storage.py), and what a file that fails to decode
    looks like (``_looks_like``)."""
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "audio/aac"  # raw AAC (ADTS): an MPEG sync whose layer bits are 00
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    if head[:2] == b"\xff\xd8":
        return "image/jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    return None


LABELS = {
    "audio/mpeg": "MP3",
    "audio/wav": "WAV",
    "audio/ogg": "OGG",
    "audio/flac": "FLAC",
    "audio/mp4": "M4A",
    "audio/aac": "AAC",
}


def _looks_like(head: bytes) -> str:
    return LABELS.get(media_type(head) or "", "audio")


def probe_audio(path: str | os.PathLike[str], *, decode_seconds: float = 3.0) -> AudioInfo:
    """AudioInfo of an accepted audio file, or NotAudioError saying what is wrong."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise NotAudioError("this file is empty")
    with path.open("rb") as handle:
        head = handle.read(1024)
    # FFmpeg opens images as one-frame "videos"; name well-known non-audio files first.
    if kind := sniff(head):
        raise NotAudioError(f"this file is {kind}, not audio")
    try:
        with av.open(str(path)) as container:
            return _probe_container(container, size, decode_seconds)
    except NotAudioError:
        raise
    except (av.FFmpegError, EOFError, ValueError, IndexError, OSError) as error:
        raise NotAudioError(
            f"this file looks like {_looks_like(head)} but could not be decoded "
            "(it may be truncated or damaged)"
        ) from error


def _probe_container(
    container: av.container.InputContainer, size: int, seconds: float
) -> AudioInfo:
    if not container.streams.audio:
        kind = "a video without sound" if container.streams.video else "not audio"
        raise NotAudioError(
            f"this file is {kind}" if kind != "not audio" else "this file has no audio"
        )
    stream = container.streams.audio[0]
    codec = stream.codec_context.name
    format_name = _format_name(codec)
    if format_name is None:
        raise NotAudioError(
            f"this file is audio in the {codec} format, which is not accepted: "
            "use MP3, WAV, OGG, FLAC, M4A/AAC or Opus"
        )
    decoded, peak, no_number = _decode_start(container, stream, seconds)
    if decoded == 0:
        raise NotAudioError(f"this {format_name} file holds no sound")
    if not _sounds(peak) and no_number > DAMAGED:
        # Silent for its samples that are no number: damaged, not silent. Where the start
        # sounds, the engine judges the whole (a few such samples are silenced).
        raise NotAudioError(f"this {format_name} file is damaged: {NOT_NUMBERS}")
    duration = _duration(container, stream, size)
    if container.format.name in FRAMED_ONLY:
        container.seek(0)
        duration = _framed_duration(container, stream) or duration
    if duration <= 0:
        raise NotAudioError(f"this {format_name} file has no length")
    if not _sounds(peak) and _heard_somewhere(container, stream, duration) is False:
        raise NotAudioError(f"this {format_name} file is silent: nothing could be heard in it")
    return AudioInfo(
        format_name=format_name,
        codec=codec,
        duration=duration,
        sample_rate=stream.codec_context.sample_rate or stream.sample_rate or 0,
        channels=stream.codec_context.channels or 0,
    )


def _decode_start(
    container: av.container.InputContainer, stream: av.AudioStream, seconds: float
) -> tuple[int, float, float]:
    """(samples decoded from the first ``seconds`` (0 when nothing decodes), their peak,
    the share of them that are no number: ``decode.not_numbers``)."""
    samples, peak, no_number = 0, 0.0, 0.0
    rate = stream.codec_context.sample_rate or 44100
    for frame in container.decode(stream):
        samples += frame.samples
        peak = max(peak, _peak(frame))
        if frame.format.name.startswith(("flt", "dbl")):  # only floats hold no numbers
            no_number += not_numbers(frame.to_ndarray()) * frame.samples
        if samples >= seconds * rate:
            break
    return samples, peak, no_number / samples if samples else 0.0


def _heard_somewhere(
    container: av.container.InputContainer, stream: av.AudioStream, duration: float
) -> bool | None:
    """Whether a second of sound is heard at any of LISTEN_POINTS points spread over the
    file; None when it cannot be listened to so (a seek fails, or lands elsewhere than
    asked: a length that was only estimated), and the engine will judge."""
    rate = stream.codec_context.sample_rate or 44100
    try:
        for at in np.linspace(0.05, 0.95, LISTEN_POINTS) * duration:
            container.seek(int(at * av.time_base))
            samples, landed = 0, False
            for frame in container.decode(stream):
                if not landed:
                    if frame.time is None or abs(frame.time - at) > LISTEN_SECONDS + 1:
                        return None
                    landed = True
                if _sounds(_peak(frame)):
                    return True
                samples += frame.samples
                if samples >= LISTEN_SECONDS * rate:
                    break
            if not landed:  # nothing there: the file is shorter than its length says
                return None
    except (av.FFmpegError, EOFError, ValueError, IndexError, OSError):
        return None
    return False


def _peak(frame: av.AudioFrame) -> float:
    """A decoded frame's peak, 0..1 of full scale, whatever its sample format."""
    samples = frame.to_ndarray()
    if samples.dtype.kind == "f":  # a sample that is no number is silence (engine/decode.py)
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    if samples.size == 0:
        return 0.0
    if samples.dtype.kind == "u":  # 8-bit PCM: unsigned around the middle
        return float(np.abs(samples.astype(np.float32) - 128).max() / 128)
    peak = float(np.abs(samples).max())
    return peak / 2 ** (8 * samples.dtype.itemsize - 1) if samples.dtype.kind == "i" else peak


def _sounds(peak: float) -> bool:
    return peak > 10 ** (SILENCE_DBFS / 20)


# Containers with no length in them, whose frames say it exactly: raw AAC (ADTS), whose
# length FFmpeg otherwise guesses from its first frames' bit rate (a minute that starts
# quiet read as 9:45). Reading the frames (not decoding them) costs ~10 ms a minute.
FRAMED_ONLY = frozenset({"aac"})


def declared_duration(path: str | os.PathLike[str]) -> float | None:
    """How long the file says it is, as the upload's check measured it (its container's
    duration, its frames' for raw AAC), without decoding it; None when it cannot be
    opened or says nothing. A file cut short still says its whole length."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            duration = _duration(container, stream, Path(path).stat().st_size)
            if container.format.name in FRAMED_ONLY:
                container.seek(0)
                duration = _framed_duration(container, stream) or duration
    except (av.FFmpegError, EOFError, ValueError, IndexError, OSError):
        return None
    return duration if duration > 0 else None


def stated_duration(path: str | os.PathLike[str]) -> float | None:
    """The length a file's header states exactly: a WAV's data chunk, an MP3's Xing, Info
    or VBRI frame count, FLAC's sample count. None where no header states one: the length
    is then estimated from the bit rate, or read from the file's last page or frames,
    and a file cut short says its cut. A file cut short whose decoding meets no damage
    (a WAV, an MP3) is told by it (pipeline). Read here, not asked of FFmpeg: it gives a
    cut WAV's length as what is left of it, and drops an MP3's frame count (for an
    estimate) when the file is longer than the header says (a large tag at its end)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
            if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
                return _riff_duration(handle, int.from_bytes(head[4:8], "little"))
            if media_type(head) == "audio/mpeg":
                return _mp3_counted_duration(handle)
    except OSError:
        return None
    return declared_duration(path) if media_type(head) == "audio/flac" else None


# WAV format tags whose data is a fixed number of bytes a frame (block_align): PCM, IEEE
# float, A-law, mu-law and the extensible wrapper (of PCM or float). Compressed data in a
# WAV (ADPCM, MP3) is not: its length is no division.
FIXED_FRAME_WAV = {1, 3, 6, 7, 0xFFFE}
# A data chunk stated this large or larger is a writer's "unknown" (or a lie), not a length.
UNSTATED_WAV = 0x7FFF0000


def _riff_duration(handle: BinaryIO, riff_size: int) -> float | None:
    """A WAV's length by its header (``handle`` just past "RIFF....WAVE"): the data
    chunk's size over the format chunk's bytes a second. None when it states none (a
    streaming writer's 0 or 0xFFFFFFFF, a compressed format) or contradicts itself: a
    data chunk past the end of the RIFF chunk (``riff_size``) is a writer's fault, which
    would call a whole file cut short."""
    rate = align = tag = 0
    while len(chunk := handle.read(8)) == 8:
        kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
        if kind == b"fmt ":
            fmt = handle.read(min(size, 16))  # what is past it (cbSize...) is not needed
            handle.seek(size + size % 2 - len(fmt), os.SEEK_CUR)
            tag, rate = int.from_bytes(fmt[0:2], "little"), int.from_bytes(fmt[4:8], "little")
            align = int.from_bytes(fmt[12:14], "little")
        elif kind == b"data":
            within = handle.tell() + size <= riff_size + 8
            stated = tag in FIXED_FRAME_WAV and rate and align and 0 < size < UNSTATED_WAV
            stated = stated and within
            return size / (rate * align) if stated else None
        else:
            handle.seek(size + size % 2, os.SEEK_CUR)
    return None


# MPEG audio frame headers (Layer III): sample rates by version bits (MPEG 1, 2, 2.5)
# and rate index; samples a frame; where a Xing/Info header lies in the first frame, by
# (MPEG 1, mono): past the 4-byte header and the side information.
MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
MPEG_SAMPLES = {3: 1152, 2: 576, 0: 576}
XING_AT = {(True, False): 36, (True, True): 21, (False, False): 21, (False, True): 13}


def _mp3_counted_duration(handle: BinaryIO) -> float | None:
    """An MP3's length by its Xing, Info or VBRI header's frame count; None when its
    first frame holds none (a length FFmpeg can only estimate from the bit rate)."""
    handle.seek(0)
    head = handle.read(10)
    start = 0
    if head[:3] == b"ID3" and len(head) == 10:  # an ID3v2 tag: its size is syncsafe
        start = 10 + sum((byte & 0x7F) << (7 * (3 - i)) for i, byte in enumerate(head[6:10]))
    handle.seek(start)
    data = handle.read(4096)
    at = next(
        (i for i in range(len(data) - 4) if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0), -1
    )
    if at < 0:
        return None
    version, layer = (data[at + 1] >> 3) & 3, (data[at + 1] >> 1) & 3
    rate_index, mono = (data[at + 2] >> 2) & 3, data[at + 3] >> 6 == 3
    if version not in MPEG_RATES or layer != 1 or rate_index == 3:  # Layer III only
        return None
    count = b""
    xing = at + XING_AT[(version == 3, mono)]
    flags = data[xing + 4 : xing + 8]  # slices: a file may end inside its first frame
    if data[xing : xing + 4] in (b"Xing", b"Info") and len(flags) == 4 and flags[3] & 1:
        count = data[xing + 8 : xing + 12]
    elif data[at + 36 : at + 40] == b"VBRI":
        count = data[at + 50 : at + 54]
    frames = int.from_bytes(count, "big") if len(count) == 4 else 0
    if not frames:
        return None
    return frames * MPEG_SAMPLES[version] / MPEG_RATES[version][rate_index]


def _framed_duration(container: av.container.InputContainer, stream: av.AudioStream) -> float:
    """The sum of the stream's packets' durations, in seconds (0 when they carry none), up
    to any damage: a raw AAC file cut short is as long as it plays (it was refused as
    "could not be decoded", which the engine decodes as far as it goes)."""
    total = 0
    try:
        for packet in container.demux(stream):
            total += packet.duration or 0
    except av.error.InvalidDataError:
        pass
    return float(total * stream.time_base) if stream.time_base else 0.0


def _duration(container: av.container.InputContainer, stream: av.AudioStream, size: int) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    bit_rate = stream.codec_context.bit_rate or container.bit_rate
    return size * 8 / bit_rate if bit_rate else 0.0
