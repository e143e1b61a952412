"""Figures of follow-ups (issue 10, part 2): what each costs at the provider, and what the
local engine spends making them with the render.

1. Provider requests per follow-up (runner.start_follow_up and its loop), against the fake
   remote API (tests/fakes/fake_api.py) over loopback HTTP, on a fresh SQLite database in a
   temporary VAR_DIR, polls run exactly when due on a fake clock: vocals and instrumental,
   WAV (and WAV when one exists: 409), lyrics in time; a provider that is ready at once or
   after 3 reads, with its callback or without.
2. The local engine's extra work per mashup (``make_mashup(keep_extras=True)``, as the
   worker runs it: no quality figures) on the two real songs of benchmarks/engine.py:
   CPU seconds of the extra steps (stems, WAV, waveform) against the whole job's, the
   job's wall time with and without, and the disk the extras take against the two MP3s.
   Also what encoding the two stems as MP3 would have cost instead of 16-bit WAV.

    .venv/bin/python benchmarks/follow_ups.py [--no-engine] [--no-requests]

A benchmark, not a test: it asserts nothing, and the engine's figures depend on what else
runs on the machine (compare CPU seconds, not wall time, on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


# --- 1. provider requests ---------------------------------------------------------------------


def requests_figures() -> None:
    from tests.fakes.fake_api import FakeApi, make_files

    var_dir = Path(tempfile.mkdtemp(prefix="mashup-bench-"))
    (var_dir / "staticfiles").mkdir()
    fake = FakeApi(*make_files(var_dir)).start()
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(
        {
            "VAR_DIR": str(var_dir),
            "SECRET_KEY": secrets.token_urlsafe(40),
            "MASHUP_API_KEY": fake.key,
            "MASHUP_API_BASE_URL": fake.url,
            "PUBLIC_BASE_URL": "http://127.0.0.1:9",  # callbacks are delivered by hand below
            "MASHUP_RESULTS_ALLOW_PRIVATE": "1",
            "LOG_LEVEL": "ERROR",
            "DJANGO_SETTINGS_MODULE": "mashup_site.settings",
        }
    )
    import django

    django.setup()
    import time_machine
    from django.core.management import call_command
    from django.utils import timezone
    from django_q.conf import Conf

    from tests.conftest import Clock

    call_command("migrate", verbosity=0)
    Conf.SYNC = True  # django-q2's tasks run in this process
    from django.contrib.auth import get_user_model

    from mashup_site.providers import remote

    remote.default_sleep = lambda seconds: None  # type: ignore[assignment]
    owner = get_user_model().objects.create_user("bench", password="bench-password-1")
    travel = time_machine.travel(timezone.now(), tick=False)
    clock = Clock(travel.start())
    print("1. provider requests per follow-up (fake API; polls exactly when due)")
    print("   follow-up                      ready after   callback   requests  (credit reads)")
    for kind, label in (
        ("stems", "vocals + instrumental"),
        ("wav", "WAV"),
        ("lyrics", "lyrics in time"),
    ):
        for reads in (0, 3):
            for callback in (False, True):
                if kind == "lyrics" and (reads or callback):
                    continue  # answered at once: no record, no callback
                total, credit = one_follow_up(fake, owner, clock, kind, reads, callback)
                when = "at once" if not reads else f"{reads} reads"
                answer = "yes" if callback else "no"
                print(f"   {label:30} {when:13} {answer:10} {total:8d}  ({credit})")
    fake.wav_exists = True
    total, credit = one_follow_up(fake, owner, clock, "wav", 0, False)
    print(f"   {'WAV that exists (409)':30} {'at once':13} {'no':10} {total:8d}  ({credit})")
    travel.stop()
    fake.stop()
    shutil.rmtree(var_dir, ignore_errors=True)


def one_follow_up(fake, owner, clock, kind: str, reads: int, callback: bool) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    from django.core.files.base import ContentFile

    from mashup_site.mashups import tasks
    from mashup_site.mashups.models import FollowUp, Mashup, Status, Track

    mashup = Mashup.objects.create(
        owner=owner,
        provider="remote",
        model="V5",
        prompt="benchmark",
        payload={"customMode": False, "model": "V5", "instrumental": False, "prompt": "b"},
        status=Status.COMPLETE,
        provider_task_id="bench-task",
    )
    track = Track.objects.create(mashup=mashup, position=1, provider_track_id="bench-track")
    track.audio.save("track.mp3", ContentFile(b"ID3 bench"), save=True)
    fake.follow_up_slow_polls = reads
    before = len(fake.requests)
    credit_before = fake.count("credit")
    follow_up = tasks.ask_follow_up(track, kind, user_id=owner.pk)
    if callback:  # the provider calls back once it is ready (after ``reads`` reads' time)
        clock.advance(reads * 8)
        fake.follow_up_slow_polls = 0
        tasks.enqueue_follow_up_poll_now(follow_up.pk)
    for _ in range(100):
        row = FollowUp.objects.get(pk=follow_up.pk)
        if row.is_final or row.next_poll_at is None:
            break
        clock.now = max(clock.now, row.next_poll_at)
        tasks.poll_follow_up(follow_up.pk)
    return len(fake.requests) - before, fake.count("credit") - credit_before


# --- 2. the local engine's extras ---------------------------------------------------------------


def engine_child(keep: bool) -> None:
    """One worker-like job in this process; a JSON line on stdout."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mashup_site.settings")
    import sectoid

    from mashup_site.engine import MashupParams, make_mashup

    songs = [sectoid.mixed(title) for title in ("Escape from chaosland", "War of freedom")]
    with tempfile.TemporaryDirectory() as folder:
        cpu0, t0 = _cpu(), time.perf_counter()
        result = make_mashup(
            songs[0], songs[1], Path(folder), MashupParams(), measure_quality=False,
            keep_extras=keep,
        )  # fmt: skip
        wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
        sizes = {"mp3": sum(v.audio_path.stat().st_size for v in result.variants)}
        for v in result.variants:
            for name, path in v.extras.items():
                sizes[name] = sizes.get(name, 0) + path.stat().st_size
        mp3_cpu = 0.0
        if keep:  # what the stems as MP3 would have cost instead
            from mashup_site.engine.decode import SR, load
            from mashup_site.engine.output import write_mp3

            for v in result.variants:
                for name in ("vocals", "instrumental"):
                    audio = load(v.extras[name], SR)
                    c = _cpu()
                    write_mp3(
                        Path(folder) / f"{name}.mp3", audio, SR, title="", genre="", comment=""
                    )
                    mp3_cpu += _cpu() - c
        print(
            json.dumps(
                {
                    "wall": wall,
                    "cpu": cpu,
                    "steps_cpu": result.report["steps_cpu"],
                    "sizes": sizes,
                    "mp3_cpu": mp3_cpu,
                    "duration": [v.duration for v in result.variants],
                    "waveform": [len(v.waveform) for v in result.variants],
                }
            )
        )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def engine_figures() -> None:
    import sectoid

    for title in ("Escape from chaosland", "War of freedom"):
        sectoid.mixed(title)  # fetched once, outside the timing
    print(
        f"\n2. the local engine's extras (load average {os.getloadavg()[0]:.2f}, "
        f"{os.cpu_count()} cores)"
    )
    runs = {}
    for keep in (False, True):
        command = [sys.executable, __file__, "--engine-child"] + ["--keep"] * keep
        proc = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
        if proc.returncode:
            sys.exit(proc.stderr[-3000:])
        runs[keep] = json.loads(proc.stdout.strip().splitlines()[-1])
    plain, kept = runs[False], runs[True]
    extra = {k: v for k, v in kept["steps_cpu"].items() if k.startswith("extras")}
    print(
        f"   tracks: {', '.join(f'{d:.0f} s' for d in kept['duration'])}; "
        f"waveform points: {kept['waveform']}"
    )
    print(f"   without extras: {plain['wall']:.1f} s wall, {plain['cpu']:.1f} s CPU")
    print(f"   with extras:    {kept['wall']:.1f} s wall, {kept['cpu']:.1f} s CPU")
    share = sum(extra.values()) / kept["cpu"] * 100
    steps = ", ".join(f"{k} {v:.2f}" for k, v in extra.items())
    print(
        f"   the extra steps' own CPU s (both variants): {steps} = "
        f"{sum(extra.values()):.2f} s ({share:.1f}% of the job's CPU)"
    )
    mb = {k: v / 1e6 for k, v in kept["sizes"].items()}
    extras_mb = sum(v for k, v in mb.items() if k != "mp3")
    print(
        f"   disk per mashup: the two MP3s {mb['mp3']:.1f} MB; extras {extras_mb:.1f} MB "
        f"(vocals {mb.get('vocals', 0):.1f}, instrumental {mb.get('instrumental', 0):.1f}, "
        f"WAV {mb.get('wav', 0):.1f})"
    )
    print(f"   the four stems as MP3 instead: {kept['mp3_cpu']:.1f} s CPU (not chosen)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-engine", action="store_true")
    parser.add_argument("--no-requests", action="store_true")
    parser.add_argument("--engine-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_child:
        engine_child(args.keep)
        return
    if not args.no_requests:
        requests_figures()
    if not args.no_engine:
        engine_figures()


if __name__ == "__main__":
    main()
