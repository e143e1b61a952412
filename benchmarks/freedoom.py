"""Freedoom's music (Debian's ``freedoom``, BSD-3-Clause): the MIDI files of a first-person
shooter's levels, rock and metal, ambient pieces and marches, by a dozen composers,
rendered to audio like benchmarks/sequenced.py renders openttd-openmsx.

Why: a third set of music nothing in the engine had been chosen on, and the nearest to what
the team's held-out set is (game music, much of it fast rock, whose notes are known).
openttd-openmsx and MMA's grooves (benchmarks/accompanied.py) have been read piece by
piece since they were made, and their misreadings shaped later changes: they are no
longer untouched. This set was added in December 2026 as a measurement; the key's
overdriven hearing (engine/key.py) was then chosen on its TimGM6mb renders, so for the
key only its FluidR3 renders (``pieces("FluidR3")``) are untouched. Its tempo figures
are.

The MIDI files are the game's music lumps (``D_*``), taken out of the two WAD files
(a WAD is a 12-byte header and a directory of 16-byte entries: offset, size, name). A
lump whose file another lump already gave is kept once (67 lumps, 66 files). The truth
is each file's, never the audio's: tempo from its tempo map, key from its own pitch
classes (benchmarks/sequenced.py).

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
    """(name, MIDI file) of each music lump of a WAD held whole in memory, in the order of
    its directory."""
    magic, count, directory = struct.unpack_from("<4sii", wad, 0)
    if magic not in (b"IWAD", b"PWAD"):
        raise ValueError(f"not a WAD file (it starts {magic!r})")
    for index in range(count):
        offset, size, raw = struct.unpack_from("<ii8s", wad, directory + 16 * index)
        name = raw.split(b"\0", 1)[0]
        if offset < 0 or size < 0 or offset + size > len(wad):
            raise ValueError(f"lump {name!r} lies outside the file")
        lump = wad[offset : offset + size]
        if name.startswith(MUSIC) and lump.startswith(b"MThd"):
            yield name[len(MUSIC) :].decode("ascii", "replace").lower(), lump


def midi_files() -> list[Path]:
    """Every distinct music lump of both games, as a MIDI file in the cache, in the WADs'
    order (a lump whose MIDI file another has already given is left out: D_E2M6 plays
    D_E1M5's)."""
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


def pieces(font: str = sequenced.DEFAULT_FONT) -> list[sequenced.Piece]:
    """Every piece with pitched notes, rendered (once) with the soundfont ``font``
    (sequenced.SOUNDFONTS) and with its reference key."""
    return sequenced.pieces_of(midi_files(), CACHE, font)


MUS_CONVERTER = "QMUS2MID"  # the copyright notice the MUS-to-MIDI converter writes


def timed(midi: Path) -> bool:
    """Whether a file's quarter note is the music's. Ten of Freedoom's files were converted
    from Doom's MUS format, which has no tempo, only a clock of 140 ticks a second: the
    converter (its notice "QMUS2MID (C) S.Bacquet" in each) wrote 89 ticks a quarter at
    95 BPM, a "quarter" of 89 clock ticks that is nothing of the music's (about a tenth of
    their notes start on its sixteenths). Their tempo is unknown, so they are left out of
    the tempo figures; their notes still carry their key."""
    import mido

    notices = (
        m.text for track in mido.MidiFile(str(midi)).tracks for m in track if m.type == "copyright"
    )
    return not any(text.startswith(MUS_CONVERTER) for text in notices)


def timed_pieces() -> list[sequenced.Piece]:
    """The pieces whose tempo is known (``timed``)."""
    return [piece for piece in pieces() if timed(piece.midi)]


if __name__ == "__main__":
    for piece in pieces():
        print(
            f"{piece.name}: {sequenced.NOTES[piece.key[0]]} {piece.key[1]} "
            f"(margin {piece.key_margin:.2f})" + ("" if timed(piece.midi) else "; MUS clock")
        )
