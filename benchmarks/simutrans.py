"""Simutrans's music (Debian's ``simutrans-data``, Artistic-1.0): 53 MIDI files of a
transport game's soundtrack by its community (swing, blues, marches, rock, techno,
ballads; 49–216 BPM), rendered to audio like benchmarks/sequenced.py renders
openttd-openmsx.

Why: a fourth set of game music whose notes are known, added in December 2026 (stop 43)
after openttd-openmsx, MMA's grooves and Freedoom had all been read piece by piece and
had shaped changes. Its figures were first taken on the engine as it stood (d1ec4b6),
before anything was changed while looking at them: that first run is the untouched
figure (the commit that adds this file records it). It is what the team's held-out
sequenced pieces are: game music played from MIDI files.

The truth is each file's, never the audio's: tempo from its tempo map, key from its own
pitch classes (benchmarks/sequenced.py). Two things differ from the other sets:

- Many of these files were played in by hand: their melodies sit off any grid (a median
  of a 40th of a quarter away) while their drums were quantised. A file's tempo map is
  the music's only where its notes keep to it, so only the pieces at least ON_GRID of
  whose drum onsets (or, with no drums, note onsets) lie within GRID_TOLERANCE (a 24th of
  a quarter) of the grid of sixteenths or triplet eighths are judged for tempo
  (``timed``: 51 of 53; 13-Stephenson-blues passes at 0.902, 30-On-the-waterfront misses
  at 0.895); every piece counts for key.
- Two files (05-Boring-afternoon, 30-On-the-waterfront) carry key-signature events with a
  mode byte other than major (0) or minor (1), nine each, which mido refuses to read. Such
  a mode is set to major in the copy kept in the cache (``repaired``); the notes, the
  tempo map and the music are untouched. The event plays no part in the reference key,
  which comes from the notes.

On first use the package is fetched with ``apt-get download`` and unpacked with ``dpkg
-x`` into benchmarks/.cache/simutrans/ (git-ignored); the repaired MIDI files and their
renders are written there once. Nothing here is committed or used by the tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sectoid
import sequenced

CACHE = sectoid.ROOT / "benchmarks" / ".cache" / "simutrans"
PACKAGE = "simutrans-data"
MIDI_DIR = "usr/share/games/simutrans/music"
ON_GRID = 0.9  # share of onsets on the grid for a file's tempo map to be the music's
GRID_TOLERANCE = 1 / 24  # of a quarter: ~21 ms at 120 BPM


def repaired(data: bytes) -> bytes:
    """``data`` (a MIDI file) with each key signature's mode byte that is neither major
    (0) nor minor (1) set to major. The events are walked (delta times, running status,
    meta and system-exclusive lengths), so that bytes which only look like a key
    signature (a delta time of FF 59 before a data byte 02, say) are left alone."""
    fixed = bytearray(data)
    at = 14  # past the header chunk
    while at + 8 <= len(fixed):
        kind, size = bytes(fixed[at : at + 4]), int.from_bytes(fixed[at + 4 : at + 8], "big")
        at, end = at + 8, min(at + 8 + size, len(fixed))
        running = 0  # the last channel status: meta and system events do not set it
        while kind == b"MTrk" and at < end:
            _, at = _quantity(fixed, at)  # delta time
            status = running
            if fixed[at] & 0x80:
                status, at = fixed[at], at + 1
                running = status if status < 0xF0 else running
            if status == 0xFF:  # meta: type, length, data
                meta = fixed[at]
                length, at = _quantity(fixed, at + 1)
                if meta == 0x59 and length == 2 and fixed[at + 1] not in (0, 1):
                    fixed[at + 1] = 0
                at += length
            elif status in (0xF0, 0xF7):  # system exclusive: length, data
                length, at = _quantity(fixed, at)
                at += length
            else:  # a channel message: one data byte for program and pressure, else two
                at += 1 if status & 0xF0 in (0xC0, 0xD0) else 2
        at = end
    return bytes(fixed)


def _quantity(data: bytearray, at: int) -> tuple[int, int]:
    """(value, the index after it) of the variable-length quantity at ``at``."""
    value = 0
    while True:
        byte = data[at]
        value, at = (value << 7) | (byte & 0x7F), at + 1
        if not byte & 0x80:
            return value, at


def midi_files() -> list[Path]:
    """Every MIDI file of the package, repaired, in the cache, in the soundtrack's order."""
    folder = sectoid.debian_package(PACKAGE, CACHE / "package") / MIDI_DIR
    into = CACHE / "midi"
    into.mkdir(parents=True, exist_ok=True)
    out = []
    for source in sorted(folder.glob("*.mid")):
        path = into / source.name
        if not path.is_file():
            with sectoid.written_whole(path) as partial:
                partial.write_bytes(repaired(source.read_bytes()))
        out.append(path)
    return out


def on_grid(midi: Path) -> float:
    """The share of the drums' onsets (of the notes', in a file without drums) that lie
    within GRID_TOLERANCE quarters of a sixteenth or a triplet eighth, counted from tick
    0."""
    import mido

    file = mido.MidiFile(str(midi))
    drums: list[int] = []
    pitched: list[int] = []
    for track in file.tracks:
        now = 0
        for message in track:
            now += message.time
            if message.type == "note_on" and message.velocity:
                (drums if message.channel == 9 else pitched).append(now)
    onsets = np.array(drums or pitched, dtype=float) / file.ticks_per_beat  # quarters
    if not len(onsets):
        return 0.0

    def near(step: float) -> np.ndarray:
        rest = onsets % step
        return np.minimum(rest, step - rest) <= GRID_TOLERANCE

    return float(np.mean(near(1 / 4) | near(1 / 3)))


def timed(midi: Path) -> bool:
    """Whether a file's tempo map is the music's: its onsets keep to its grid (ON_GRID)."""
    return on_grid(midi) >= ON_GRID


def pieces(font: str = sequenced.DEFAULT_FONT) -> list[sequenced.Piece]:
    """Every piece with pitched notes, rendered (once) with the soundfont ``font``
    (sequenced.SOUNDFONTS) and with its reference key."""
    return sequenced.pieces_of(midi_files(), CACHE, font)


def timed_pieces() -> list[sequenced.Piece]:
    """The pieces whose tempo is known (``timed``)."""
    return [piece for piece in pieces() if timed(piece.midi)]


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(sectoid.ROOT))  # the engine's decoder, for the renders
    for piece in pieces():
        print(
            f"{piece.name}: {sequenced.NOTES[piece.key[0]]} {piece.key[1]} "
            f"(margin {piece.key_margin:.2f}); on the grid {on_grid(piece.midi):.0%}"
            + ("" if timed(piece.midi) else ": tempo not judged")
        )
