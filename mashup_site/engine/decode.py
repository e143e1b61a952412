"""Decoding any accepted format to float32 stereo at one sample rate, with PyAV (FFmpeg).

FFmpeg's resampler (swr) converts rate, layout and sample format in one pass while
decoding, so an 8 kHz mono voice memo and a 96 kHz studio file come out alike.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from .errors import EngineError

SR = 44100
BACKWARDS = -0.5


def load(
    path: str | Path, sr: int = SR, *, max_seconds: float | None = None, name: str = ""
) -> np.ndarray:
    """Audio as float32, shape (2, samples), at ``sr``; at most ``max_seconds`` of it (the
    rest is never decoded: a 20-minute mix under a 4-minute model costs 4 minutes).
    ``name``: what errors call the file (its file name when not given)."""
    limit = int(max_seconds * sr) if max_seconds else None
    name = name or Path(path).name
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise EngineError(f"{name} has no audio")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=sr)
            chunks: list[np.ndarray] = []
            decoded = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
                    decoded += out.samples
                if limit and decoded >= limit:
                    break
            else:
                chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    except EngineError:
        raise
    except (av.FFmpegError, EOFError, ValueError, OSError) as error:
        # PyAV's errors about files are OSErrors too: those may pass next time
        raise EngineError(
            f"could not decode {name}: it may be damaged or not audio",
            final=not isinstance(error, OSError),
        ) from error
    if not chunks:
        raise EngineError(f"{name} holds no sound")
    audio = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    # A damaged floating-point file can hold samples that are no number: silence them
    # (what a player does) rather than let one poison every spectrum of the song.
    np.nan_to_num(audio, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return polarity_fixed(np.ascontiguousarray(audio[:2, :limit]))


def polarity_fixed(audio: np.ndarray) -> np.ndarray:
    """``audio`` with its right channel's polarity turned back when it is inverted: the two
    channels correlated under BACKWARDS. No mix is released so (summed to one channel, as
    the analysis and a phone's speaker do, it cancels); a cable or an export wired
    backwards makes one. A wide mix's channels are apart, not opposed (its correlation
    stays well above)."""
    left, right = audio
    power = float(np.dot(left, left)) * float(np.dot(right, right))
    if power > 0 and float(np.dot(left, right)) < BACKWARDS * np.sqrt(power):
        audio[1] *= -1
    return audio
