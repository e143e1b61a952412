"""The local provider: our offline engine, run in the worker, reporting the API's stages.

It speaks the same snapshots as the remote provider (analysed → first → complete), so the
runner treats both alike; its tracks are files on this machine instead of URLs. The engine's
own progress words ("text", "first", "complete") become statuses here, at the boundary.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mashup_site.engine import EngineError, MashupParams, Variant, make_mashup
from mashup_site.engine.analysis import MIN_SECONDS

from . import download
from .base import (
    FOLLOW_UP_FILES,
    FollowUpKind,
    FollowUpRequest,
    FollowUpSnapshot,
    Job,
    ProviderError,
    Reporter,
    Song,
    Status,
    TaskSnapshot,
    TrackResult,
)
from .contract import model_rules


def params_from_payload(payload: Mapping[str, object]) -> MashupParams:
    """The API request, as the engine's parameters (the mapping is documented there)."""

    def weight(name: str, default: float) -> float:
        value = payload.get(name)
        return float(value) if isinstance(value, int | float) else default  # type: ignore[arg-type]

    gender = payload.get("vocalGender")
    return MashupParams(
        instrumental=bool(payload.get("instrumental")),
        audio_weight=weight("audioWeight", 0.5),
        style=str(payload.get("style") or ""),
        style_weight=weight("styleWeight", 0.5),
        weirdness=weight("weirdnessConstraint", 0.2),
        vocal_gender=str(gender) if gender in ("m", "f") else None,
        max_seconds=model_rules(payload.get("model")).max_seconds,
        title=str(payload.get("title") or ""),
        prompt=str(payload.get("prompt") or ""),
    )


def track_of(
    variant: Variant, index: int, payload: Mapping[str, object], model: str
) -> TrackResult:
    """Variant ``index`` becomes track ``index``, as the analysis text numbers it, whichever
    of the two was written first."""
    return TrackResult(
        position=index,
        id=variant.audio_path.stem,
        title=variant.title,
        tags=", ".join(str(s) for s in variant.summary.get("styles_applied") or [])  # type: ignore[attr-defined]
        or str(payload.get("style") or ""),
        prompt=str(payload.get("prompt") or ""),
        model_name=f"local engine ({model})",
        duration=variant.duration,
        local_audio_path=str(variant.audio_path),
        local_image_path=str(variant.cover_path),
        local_extras={name: str(path) for name, path in variant.extras.items()},
        waveform=variant.waveform,
    )


NO_LYRICS = "The local engine does not sing, so its tracks have no lyrics to follow."
NO_VOCALS = "An instrumental mashup has no vocal layer, so there is nothing to separate."
NOT_KEPT = (
    "This track was made before the engine kept its layers and WAV; make the mashup again "
    "to get them."
)


class LocalProvider:
    """The engine in this worker: ``start`` makes both tracks before it returns."""

    runs_inline = True
    min_seconds = MIN_SECONDS  # the engine needs some bars of each song to line them up

    def start(self, job: Job, report: Reporter) -> str:
        task_id = f"local-{job.pk}"
        with tempfile.TemporaryDirectory(prefix=f"mashup-{job.pk}-") as tmp:
            work = Path(tmp)
            try:
                paths = [local_copy(song, work) for song in job.songs]
            except download.DownloadError as error:
                raise ProviderError(str(error), permanent=True) from error
            try:
                self.run(
                    task_id=task_id,
                    sources=paths,
                    payload=job.payload,
                    out_dir=work / "out",
                    on_snapshot=report,
                    backing_offbeat=job.backing_offbeat,
                    tempi=tuple(song.tempo for song in job.songs),
                    keys=tuple(song.key or None for song in job.songs),
                )
            except ProviderError as error:
                if error.final and any(song.link for song in job.songs):
                    error.final = False  # a link is fetched again each run: it may change
                raise
        return task_id

    def poll(self, task_id: str) -> TaskSnapshot:
        raise ProviderError(
            "The local engine reports as it runs; it has nothing to poll.", permanent=True
        )

    def credits(self) -> int:
        raise ProviderError("the local engine is in use", permanent=True)

    def follow_up_refusal(self, kind: str, *, instrumental: bool) -> str:
        if kind == FollowUpKind.LYRICS:
            return NO_LYRICS
        if kind == FollowUpKind.STEMS and instrumental:
            return NO_VOCALS
        return ""

    def follow_up(self, request: FollowUpRequest) -> FollowUpSnapshot:
        """Made with the render (``make_mashup(keep_extras=True)``): asking costs nothing,
        the answer is what the track already holds."""
        task_id = f"local-{request.kind}"
        refusal = self.follow_up_refusal(request.kind, instrumental=request.instrumental)
        if refusal:
            return FollowUpSnapshot(task_id, Status.FAILED, error_message=refusal)
        if not set(FOLLOW_UP_FILES[request.kind]) <= request.kept:
            return FollowUpSnapshot(task_id, Status.FAILED, error_message=NOT_KEPT)
        return FollowUpSnapshot(task_id, Status.COMPLETE, word="kept")

    def poll_follow_up(self, kind: str, task_id: str) -> FollowUpSnapshot:
        raise ProviderError("The local engine answers follow-ups at once.", permanent=True)

    def run(
        self,
        *,
        task_id: str,
        sources: Sequence[Path],
        payload: Mapping[str, object],
        out_dir: Path,
        on_snapshot: Reporter,
        backing_offbeat: bool = False,
        tempi: tuple[float | None, ...] = (),
        keys: tuple[str | None, ...] = (),
    ) -> None:
        """Make both tracks now, telling ``on_snapshot`` at each stage (``backing_offbeat``:
        see ``Job``; ``tempi`` and ``keys``: each song's ``Song.tempo`` and ``Song.key``, in
        order)."""
        model = str(payload.get("model") or "")
        tracks: list[TrackResult] = []
        analysis = ""

        def on_stage(stage: str, info: dict) -> None:
            nonlocal analysis
            if stage == "text":
                analysis = info["summary"]
                # A song without a steady beat, heard or given, has no tempo to show; a tempo
                # given is not heard (the form's "heard" must name the engine's reading).
                beats = tuple(bool(song.get("has_beat", True)) for song in info.get("songs", ()))
                heard = tuple(
                    (song.get("tempo") or None) if beat and not song.get("tempo_given") else None
                    for song, beat in zip(info.get("songs", ()), beats, strict=True)
                )
                on_snapshot(
                    TaskSnapshot(
                        task_id,
                        Status.ANALYSED,
                        analysis_text=analysis,
                        word="text",
                        tempi_heard=heard,
                        beats_heard=beats,
                        # a key given is not heard: "As heard" must name the engine's
                        keys_heard=tuple(
                            "" if song.get("key_given") else str(song.get("key") or "")
                            for song in info["songs"]
                        ),
                    )
                )
                return
            analysis = info.get("summary", analysis)  # now with each track's measured alignment
            tracks.append(track_of(info["variant"], info["index"], payload, model))
            status = Status.FIRST if stage == "first" else Status.COMPLETE
            on_snapshot(
                TaskSnapshot(task_id, status, tuple(tracks), word=stage, analysis_text=analysis)
            )

        try:
            make_mashup(
                sources[0],
                sources[1],
                out_dir,
                replace(
                    params_from_payload(payload),
                    backing_offbeat=backing_offbeat,
                    tempi=tempi,
                    keys=keys,
                ),
                on_stage=on_stage,
                measure_quality=False,  # the figures are for the command line; nobody waits
                keep_extras=True,  # so that a follow-up costs nothing (benchmarks/follow_ups.py)
            )
        except EngineError as error:
            raise ProviderError(str(error), permanent=True, final=error.final) from error


def provider(**options: Any) -> LocalProvider:
    return LocalProvider()


def local_copy(song: Song, work: Path) -> Path:
    """A path on this machine for the song, under the name its owner knows it by (the
    engine's analysis names the songs by their file names)."""
    target = work / str(song.position) / song.name
    target.parent.mkdir()
    if song.link:
        try:
            return download.fetch(song.link, target, guard=True)
        except download.DownloadError as error:
            raise download.DownloadError(
                f"Song {song.position}'s link could not be used: {error}."
            ) from error
    if song.path:
        target.symlink_to(song.path)
    elif song.open:  # remote storage (S3): copy it down
        with song.open() as handle, target.open("wb") as out:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                out.write(chunk)
    return target
