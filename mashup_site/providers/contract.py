"""The remote API's submit rules, as data, and one ``validate`` that applies them.

This module is the single source of truth for what a mashup request may contain
(docs/api-contract.md, "Submit"). The create form, the HTMX counters, the payload builder,
the engine's length cap and the tests all read it, so adding a model is one line in
``MODELS``.

Field names are the API's own camelCase names. ``validate`` takes a mapping as the API would
receive it and returns ``{field: [messages]}``; an empty dict means the request is valid.

Custom-only fields in simple mode are *rejected*, not dropped: the contract says they
"should be left out", and dropping them silently would hide a client bug (a form that sent
a style it should not have). The form never sends them, because it only builds the fields
of the selected mode; ``build_payload`` is the one place that shapes a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final


@dataclass(frozen=True)
class ModelRules:
    """Limits of one model, in characters and minutes."""

    name: str
    description: str
    prompt_max: int  # custom mode (lyrics); simple mode is SIMPLE_PROMPT_MAX for all models
    style_max: int
    title_max: int
    max_minutes: int

    @property
    def max_seconds(self) -> int:
        return self.max_minutes * 60

    @property
    def label(self) -> str:
        return f"{self.name} · {self.description}"


def _model(name: str, description: str, *, v4: bool = False) -> ModelRules:
    return ModelRules(
        name=name,
        description=description,
        prompt_max=3000 if v4 else 5000,
        style_max=200 if v4 else 1000,
        title_max=80,
        max_minutes=4 if v4 else 8,
    )


# Order is the order shown to people; the contract's stricter limits (title 80 everywhere).
MODELS: Final[dict[str, ModelRules]] = {
    m.name: m
    for m in (
        _model("V4", "max 4 min", v4=True),
        _model("V4_5", "max 8 min, smarter prompts"),
        _model("V4_5PLUS", "max 8 min, richer sound"),
        _model("V4_5ALL", "max 8 min, better song structure"),
        _model("V5", "max 8 min, newest, best quality"),
        _model("V5_5", "max 8 min, custom voices"),
    )
}
DEFAULT_MODEL: Final = "V5"
SIMPLE_PROMPT_MAX: Final = 500
VOCAL_GENDERS: Final = ("m", "f")
WEIGHT_FIELDS: Final = ("styleWeight", "weirdnessConstraint", "audioWeight")
SOURCE_COUNT: Final = 2

# Which fields each mode may carry (besides uploadUrlList and callBackUrl, added at submit).
SIMPLE_FIELDS: Final = ("customMode", "model", "prompt", "instrumental")
CUSTOM_ONLY_FIELDS: Final = ("style", "title", "vocalGender", *WEIGHT_FIELDS)
CUSTOM_FIELDS: Final = (*SIMPLE_FIELDS, *CUSTOM_ONLY_FIELDS)

REQUIRED: Final = "This field is required."


def model_rules(name: object) -> ModelRules:
    """Rules of the named model, or of the default one for an unknown name."""
    return MODELS.get(str(name), MODELS[DEFAULT_MODEL])


def text_limits(custom_mode: bool, model: object) -> dict[str, int]:
    """Character limit of each text field that the given mode shows, for counters."""
    rules = model_rules(model)
    if not custom_mode:
        return {"prompt": SIMPLE_PROMPT_MAX}
    return {"prompt": rules.prompt_max, "style": rules.style_max, "title": rules.title_max}


def required_fields(custom_mode: bool, instrumental: bool) -> tuple[str, ...]:
    """Text fields the API requires for this combination (contract, submit table)."""
    if not custom_mode:
        return ("prompt",)
    if instrumental:
        return ("style", "title")
    return ("style", "title", "prompt")


def visible_fields(custom_mode: bool, instrumental: bool) -> tuple[str, ...]:
    """Fields a person fills in for this combination (the form shows exactly these).

    In custom instrumental mode there are no lyrics to sing, so ``prompt`` is not shown:
    the API would ignore it, and asking for it would mislead.
    """
    if not custom_mode:
        return SIMPLE_FIELDS
    if instrumental:
        return tuple(f for f in CUSTOM_FIELDS if f != "prompt")
    return CUSTOM_FIELDS


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_weight(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return "Must be a number between 0 and 1."
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return "Must be a number between 0 and 1."
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(1):
        return "Must be between 0 and 1."
    if number % Decimal("0.01") != 0:
        return "Must be a multiple of 0.01 (two decimals at most)."
    return None


def _check_sources(value: object) -> list[str]:
    if not isinstance(value, list | tuple):
        return ["Give exactly two audio sources."]
    if len(value) != SOURCE_COUNT:
        return [f"Give exactly two audio sources (got {len(value)})."]
    bad = [
        str(v) for v in value if not isinstance(v, str) or not v.startswith(("http://", "https://"))
    ]
    if bad:
        return ["Each source must be an http(s) URL."]
    return []


def _check_length(field: str, value: object, limit: int, model: str | None) -> str | None:
    if not isinstance(value, str):
        return "Must be text."
    if len(value) > limit:
        where = f" for {model}" if model else ""
        return f"At most {limit} characters{where} (this has {len(value)})."
    return None


def validate(
    payload: Mapping[str, object], *, require_sources: bool = True
) -> dict[str, list[str]]:
    """Every rule of the contract's submit table. Empty result = a valid request.

    ``require_sources=False`` checks everything but ``uploadUrlList``, for the form, whose
    sources become URLs only when the job is submitted.
    """
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str | None) -> None:
        if message:
            errors.setdefault(field, []).append(message)

    if require_sources or "uploadUrlList" in payload:
        for message in _check_sources(payload.get("uploadUrlList")):
            add("uploadUrlList", message)

    custom = payload.get("customMode")
    if not isinstance(custom, bool):
        add("customMode", REQUIRED if custom is None else "Must be true or false.")
        custom = False
    instrumental = payload.get("instrumental", False)
    if not isinstance(instrumental, bool):
        add("instrumental", "Must be true or false.")
        instrumental = False

    model = payload.get("model")
    if _is_blank(model):
        add("model", REQUIRED)
    elif model not in MODELS:
        add("model", f"Unknown model {model!r}; choose one of {', '.join(MODELS)}.")
    rules = model_rules(model)
    model_name = rules.name if model in MODELS else None

    for field in required_fields(custom, instrumental):
        if _is_blank(payload.get(field)):
            add(field, REQUIRED)

    if not custom:
        for field in CUSTOM_ONLY_FIELDS:
            # An empty value is no value (a blank form field); anything else is refused.
            if payload.get(field) not in (None, ""):
                add(field, "Only allowed in custom mode.")
        if not _is_blank(payload.get("prompt")):
            add("prompt", _check_length("prompt", payload["prompt"], SIMPLE_PROMPT_MAX, None))
        return errors

    limits = text_limits(True, model)
    for field, limit in limits.items():
        value = payload.get(field)
        if not _is_blank(value):
            add(field, _check_length(field, value, limit, model_name))

    gender = payload.get("vocalGender")
    if gender is not None and gender not in VOCAL_GENDERS:
        add("vocalGender", "Must be m or f (or left out).")

    for field in WEIGHT_FIELDS:
        if payload.get(field) is not None:
            add(field, _check_weight(payload[field]))
    return errors


def build_payload(
    *,
    custom_mode: bool,
    model: str,
    instrumental: bool,
    prompt: str = "",
    style: str = "",
    title: str = "",
    vocal_gender: str = "",
    weights: Mapping[str, float | Decimal | None] | None = None,
) -> dict[str, object]:
    """The API request body (minus uploadUrlList/callBackUrl), with only this mode's fields.

    Optional fields that are empty are left out, as the contract asks.
    """
    payload: dict[str, object] = {
        "customMode": custom_mode,
        "model": model,
        "instrumental": instrumental,
    }
    if not custom_mode:
        payload["prompt"] = prompt
        return payload
    payload["style"] = style
    payload["title"] = title
    if not instrumental:
        payload["prompt"] = prompt
    if vocal_gender:
        payload["vocalGender"] = vocal_gender
    for field, value in (weights or {}).items():
        if value is not None:
            payload[field] = float(value)
    return payload
