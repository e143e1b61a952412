"""Every row of the contract's submit table, both sides of each limit (docs/api-contract.md)."""

from __future__ import annotations

import pytest

from mashup_site.providers import contract
from mashup_site.providers.contract import validate

URLS = ["https://example.com/a.mp3", "https://example.com/b.mp3"]


def simple(**overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "uploadUrlList": URLS,
        "customMode": False,
        "model": "V5",
        "instrumental": False,
        "prompt": "Two songs, one party",
    }
    payload.update(overrides)
    return payload


def custom(**overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "uploadUrlList": URLS,
        "customMode": True,
        "model": "V5",
        "instrumental": False,
        "prompt": "La la la",
        "style": "lofi, jazz",
        "title": "Night drive",
    }
    payload.update(overrides)
    return payload


def without(payload: dict[str, object], *fields: str) -> dict[str, object]:
    return {k: v for k, v in payload.items() if k not in fields}


def test_it_accepts_a_minimal_simple_request() -> None:
    assert validate(simple()) == {}


def test_it_accepts_a_full_custom_request() -> None:
    payload = custom(vocalGender="f", styleWeight=0.65, weirdnessConstraint=0, audioWeight=1)
    assert validate(payload) == {}


# --- uploadUrlList: exactly two URLs ------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "valid"),
    [
        (URLS, True),
        (URLS[:1], False),
        ([*URLS, "https://example.com/c.mp3"], False),
        ([], False),
        ("https://example.com/a.mp3", False),
        (["ftp://example.com/a.mp3", URLS[1]], False),
        ([URLS[0], 42], False),
    ],
)
def test_it_requires_exactly_two_http_sources(sources: object, valid: bool) -> None:
    assert ("uploadUrlList" not in validate(simple(uploadUrlList=sources))) is valid


def test_it_requires_sources_unless_told_they_come_later() -> None:
    payload = without(simple(), "uploadUrlList")
    assert "uploadUrlList" in validate(payload)
    assert validate(payload, require_sources=False) == {}


# --- customMode and model ------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "true", 1, "yes"])
def test_it_requires_custom_mode_as_a_boolean(value: object) -> None:
    payload = simple(customMode=value) if value is not None else without(simple(), "customMode")
    assert "customMode" in validate(payload)


@pytest.mark.parametrize("model", list(contract.MODELS))
def test_it_accepts_every_listed_model(model: str) -> None:
    assert validate(simple(model=model)) == {}
    assert validate(custom(model=model)) == {}


@pytest.mark.parametrize("model", ["", None, "V3_5", "V6", "v5", "V4.5"])
def test_it_rejects_a_missing_or_unknown_model(model: object) -> None:
    assert "model" in validate(simple(model=model))


def test_the_model_list_is_the_contracts() -> None:
    assert list(contract.MODELS) == ["V4", "V4_5", "V4_5PLUS", "V4_5ALL", "V5", "V5_5"]


# --- prompt ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "valid"), [(1, True), (500, True), (501, False)])
@pytest.mark.parametrize("model", list(contract.MODELS))
def test_it_limits_the_simple_prompt_to_500_for_every_model(
    model: str, length: int, valid: bool
) -> None:
    assert ("prompt" not in validate(simple(model=model, prompt="x" * length))) is valid


@pytest.mark.parametrize(
    ("model", "length", "valid"),
    [
        ("V4", 3000, True),
        ("V4", 3001, False),
        *[(m, 5000, True) for m in contract.MODELS if m != "V4"],
        *[(m, 5001, False) for m in contract.MODELS if m != "V4"],
    ],
)
def test_it_limits_custom_lyrics_per_model(model: str, length: int, valid: bool) -> None:
    assert ("prompt" not in validate(custom(model=model, prompt="x" * length))) is valid


@pytest.mark.parametrize("instrumental", [False, True])
@pytest.mark.parametrize("blank", [None, "", "   "])
def test_it_always_requires_the_simple_prompt(instrumental: bool, blank: object) -> None:
    payload = simple(instrumental=instrumental, prompt=blank)
    assert validate(payload)["prompt"] == [contract.REQUIRED]


def test_it_requires_lyrics_in_custom_mode_with_vocals() -> None:
    assert validate(without(custom(), "prompt"))["prompt"] == [contract.REQUIRED]


def test_it_does_not_require_lyrics_for_a_custom_instrumental() -> None:
    assert validate(without(custom(instrumental=True), "prompt")) == {}


def test_it_still_limits_lyrics_sent_with_a_custom_instrumental() -> None:
    payload = custom(instrumental=True, model="V4", prompt="x" * 3001)
    assert "prompt" in validate(payload)


# --- style and title ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "length", "valid"),
    [
        ("V4", 200, True),
        ("V4", 201, False),
        *[(m, 1000, True) for m in contract.MODELS if m != "V4"],
        *[(m, 1001, False) for m in contract.MODELS if m != "V4"],
    ],
)
def test_it_limits_style_per_model(model: str, length: int, valid: bool) -> None:
    assert ("style" not in validate(custom(model=model, style="s" * length))) is valid


@pytest.mark.parametrize("model", list(contract.MODELS))
@pytest.mark.parametrize(("length", "valid"), [(80, True), (81, False)])
def test_it_limits_title_to_80_for_every_model(model: str, length: int, valid: bool) -> None:
    assert ("title" not in validate(custom(model=model, title="t" * length))) is valid


@pytest.mark.parametrize("instrumental", [False, True])
@pytest.mark.parametrize("field", ["style", "title"])
def test_it_requires_style_and_title_in_custom_mode(instrumental: bool, field: str) -> None:
    assert validate(without(custom(instrumental=instrumental), field))[field] == [contract.REQUIRED]


def test_the_error_says_the_limit_and_the_model() -> None:
    message = validate(custom(model="V4", style="s" * 201))["style"][0]
    assert "200" in message
    assert "V4" in message
    assert "201" in message


@pytest.mark.parametrize(
    ("custom_mode", "instrumental", "required"),
    [
        (False, False, ("prompt",)),
        (False, True, ("prompt",)),
        (True, True, ("style", "title")),
        (True, False, ("style", "title", "prompt")),
    ],
)
def test_it_requires_the_fields_of_each_mode_combination(
    custom_mode: bool, instrumental: bool, required: tuple[str, ...]
) -> None:
    payload = {
        "uploadUrlList": URLS,
        "customMode": custom_mode,
        "model": "V5",
        "instrumental": instrumental,
    }
    assert set(validate(payload)) == set(required)
    assert contract.required_fields(custom_mode, instrumental) == required


# --- instrumental, vocalGender, weights ----------------------------------------------------


@pytest.mark.parametrize("value", ["true", 1, "no"])
def test_it_requires_instrumental_as_a_boolean(value: object) -> None:
    assert "instrumental" in validate(simple(instrumental=value))


@pytest.mark.parametrize(
    ("gender", "valid"), [("m", True), ("f", True), ("x", False), ("M", False), ("", False)]
)
def test_it_accepts_only_m_or_f_as_vocal_gender(gender: str, valid: bool) -> None:
    assert ("vocalGender" not in validate(custom(vocalGender=gender))) is valid


@pytest.mark.parametrize("field", contract.WEIGHT_FIELDS)
@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (0, True),
        (1, True),
        (0.0, True),
        (1.0, True),
        (0.01, True),
        (0.99, True),
        (0.5, True),
        ("0.25", True),
        (-0.01, False),
        (1.01, False),
        (0.005, False),
        (0.123, False),
        (float("nan"), False),
        (float("inf"), False),
        (True, False),
        ("abc", False),
        ([0.5], False),
    ],
)
def test_it_keeps_each_weight_in_0_to_1_in_steps_of_001(
    field: str, value: object, valid: bool
) -> None:
    assert (field not in validate(custom(**{field: value}))) is valid


@pytest.mark.parametrize("field", contract.CUSTOM_ONLY_FIELDS)
def test_it_rejects_custom_only_fields_in_simple_mode(field: str) -> None:
    value: object = {"vocalGender": "m", "style": "rock", "title": "T"}.get(field, 0.5)
    assert validate(simple(**{field: value}))[field] == ["Only allowed in custom mode."]


# --- the helpers the form and counters read -----------------------------------------------


def test_text_limits_follow_mode_and_model() -> None:
    assert contract.text_limits(False, "V4") == {"prompt": 500}
    assert contract.text_limits(True, "V4") == {"prompt": 3000, "style": 200, "title": 80}
    assert contract.text_limits(True, "V5") == {"prompt": 5000, "style": 1000, "title": 80}


def test_visible_fields_hide_lyrics_for_custom_instrumentals() -> None:
    assert "prompt" not in contract.visible_fields(True, True)
    assert set(contract.visible_fields(False, True)) == set(contract.SIMPLE_FIELDS)


def test_model_lengths_are_4_minutes_for_v4_and_8_for_others() -> None:
    assert {m.name: m.max_seconds for m in contract.MODELS.values()} == {
        "V4": 240,
        "V4_5": 480,
        "V4_5PLUS": 480,
        "V4_5ALL": 480,
        "V5": 480,
        "V5_5": 480,
    }


def test_build_payload_leaves_out_what_the_mode_does_not_use() -> None:
    payload = contract.build_payload(
        custom_mode=False, model="V5", instrumental=True, prompt="idea", style="ignored"
    )
    assert payload == {"customMode": False, "model": "V5", "instrumental": True, "prompt": "idea"}
    assert validate({**payload, "uploadUrlList": URLS}) == {}


def test_build_payload_leaves_out_lyrics_and_unset_options_for_instrumentals() -> None:
    payload = contract.build_payload(
        custom_mode=True,
        model="V4",
        instrumental=True,
        prompt="not sung",
        style="ambient",
        title="Drift",
        weights={"styleWeight": None, "audioWeight": 0.3},
    )
    assert payload == {
        "customMode": True,
        "model": "V4",
        "instrumental": True,
        "style": "ambient",
        "title": "Drift",
        "audioWeight": 0.3,
    }


@pytest.mark.parametrize("field", contract.CUSTOM_ONLY_FIELDS)
def test_it_takes_a_blank_custom_only_field_in_simple_mode_as_absent(field: str) -> None:
    assert validate(simple(**{field: ""})) == {}
    assert validate(simple(**{field: None})) == {}
