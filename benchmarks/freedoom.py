"""Freedoom's music (Debian's ``freedoom``, BSD-3-Clause): the MIDI files of a first-person
shooter's levels, rock and metal, ambient pieces and marches, by a dozen composers,
rendered to audio like benchmarks/sequenced.py renders openttd-openmsx.

Why: a third set of music nothing in the engine was chosen on, and the nearest to what
the team's held-out set is (game music, much of it fast rock, whose notes are known).
openttd-openmsx and MMA's grooves (benchmarks/accompanied.py) have been read piece by
piece since they were made, and their misreadings shaped later changes: they are no
longer untouched. This set was added in December 2026 and is a measurement, not a
tuning set; a change chosen on its misreadings has to say so.

The MIDI files are the game's music lumps (``D_*``), taken out of the two WAD files
(a WAD is a 12-byte header and a directory of 16-byte entries: offset, size, name). A
lump that both games share is kept once. The truth is each file's, never the audio's:
tempo from its tempo map, key from its own pitch classes (benchmarks/sequenced.py).

On first use the package is fetched with ``apt-get download`` and unpacked with ``dpkg
-x`` into benchmarks/.cache/freedoom/ (git-ignored); the MIDI files and their renders are
written there once. Nothing here is committed or used by the tests.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from pathlib import Path

import sectoid
import sequenced

CACHE = sectoid.ROOT / "benchmarks" / ".cache" / "freedoom"
PACKAGE = "freedoom"
WADS = ("usr/share/games/doom/freedoom1.wad", "usr/share/games/doom/freedoom2.wad")
MUSIC = b"D_"  # the lump names of a level's music


def music_lumps(wad: bytes) -> Iterator[tuple[str, bytes]]:
    """(name, MIDI file) of each music lump of a WAD held whole in memory."""
    _, count, directory = struct.unpack_from("<4sii", wad, 0)
    for index in range(count):
        offset, size, raw = struct.unpack_from("<ii8s", wad, directory + 16 * index)
        name = raw.rstrip(b"\0")
        lump = wad[offset : offset + size]
        if name.startswith(MUSIC) and lump.startswith(b"MThd"):
            yield name[len(MUSIC) :].decode("ascii").lower(), lump


def midi_files() -> list[Path]:
    """Every distinct music lump of both games, as a MIDI file in the cache."""
    package = sectoid.debian_package(PACKAGE, CACHE / "package")
    folder = CACHE / "midi"
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    out = []
    for wad in WADS:
        game = Path(wad).stem
        for name, lump in music_lumps((package / wad).read_bytes()):
            digest = hashlib.sha256(lump).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            path = folder / f"{game}-{name}.mid"
            if not path.is_file():
                with sectoid.written_whole(path) as partial:
                    partial.write_bytes(lump)
            out.append(path)
    return out


def pieces(font: str = "TimGM6mb") -> list[sequenced.Piece]:
    """Every piece with pitched notes, rendered (once) with the soundfont ``font``
    (sequenced.SOUNDFONTS) and with its reference key."""
    into = CACHE if font == "TimGM6mb" else CACHE / font
    into.mkdir(parents=True, exist_ok=True)
    out = []
    for midi in midi_files():
        if not sequenced.notes(midi)[0]:
            continue  # drums alone: no key to refer to
        key, margin = sequenced.midi_key(midi)
        audio = sequenced.render(midi, into, font)
        out.append(sequenced.Piece(midi.stem, midi, audio, key, margin))
    return out


def pieces_fluidr3() -> list[sequenced.Piece]:
    """``pieces`` played with the FluidR3 soundfont: the same notes, other instruments."""
    return pieces("FluidR3")


MUS_CLOCK = 140.0  # ticks a second of Doom's own music format


def timed(midi: Path) -> bool:
    """Whether a file's quarter note is the music's. Ten of Freedoom's files were converted
    from Doom's MUS format, which has no tempo, only a clock of 140 ticks a second: the
    converter wrote 89 ticks a quarter at 95 BPM, a "quarter" that is 89 clock ticks and
    nothing of the music's (their notes' pulse is not in it). Their tempo is unknown, so
    they are left out of the tempo figures; their notes still carry their key."""
    import mido

    file = mido.MidiFile(str(midi))
    tempo = next((m.tempo for track in file.tracks for m in track if m.type == "set_tempo"), 500000)
    return abs(file.ticks_per_beat / (tempo / 1e6) - MUS_CLOCK) > 0.02 * MUS_CLOCK


def timed_pieces() -> list[sequenced.Piece]:
    """The pieces whose tempo is known (``timed``)."""
    return [piece for piece in pieces() if timed(piece.midi)]


if __name__ == "__main__":
    for piece in pieces():
        print(
            f"{piece.name}: {sequenced.NOTES[piece.key[0]]} {piece.key[1]} "
            f"(margin {piece.key_margin:.2f})" + ("" if timed(piece.midi) else "; MUS clock")
        )
