"""``manage.py mashup SONG1 SONG2 --out DIR``: the local engine from the command line.

It lives in the app only because manage.py commands must; all it does is read arguments,
check them against the API's rules, and call the engine.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mashup_site.engine import GIVEN_BPM, KEY_NAMES, EngineError, MashupParams, make_mashup
from mashup_site.engine.probe import NotAudioError, probe_audio
from mashup_site.providers import contract


def weight(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError
    return value


def tempo(text: str) -> float:
    value = float(text)
    if not GIVEN_BPM[0] <= value <= GIVEN_BPM[1]:
        raise ValueError
    return value


class Command(BaseCommand):
    help = "Make two mashups of SONG1 and SONG2 with the offline engine."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("song1", type=Path)
        parser.add_argument("song2", type=Path)
        parser.add_argument("--out", type=Path, required=True, help="folder for the results")
        parser.add_argument("--instrumental", action="store_true")
        parser.add_argument(
            "--model", default=contract.DEFAULT_MODEL, choices=list(contract.MODELS)
        )
        parser.add_argument("--style", default="")
        parser.add_argument("--title", default="")
        parser.add_argument("--prompt", default="", help="the idea or lyrics, kept as description")
        parser.add_argument("--audio-weight", type=weight, default=0.5, metavar="0..1")
        parser.add_argument("--style-weight", type=weight, default=0.5, metavar="0..1")
        parser.add_argument("--weirdness", type=weight, default=0.2, metavar="0..1")
        parser.add_argument("--vocal-gender", choices=["m", "f"], default=None)
        parser.add_argument("--stems", action="store_true", help="also write the aligned layers")
        parser.add_argument(
            "--no-quality",
            action="store_true",
            help="skip the quality figures, as the web worker does (about 1.5 s a variant)",
        )
        parser.add_argument(
            "--backing-offbeat",
            action="store_true",
            help="lay each backing half a beat over, on the offbeats of its beat grid",
        )
        for n in (1, 2):
            parser.add_argument(
                f"--tempo{n}",
                type=tempo,
                default=None,
                metavar="BPM",
                help=f"song {n}'s tempo, if you know it better than the engine hears it "
                f"({GIVEN_BPM[0]:g}-{GIVEN_BPM[1]:g}): its beat is read at it",
            )
            parser.add_argument(
                f"--key{n}",
                choices=KEY_NAMES,
                default=None,
                metavar="KEY",
                help=f"song {n}'s key, if you know it better than the engine hears it (\"C "
                'major", "F# minor"): the shifts are planned for it',
            )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        model = contract.MODELS[options["model"]]
        for song in (options["song1"], options["song2"]):
            self._check_song(song, model)
        params = MashupParams(
            instrumental=options["instrumental"],
            audio_weight=options["audio_weight"],
            style=options["style"],
            style_weight=options["style_weight"],
            weirdness=options["weirdness"],
            vocal_gender=options["vocal_gender"],
            max_seconds=model.max_seconds,
            title=options["title"],
            prompt=options["prompt"],
            seed=options["seed"],
            backing_offbeat=options["backing_offbeat"],
            tempi=(options["tempo1"], options["tempo2"]),
            keys=(options["key1"], options["key2"]),
        )
        started = time.perf_counter()

        # With --json, stdout carries the report alone; progress goes to stderr.
        progress = self.stderr if options["json"] else self.stdout

        def on_stage(stage: str, info: dict) -> None:
            elapsed = time.perf_counter() - started
            progress.write(f"[{elapsed:6.1f} s] {stage}", style_func=lambda text: text)
            if stage == "text":
                progress.write("  " + info["summary"].replace("\n", "\n  "))
            else:
                progress.write(f"  wrote {info['variant'].audio_path}")

        try:
            result = make_mashup(
                options["song1"],
                options["song2"],
                options["out"],
                params,
                on_stage=on_stage,
                write_stems=options["stems"],
                measure_quality=not options["no_quality"],
            )
        except EngineError as error:
            raise CommandError(str(error)) from error
        self._summary(result, options["json"])

    def _check_song(self, path: Path, model: contract.ModelRules) -> None:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            info = probe_audio(path)
        except NotAudioError as error:
            raise CommandError(f"{path}: {error}") from error
        if info.duration > model.max_seconds:
            self.stderr.write(
                f"{path} is longer than the {model.max_minutes} minutes {model.name} "
                "allows: the mashup will be cut to fit."
            )

    def _summary(self, result: Any, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(result.report, indent=2, default=str))
            return
        self.stdout.write("Summary")
        for variant in result.variants:
            s = variant.summary
            self.stdout.write(
                f"  {variant.title}: {s['duration']} s, {s['tempo']} BPM, keys {s['keys']}, "
                f"stretch ×{s['stretch']}, shift {s['shift']:+d} st "
                f"{s['tuning_cents']:+d} cents, "
                f"{s['lufs']} LUFS, peak {s['true_peak_db']} dBTP"
            )
            self.stdout.write(f"    alignment: {s['offset_text']}")
            if s["reread"]:
                self.stdout.write(f"    {s['reread']}")
            if s["quality"]:
                # its first figure is the offset the alignment line has just given
                figures = s["quality_text"].removeprefix(f"{s['offset_text']} · ")
                self.stdout.write(f"    quality: {figures}")
            for warning in s["warnings"]:
                self.stdout.write(f"    note: {warning}")
            self.stdout.write(f"    {variant.audio_path}  {variant.cover_path}")
            for name, path in variant.stems.items():
                self.stdout.write(f"    stem {name}: {path}")
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.report["timings"].items())
        self.stdout.write(f"Time: {timings}")
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in result.report["steps"].items())
        self.stdout.write(f"Steps (summed over both threads): {steps}")
