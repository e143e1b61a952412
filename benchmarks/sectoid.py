"""The benchmarks' real songs: Debian's ``fretsonfire-songs-sectoid`` (CC BY-SA), four
complete band recordings, each with its lead guitar on a track of its own and the game's
chart (``notes.mid``: its tempo map is the song's true tempo; its notes are the game's fret
lanes, not pitches).

On first use the package is fetched with ``apt-get download`` and unpacked with
``dpkg -x`` into benchmarks/.cache/engine/ (git-ignored); later runs reuse it. Nothing
here is committed or used by the tests. The team's held-out songs (drascula-music,
fretsonfire-songs-muldjord, planetblupi-music-*) are never fetched by any benchmark.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache" / "engine"
PACKAGE = "fretsonfire-songs-sectoid"
SONG_DIR = "usr/share/games/fretsonfire/data/songs/sectoid"
TITLES = ("Escape from chaosland", "Feelings", "Metal madness", "War of freedom")


def debian_package(name: str, folder: Path) -> Path:
    """``folder``, with Debian's package ``name`` downloaded and unpacked into it."""
    folder.mkdir(parents=True, exist_ok=True)
    if not list(folder.glob(f"{name}_*.deb")):
        print(f"fetching {name} with apt-get download ...", flush=True)
        subprocess.run(["apt-get", "download", name], cwd=folder, check=True)
    deb = sorted(folder.glob(f"{name}_*.deb"))[-1]
    marker = folder / f".{deb.name}.unpacked"
    if not marker.exists():
        subprocess.run(["dpkg", "-x", str(deb), str(folder)], check=True)
        marker.touch()
    return folder


# A command-line tool unpacked from Debian's packages links the sound stack (PulseAudio
# and the codecs): a machine without one needs the whole chain next to it.
SOUND_STACK = (
    "libpulse0",
    "libsndfile1",
    "libasyncns0",
    "libflac12",
    "libvorbis0a",
    "libvorbisenc2",
    "libopus0",
    "libogg0",
    "libmpg123-0",
    "libmp3lame0",
)


def debian_tool(
    command: str, packages: tuple[str, ...], folder: Path, *, data: tuple[str, ...] = ()
) -> tuple[str, dict[str, str], bool]:
    """(the executable, the environment to run it in, whether it was unpacked here):
    ``command`` from this machine if it has it, else from ``packages`` unpacked into
    ``folder``, its libraries found through LD_LIBRARY_PATH. The ``data`` packages (a
    soundfont, say) are unpacked into ``folder`` either way."""
    for package in data:
        debian_package(package, folder)
    env = dict(os.environ)
    local = shutil.which(command)
    if local is not None:
        return local, env, False
    for package in packages:
        debian_package(package, folder)
    libs = sorted({str(p.parent) for p in folder.glob("usr/lib/**/*.so*")})
    env["LD_LIBRARY_PATH"] = ":".join([*libs, env.get("LD_LIBRARY_PATH", "")])
    return str(folder / "usr" / "bin" / command), env, True


def song_folder(title: str) -> Path:
    """The song's folder in the unpacked package: song.ogg (the band), guitar.ogg, notes.mid."""
    return debian_package(PACKAGE, CACHE / "package") / SONG_DIR / title


@contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """A file beside ``path`` to write, renamed to ``path`` only when the block ends
    without error: an interrupted run leaves no partial file a later run takes for whole."""
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def mixed(title: str) -> Path:
    """The whole song as a listener hears it (band + lead guitar, ×0.7), as a FLAC in the
    cache, mixed on first use."""
    path = CACHE / f"{title.lower().replace(' ', '-')}.flac"
    if path.is_file():
        return path
    from pedalboard.io import AudioFile

    from mashup_site.engine.decode import SR, load

    folder = song_folder(title)
    band, guitar = load(folder / "song.ogg"), load(folder / "guitar.ogg")
    n = min(band.shape[1], guitar.shape[1])
    with written_whole(path) as partial, AudioFile(str(partial), "w", SR, 2) as out:
        out.write((band[:, :n] + guitar[:, :n]) * 0.7)
    return path
