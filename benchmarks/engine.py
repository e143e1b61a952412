"""How long the local engine takes, and how much memory, on two real songs.

    .venv/bin/python benchmarks/engine.py [--runs 2] [--instrumental] [--stems] [--as-worker]

Songs: two complete recordings from Debian's ``fretsonfire-songs-sectoid`` (CC BY-SA):
"Escape from chaosland" (3:26) and "War of freedom" (2:55), each the band track
(song.ogg) mixed with its lead guitar (guitar.ogg), fetched and mixed on first use by
benchmarks/sectoid.py into benchmarks/.cache/engine/ (git-ignored).

Each run is a fresh process, as a worker's first job would be: it imports Django and the
engine, then runs ``manage.py mashup`` (through call_command) ``--runs`` times on the same
pair, as a worker's first and following jobs would. Printed per job: wall time, when each
stage (text, first, complete) was reported, seconds per engine step (summed over the two
threads; the stretch's CPU seconds include those of the threads it stretches segments
on), and the process's peak resident memory (ru_maxrss: numpy's buffers are outside
tracemalloc's view). ``--as-worker`` skips the quality figures, as the web worker does
(``--no-quality``): that is the time a person waits. Targets on a 2-core machine: both
variants in <= 20 s wall per job, <= 1.5 GB peak. A benchmark, not a test: it asserts
nothing, and figures depend on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sectoid

ROOT = Path(__file__).resolve().parent.parent
SONGS = ("Escape from chaosland", "War of freedom")


SHOWN = ("lead", "tempo", "backing_tempo", "stretch", "shift", "keys", "duration", "quality_text")


def fetch() -> list[Path]:
    """The two songs, mixed, in the cache (benchmarks/sectoid.py fetches them once)."""
    sys.path.insert(0, str(ROOT))
    return [sectoid.mixed(title) for title in SONGS]


def child(args: argparse.Namespace) -> None:
    """One worker-like process: imports, then ``--runs`` jobs; JSON lines on stdout."""
    started = time.perf_counter()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mashup_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    imported = time.perf_counter() - started
    songs = fetch()
    for run in range(1, args.runs + 1):
        out, err = io.StringIO(), io.StringIO()
        options = ["--json"] + ["--instrumental"] * args.instrumental + ["--stems"] * args.stems
        options += ["--no-quality"] * args.as_worker
        with tempfile.TemporaryDirectory() as folder:
            cpu0 = _cpu_seconds()
            t0 = time.perf_counter()
            call_command(
                "mashup", *map(str, songs), "--out", folder, *options, stdout=out, stderr=err
            )
            wall = time.perf_counter() - t0
            cpu = _cpu_seconds() - cpu0
        stages = {
            m[2]: float(m[1]) for m in re.finditer(r"\[\s*([\d.]+) s\] (\w+)", err.getvalue())
        }
        report = json.loads(out.getvalue())
        print(
            json.dumps(
                {
                    "run": run,
                    "import_s": imported,
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "stages": stages,
                    "steps": report["steps"],
                    "steps_cpu": report["steps_cpu"],
                    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    "variants": [{k: v[k] for k in SHOWN} for v in report["variants"]],
                }
            ),
            flush=True,
        )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="jobs per process (first, second...)")
    parser.add_argument("--instrumental", action="store_true")
    parser.add_argument("--stems", action="store_true")
    parser.add_argument("--as-worker", action="store_true", help="no quality figures, as the web")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    songs = fetch()
    print("songs:", ", ".join(f"{p.name}" for p in songs))
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    command = [sys.executable, __file__, "--child", "--runs", str(args.runs)]
    command += ["--instrumental"] * args.instrumental + ["--stems"] * args.stems
    command += ["--as-worker"] * args.as_worker
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    process_wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(proc.stderr)
    for line in proc.stdout.splitlines():
        job = json.loads(line)
        label = "first job" if job["run"] == 1 else f"job {job['run']}"
        stages = ", ".join(f"{k} at {v:.1f} s" for k, v in job["stages"].items())
        steps = ", ".join(f"{k} {v:.1f}" for k, v in job["steps"].items())
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in job["steps_cpu"].items())
        print(f"\n{label}: {job['wall_s']:.1f} s wall, {job['cpu_s']:.1f} s CPU ({stages})")
        print(f"  steps, wall s summed over both threads: {steps}")
        print(f"  steps, CPU s of their own threads (the stretch's, and its helpers'): {cpu}")
        print(f"  peak memory of the process so far: {job['maxrss_mb']:.0f} MB")
        for v in job["variants"]:
            print(
                f"  {v['lead']}: {v['tempo']} over {v['backing_tempo']} BPM, "
                f"stretch ×{v['stretch']}, shift {v['shift']:+d}, {v['keys']}, "
                f"{v['duration']} s; {v['quality_text']}"
            )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\nprocess: {process_wall:.1f} s including imports ({job['import_s']:.1f} s)")
    print(f"peak memory (ru_maxrss of the job process): {peak:.0f} MB")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
