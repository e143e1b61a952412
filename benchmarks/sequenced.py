"""Sequenced music of known tempo and key: Debian's ``openttd-openmsx`` (GPL-2), 31 pieces
of game music written as MIDI files (4/4, 3/4, 5/4 and 6/4; 64–200 BPM; most with General
MIDI drums, two without), rendered to audio with FluidSynth and the TimGM6mb soundfont
(or another, ``SOUNDFONTS``).

Why: the team's held-out set includes sequenced pieces of known tempo (96–140 BPM) and
pieces rendered from MIDI files whose reference key is read from their own pitch classes.
Nothing in the engine was chosen on these pieces: they are an independent check of the
tempo, the beat grid and the key, like the held-out material and unlike rhythms.py,
sections.py and sectoid (which the engine was tuned on).

The truth comes from each MIDI file, never from audio:
- tempo: the tempo the piece spends longest at (its tempo map, as for sectoid's charts);
  beats: its quarter notes through the tempo map from tick 0;
- key: the pitch classes of every note outside the drum channel, weighted by duration,
  correlated with the Krumhansl–Kessler profiles of the 24 keys. ``margin`` says how
  clearly the best key beats the second: a reference under 0.05 is itself doubtful.

On first use the package, FluidSynth and the soundfont are fetched with ``apt-get
download`` and unpacked with ``dpkg -x`` into benchmarks/.cache/sequenced/ (git-ignored),
and each piece is rendered once to a FLAC there. Nothing here is committed or used by the
tests. The team's held-out packages (drascula-music, fretsonfire-songs-muldjord,
planetblupi-music-*) are never fetched.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sectoid

CACHE = sectoid.ROOT / "benchmarks" / ".cache" / "sequenced"
PACKAGE = "openttd-openmsx"
MIDI_DIR = "usr/share/games/openttd/baseset/openmsx"
# General MIDI soundfonts from Debian: (package, file). TimGM6mb (6 MB) renders every
# set; FluidR3 (140 MB, other samples of every instrument) renders a set a second time,
# to tell what a change does to music from what it does to one soundfont's timbres.
SOUNDFONTS = {
    "TimGM6mb": ("timgm6mb-soundfont", "usr/share/sounds/sf2/TimGM6mb.sf2"),
    "FluidR3": ("fluid-soundfont-gm", "usr/share/sounds/sf2/FluidR3_GM.sf2"),
}
DEFAULT_FONT = "TimGM6mb"
RENDERER = (
    "fluidsynth",
    "libfluidsynth3",
    "libinstpatch-1.0-2",
    "libsamplerate0",
    "libjack-jackd2-0",
    "libdecor-0-0",
    "libsdl2-2.0-0",
    *sectoid.SOUND_STACK,
)
NOTES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler (1982) probe-tone profiles, C major and C minor.
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class Piece:
    name: str
    midi: Path
    audio: Path  # FLAC, 44.1 kHz stereo
    key: tuple[int, str]  # (tonic pitch class, "major" | "minor") from the MIDI's notes
    key_margin: float  # best key's correlation minus the second's


def pieces(font: str = DEFAULT_FONT) -> list[Piece]:
    """Every piece of the package, rendered (once) with the soundfont ``font``
    (``SOUNDFONTS``) and with its reference key."""
    folder = sectoid.debian_package(PACKAGE, CACHE / "package") / MIDI_DIR
    out = []
    for midi in sorted(folder.glob("*.mid")):
        key, margin = midi_key(midi)
        out.append(Piece(midi.stem, midi, render(midi, CACHE, font), key, margin))
    return out


def pieces_of(midis: list[Path], into: Path, font: str = DEFAULT_FONT) -> list[Piece]:
    """The MIDI files ``midis`` that have pitched notes, each rendered (once) into ``into``
    with the soundfont ``font`` and with its reference key (a file of drums alone has no
    key to refer to)."""
    out = []
    for midi in midis:
        if not notes(midi)[0]:
            continue
        key, margin = midi_key(midi)
        out.append(Piece(midi.stem, midi, render(midi, into, font), key, margin))
    return out


def render(midi: Path, into: Path = CACHE, font: str = DEFAULT_FONT) -> Path:
    """``midi`` played by FluidSynth with the soundfont ``font`` (``SOUNDFONTS``), as a
    FLAC in ``into`` (in its folder ``font`` for any but the default)."""
    folder = into if font == DEFAULT_FONT else into / font
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{midi.stem}.flac"
    if path.is_file():
        return path
    package, file = SOUNDFONTS[font]
    exe, env, _ = sectoid.debian_tool("fluidsynth", RENDERER, CACHE / "fluidsynth", data=(package,))
    soundfont = CACHE / "fluidsynth" / file
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "piece.wav"
        options = ["-ni", "-q", "-g", "0.6", "-r", "44100", "-F", str(wav)]
        subprocess.run(
            [exe, *options, str(soundfont), str(midi)],
            check=True,
            env=env,
            capture_output=True,
        )
        from pedalboard.io import AudioFile

        from mashup_site.engine.decode import SR, load

        audio = load(wav)
        with (
            sectoid.written_whole(path) as partial,
            AudioFile(str(partial), "w", SR, audio.shape[0]) as flac,
        ):
            flac.write(audio)
    return path


def notes(midi: Path) -> tuple[list[tuple[int, int, int]], int]:
    """([(start tick, end tick, MIDI note)] outside the drum channel, ticks a quarter)."""
    import mido

    out = []
    file = mido.MidiFile(str(midi))
    for track in file.tracks:
        now, sounding = 0, {}
        for message in track:
            now += message.time
            if message.type not in ("note_on", "note_off") or message.channel == 9:
                continue
            key = (message.channel, message.note)
            if message.type == "note_on" and message.velocity:
                sounding.setdefault(key, now)
            elif key in sounding:
                out.append((sounding.pop(key), now, message.note))
    return out, file.ticks_per_beat


def tonic_thirds(midi: Path, tonic: int) -> tuple[float, float]:
    """(major third, minor third) of the tonic chord in the MIDI file's own notes: the
    time (in quarters) each sounds while the lowest note is the tonic. A minor reference
    whose tonic chord is major (a blues: major chords, minor melody) is one the pitch
    classes and the chords disagree on."""
    played, ticks = notes(midi)
    if not played:
        return 0.0, 0.0
    step = max(1, ticks // 8)  # a 32nd note
    roll = np.zeros((max(end for _, end, _ in played) // step + 1, 128), dtype=bool)
    for start, end, note in played:
        roll[start // step : max(start // step + 1, end // step), note] = True
    sounding = roll.any(axis=1)
    on_tonic = sounding & (roll.argmax(axis=1) % 12 == tonic)
    chord = roll[on_tonic]

    def held(pc: int) -> float:
        return float(chord[:, pc % 12 :: 12].any(axis=1).sum() * step / ticks)

    return held(tonic + 4), held(tonic + 3)


def midi_key(midi: Path) -> tuple[tuple[int, str], float]:
    """The key the MIDI file's own pitch classes fit best (duration-weighted, drums left
    out), and its margin over the second best (correlations with the KK profiles)."""
    weights = np.zeros(12)
    for start, end, note in notes(midi)[0]:
        weights[note % 12] += end - start
    scores = sorted(
        (
            (float(np.corrcoef(weights, np.roll(profile, tonic))[0, 1]), tonic, mode)
            for mode, profile in (("major", MAJOR), ("minor", MINOR))
            for tonic in range(12)
        ),
        reverse=True,
    )
    return (scores[0][1], scores[0][2]), scores[0][0] - scores[1][0]
