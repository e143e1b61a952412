"""The local provider: our offline engine, run in the worker, reporting the API's stages.

It speaks the same snapshots as the remote provider (text → first → complete), so the job
pipeline treats both alike; its tracks are files on this machine instead of URLs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from mashup_site.engine import EngineError, MashupParams, Variant, make_mashup

from .base import ProviderError, Stage, TaskSnapshot, Track
from .contract import model_rules

SnapshotListener = Callable[[TaskSnapshot], None]


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


def track_of(variant: Variant, index: int, payload: Mapping[str, object], model: str) -> Track:
    """Variant ``index`` becomes track ``index``, as the analysis text numbers it, whichever
    of the two was written first."""
    return Track(
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
    )


class LocalProvider:
    name = "local"

    def run(
        self,
        *,
        task_id: str,
        sources: Sequence[Path],
        payload: Mapping[str, object],
        out_dir: Path,
        on_snapshot: SnapshotListener,
    ) -> None:
        """Make both tracks now, telling ``on_snapshot`` at each stage."""
        model = str(payload.get("model") or "")
        tracks: list[Track] = []
        analysis = ""

        def on_stage(stage: str, info: dict) -> None:
            nonlocal analysis
            if stage == "text":
                analysis = info["summary"]
                on_snapshot(
                    TaskSnapshot(task_id, Stage.TEXT, analysis_text=analysis, status="text")
                )
                return
            tracks.append(track_of(info["variant"], info["index"], payload, model))
            snapshot_stage = Stage.FIRST if stage == "first" else Stage.COMPLETE
            on_snapshot(
                TaskSnapshot(
                    task_id, snapshot_stage, tuple(tracks), status=stage, analysis_text=analysis
                )
            )

        try:
            make_mashup(
                sources[0],
                sources[1],
                out_dir,
                params_from_payload(payload),
                on_stage=on_stage,
                measure_quality=False,  # the figures are for the command line; nobody waits
            )
        except EngineError as error:
            raise ProviderError(str(error), permanent=True) from error
