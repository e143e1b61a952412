"""Decoding any accepted format to float32 stereo at one sample rate, with PyAV (FFmpeg).

FFmpeg's resampler (swr) converts rate, layout and sample format in one pass while
decoding, so an 8 kHz mono voice memo and a 96 kHz studio file come out alike.

What a recording holds that no one hears, or that is a fault of its making, is taken out
here, so that every part of the engine hears the song alike:
- samples that are no number (a damaged floating-point file) are silenced (a file with
  more than DAMAGED of them is refused as damaged: all of it had been called silent,
  and a twentieth of it made a song full of holes), and so are
  numbers no recording makes (``damage_silenced``): one sample of 1e10 overflowed the
  master's float32 arithmetic (a crash, with two silent files left), one of 1e3 passed
  for the song's loudest moment (its loudness read +24 LUFS and its voice 47 dB under
  it), one of 1e6 named the song's key wrongly and moved the other song to it. Clipped
  to a ceiling instead, a run of them (random bits) still read +15 LUFS;
- a DC offset (a recorder's fault) and a record's warp (0.5–10 Hz): silent, but the peak
  the master's limiter sees. A backing 0.5 off centre came out of the master at −25 LUFS
  (its offset was the peak, and the last scale brought it under the ceiling), its
  vocals-and-instrumental files clipped, and a warp half as large as the music pumped it
  at the warp's rate (the music 1–3 dB from its own shape). A zero-phase high-pass
  (``subsonic_removed``: Butterworth, 2nd order each way, −6 dB at SUBSONIC_HZ, −0.1 dB at
  40 Hz) takes them out without moving a beat (0.2 CPU s a channel of 4 minutes);
- a channel wired backwards (``polarity_fixed``).

Damaged packets are skipped, as a player skips them; a file cut short (a download that
stopped) gives what it holds up to the cut, and ``load`` says so (``on_cut``), so the
analysis can tell the person (with ``probe.declared_duration``, how long it says it is).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import scipy.ndimage
import scipy.signal

from .errors import EngineError

SR = 44100
SUBSONIC_HZ = 15.0
BACKWARDS = -0.5
# A floating-point file may hold overs, music past full scale that a master turns down,
# but not this far past both full scale and its own loud passages (+24 dB over the
# louder of the two).
OVERS = 16.0
# No sound lies past this: the floating-point files some programs write at integers'
# scale (16- or 32-bit) stay under it; random bits lie past it four times in ten.
NOT_SOUND = 2.0**31
# More of the song than this past the limit (or no number at all), and the file is
# numbers, not sound.
DAMAGED = 0.01
NOT_NUMBERS = "much of it is unreadable (samples that are not numbers)"
# Samples around a silenced one that the resampler (to the engine's rate) spread it
# over: its filter reaches a few dozen samples either way.
RESAMPLER_REACH = 64


def load(
    path: str | Path,
    sr: int = SR,
    *,
    max_seconds: float | None = None,
    name: str = "",
    on_cut: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Audio as float32, shape (2, samples), at ``sr``; at most ``max_seconds`` of it (the
    rest is never decoded: a 20-minute mix under a 4-minute model costs 4 minutes).
    ``name``: what errors call the file (its file name when not given). ``on_cut``: told
    the seconds the file gave when it stopped before its end (cut short or damaged)."""
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
            # Samples that are no number, counted as the file holds them: resampled, each
            # spreads over its neighbours (one in a 48 kHz file became 37). Only a
            # floating-point PCM file holds them (decoders of MP3 and the like make none).
            floats = stream.codec_context.name.startswith("pcm_f")
            no_number = [0, 0]  # (such samples, all samples) in the frames decoded
            bad_at: int | None = None  # the audio decoded when the last bad packet came
            try:
                for packet in container.demux(stream):
                    try:
                        frames = packet.decode()
                    except av.error.InvalidDataError:
                        # A damaged packet: a player skips it and plays on (FFmpeg's own
                        # decoding loop stopped the song there, at a third of an MP3).
                        bad_at = decoded
                        continue
                    for frame in frames:
                        if floats:
                            samples = frame.to_ndarray()
                            no_number[0] += int(samples.size - np.isfinite(samples).sum())
                            no_number[1] += samples.size
                        for out in resampler.resample(frame):
                            chunks.append(out.to_ndarray())
                            decoded += out.samples
                    if limit and decoded >= limit:
                        break
                else:
                    chunks.extend(out.to_ndarray() for out in resampler.resample(None))
            except av.error.InvalidDataError:
                bad_at = decoded  # the container itself stops there
                chunks.extend(out.to_ndarray() for out in resampler.resample(None))
            if bad_at is not None and bad_at == decoded and chunks and on_cut:
                # Nothing came after the damage: the file stops there (a download or a copy
                # cut short), and what lies before it is the song, as a player plays it.
                on_cut(sum(chunk.shape[1] for chunk in chunks) / sr)
    except EngineError:
        raise
    except (av.FFmpegError, EOFError, ValueError, OSError) as error:
        # PyAV's errors about files are OSErrors too: those may pass next time
        raise EngineError(
            f"could not decode {name}: it may be damaged or not audio",
            final=not isinstance(error, OSError),
        ) from error
    if not chunks and bad_at is not None:  # every packet damaged
        raise EngineError(f"could not decode {name}: it may be damaged or not audio")
    if not chunks:
        raise EngineError(f"{name} holds no sound")
    audio = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    # A damaged floating-point file can hold samples that are no number: silence them
    # (what a player does) rather than let one poison every spectrum of the song. (Looked
    # for first: nan_to_num's search for infinities cost a third of a second a song.)
    if not np.isfinite(audio).all():
        if no_number[0] > DAMAGED * no_number[1]:
            raise EngineError(f"{name} is damaged: {NOT_NUMBERS}", final=True)
        np.nan_to_num(audio, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    audio = damage_silenced(audio, name)
    return polarity_fixed(subsonic_removed(np.ascontiguousarray(audio[:2, :limit]), sr))


def not_numbers(audio: np.ndarray) -> float:
    """The share of ``audio``'s samples (any channel's) that are no number: a few are a
    damaged file's specks, silenced as a player silences them; past DAMAGED, the file."""
    return float((~np.isfinite(audio)).mean()) if audio.size else 0.0


def damage_silenced(audio: np.ndarray, name: str) -> np.ndarray:
    """``audio`` (float32, its own) with the numbers no recording makes silenced, in place
    (module notes): samples past OVERS times its loud passages (the 99th percentile of
    its sounding samples' magnitude, or full scale if higher; never past NOT_SOUND), and
    the resampler's reach (RESAMPLER_REACH) around them, which it spread them over. A
    file written at integers' scale keeps its shape (all of it lies past full scale, its
    loud passages too). EngineError (final) where more than DAMAGED of the song is such
    numbers: the file is numbers, not sound."""
    if max(float(audio.max(initial=0.0)), -float(audio.min(initial=0.0))) <= OVERS:
        return audio  # every song a recorder or a mixer makes (one pass, no copy)
    # Every seventh sample is plenty to find the loud passages, and a seventh of the work;
    # random bits are numbers of any size, the loudest of them no sound's.
    every = np.abs(audio[:, ::7]).ravel()
    sounding = every[(every > 1e-6) & (every <= NOT_SOUND)]
    loud = float(np.percentile(sounding, 99)) if len(sounding) else 0.0
    # Room past NOT_SOUND for a file at integers' scale whose resampling overshoots it.
    bad = (np.abs(audio) > min(OVERS * max(loud, 1.0), 4 * NOT_SOUND)).any(axis=0)
    if bad.mean() > DAMAGED:
        raise EngineError(f"{name} is damaged: its samples are numbers, not sound", final=True)
    bad = scipy.ndimage.binary_dilation(bad, iterations=RESAMPLER_REACH)
    audio[:, bad] = 0.0
    return audio


def subsonic_removed(audio: np.ndarray, sr: int) -> np.ndarray:
    """``audio`` (float32, its own) without what lies under SUBSONIC_HZ, DC included, its
    phase kept (forward and back), in place: a channel at a time bounds the filter's
    working copies."""
    if audio.shape[1] < sr // 10:  # a click: nothing under 15 Hz to hear in it
        return audio
    sos = scipy.signal.butter(2, SUBSONIC_HZ, "highpass", fs=sr, output="sos")
    sos = sos.astype(np.float32)
    for channel in audio:
        channel[:] = scipy.signal.sosfiltfilt(sos, channel)
    return audio


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
