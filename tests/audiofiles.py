"""Audio files the tests make themselves (PyAV's encoders; no tools, no downloads)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# format -> (container format, codec, sample format PyAV's encoder wants, sample rate)
ENCODINGS: dict[str, tuple[str, str, str, int | None]] = {
    "mp3": ("mp3", "mp3", "fltp", None),
    "wav": ("wav", "pcm_s16le", "s16", None),
    "ogg": ("ogg", "vorbis", "fltp", None),
    "flac": ("flac", "flac", "s16", None),
    "m4a": ("ipod", "aac", "fltp", None),
    "opus": ("ogg", "libopus", "s16", 48000),  # Opus runs at 48 kHz
    # Less common files the probe must judge too (not in FORMATS)
    "wav_f32": ("wav", "pcm_f32le", "flt", None),
    "adts": ("adts", "aac", "fltp", None),  # raw AAC: no duration in the file
}
FORMATS = ("mp3", "wav", "ogg", "flac", "m4a", "opus")


def tone(seconds: float, sr: int, channels: int = 2, freq: float = 440.0) -> np.ndarray:
    """A sine tone, shape (channels, samples), float32 in [-0.5, 0.5]."""
    t = np.arange(int(seconds * sr), dtype=np.float64) / sr
    mono = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.tile(mono, (channels, 1))


def write_audio(path: Path, fmt: str, audio: np.ndarray, sr: int) -> Path:
    """Encode ``audio`` (channels, samples) float32 into ``path`` in the given format."""
    container_format, codec, sample_format, forced_rate = ENCODINGS[fmt]
    rate = forced_rate or sr
    if rate != sr:
        sr_ratio = rate / sr
        idx = np.minimum(
            (np.arange(int(audio.shape[1] * sr_ratio)) / sr_ratio).astype(int), audio.shape[1] - 1
        )
        audio = audio[:, idx]
    channels = audio.shape[0]
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w", format=container_format) as container:
        # FFmpeg's own Vorbis encoder is marked experimental; it is fine for test files.
        stream = container.add_stream(
            codec, rate=rate, layout=layout, options={"strict": "experimental"}
        )
        stream.time_base = Fraction(1, rate)
        pts = 0
        for start in range(0, audio.shape[1], 4096):
            chunk = audio[:, start : start + 4096]
            frame = _frame(chunk, sample_format, layout, rate)
            frame.pts = pts
            pts += chunk.shape[1]
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _frame(chunk: np.ndarray, sample_format: str, layout: str, rate: int) -> av.AudioFrame:
    if sample_format == "s16":
        data = (np.clip(chunk, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1)  # interleaved
    elif sample_format == "flt":  # interleaved floats, as they are (NaN too)
        data = np.ascontiguousarray(chunk, dtype=np.float32).T.reshape(1, -1)
    else:
        data = np.ascontiguousarray(chunk, dtype=np.float32)  # planar
    frame = av.AudioFrame.from_ndarray(data, format=sample_format, layout=layout)
    frame.sample_rate = rate
    return frame


def write_tone(
    path: Path,
    fmt: str,
    *,
    seconds: float = 6.0,  # the local engine needs 5 s of each song
    sr: int = 44100,
    channels: int = 2,
    freq: float = 440.0,
) -> Path:
    return write_audio(Path(path), fmt, tone(seconds, sr, channels, freq), sr)


def write_long_wav(path: Path, seconds: float) -> Path:
    """A long but small WAV: 8 kHz mono, so nine minutes stay under 9 MB."""
    return write_tone(Path(path), "wav", seconds=seconds, sr=8000, channels=1)


def write_png_as(path: Path) -> Path:
    """A real PNG image, under whatever name (e.g. song.mp3)."""
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 40, 90)).save(path, format="PNG")
    return Path(path)


def write_empty(path: Path) -> Path:
    Path(path).write_bytes(b"")
    return Path(path)


def write_truncated_mp3(path: Path) -> Path:
    """The first few hundred bytes of a real MP3: a header, then nothing usable."""
    full = Path(path).with_suffix(".full.mp3")
    write_tone(full, "mp3", seconds=2.0)
    Path(path).write_bytes(full.read_bytes()[:300])
    full.unlink()
    return Path(path)
