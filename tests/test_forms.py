"""The create form agrees with ``contract.validate`` on every request (a property test)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mashup_site.mashups.forms import MashupForm, SuggestingNumberInput, tempo_suggestions
from mashup_site.providers import contract

URLS = ["https://example.com/a.mp3", "https://example.com/b.mp3"]


class UnlimitedForm(MashupForm):
    """The create form bound to nobody: the API's rules without the person's quotas
    (tests/test_quotas.py has those)."""

    def refusal(self) -> str:
        return ""


# Text around the limits that matter: empty, blank, short, and just under/over each limit,
# on one line or on many (a line break is one character, as the API receives it).
LENGTHS = sorted({0, 1, 80, 81, 200, 201, 500, 501, 1000, 1001, 3000, 3001, 5000, 5001})


def lines_of(length: int) -> str:
    return "".join("\n" if i % 40 == 39 else "x" for i in range(length))


texts = st.one_of(
    st.sampled_from(LENGTHS).map(lambda n: "x" * n),
    st.sampled_from(LENGTHS).map(lines_of),
    st.just("   "),
    # Django's CharField refuses NUL characters (a database concern, not an API rule).
    st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=40),
)
weights = st.one_of(
    st.decimals(min_value=Decimal("-0.5"), max_value=Decimal("1.5"), places=2),
    st.decimals(min_value=Decimal("-0.5"), max_value=Decimal("1.5"), places=3),
    st.floats(min_value=-0.5, max_value=1.5),
    st.sampled_from([0, 1, 0.01, 0.99, 1.01, -0.01]),
)


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, object]:
    payload: dict[str, object] = {
        "uploadUrlList": URLS,
        "customMode": draw(st.booleans()),
        "instrumental": draw(st.booleans()),
        "model": draw(st.sampled_from([*contract.MODELS, "V6", ""])),
    }
    for field in ("prompt", "style", "title"):
        if draw(st.booleans()):
            payload[field] = draw(texts)
    if draw(st.booleans()):
        payload["vocalGender"] = draw(st.sampled_from(["m", "f", "x"]))
    for field in contract.WEIGHT_FIELDS:
        if draw(st.integers(0, 3)) == 0:
            payload[field] = draw(weights)
    return payload


def as_form_data(payload: dict[str, object]) -> dict[str, str]:
    """What a browser would post for this request (sources as the two URLs; line breaks
    as CRLF, as browsers submit a textarea's)."""
    data = {"url1": URLS[0], "url2": URLS[1], "model": str(payload["model"])}
    for flag in ("customMode", "instrumental"):
        if payload[flag]:
            data[flag] = "on"
    for field in ("prompt", "style", "title", "vocalGender"):
        if field in payload:
            data[field] = str(payload[field]).replace("\n", "\r\n")
    for field in contract.WEIGHT_FIELDS:
        if field in payload:
            data[field] = str(payload[field])
            data[f"use_{field}"] = "on"
    return data


BASE = {"uploadUrlList": URLS, "instrumental": False}
# Multi-line texts exactly at each limit: rare draws for the strategy, so always tried.
AT_THE_LIMITS = [
    {**BASE, "customMode": False, "model": "V5", "prompt": lines_of(500)},
    {
        **BASE,
        "customMode": True,
        "model": "V4",
        "prompt": lines_of(3000),
        "style": lines_of(200),
        "title": lines_of(80),
    },
    {
        **BASE,
        "customMode": True,
        "model": "V5",
        "prompt": "la",
        "style": lines_of(1000),
        "title": "t",
    },
]


def at_the_limits(test):  # type: ignore[no-untyped-def]
    for payload in AT_THE_LIMITS:
        test = example(payload)(test)
    return test


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads())
@at_the_limits
def test_the_form_accepts_exactly_what_validate_accepts(payload: dict[str, object]) -> None:
    form = UnlimitedForm(as_form_data(payload))
    assert form.is_valid() == (contract.validate(payload) == {}), form.errors


@settings(max_examples=200, deadline=None)
@given(payloads())
@at_the_limits
def test_a_valid_form_builds_a_payload_that_validates(payload: dict[str, object]) -> None:
    form = UnlimitedForm(as_form_data(payload))
    if form.is_valid():
        assert contract.validate({**form.payload(), "uploadUrlList": URLS}) == {}


@pytest.mark.parametrize(
    ("custom", "instrumental", "fields"),
    [
        (False, False, {"prompt"}),
        (False, True, {"prompt"}),
        (True, False, {"prompt", "style", "title", "vocalGender", *contract.WEIGHT_FIELDS}),
        (True, True, {"style", "title", "vocalGender", *contract.WEIGHT_FIELDS}),
    ],
)
def test_it_has_exactly_the_fields_of_the_mode(
    custom: bool, instrumental: bool, fields: set[str]
) -> None:
    data = {"customMode": "on" if custom else "", "instrumental": "on" if instrumental else ""}
    form = UnlimitedForm(data)
    api_fields = set(form.fields) & set(contract.CUSTOM_FIELDS)
    assert api_fields == {"customMode", "model", "instrumental", *fields}


def test_it_rejects_custom_fields_posted_in_simple_mode() -> None:
    form = UnlimitedForm(
        {"model": "V5", "prompt": "idea", "style": "rock", "url1": URLS[0], "url2": URLS[1]}
    )
    assert not form.is_valid()
    assert "style: Only allowed in custom mode." in form.non_field_errors()


def test_an_unparseable_weight_has_its_own_message() -> None:
    data = {
        "customMode": "on",
        "model": "V5",
        "style": "s",
        "title": "t",
        "prompt": "p",
        "styleWeight": "lots",
        "use_styleWeight": "on",
        "url1": URLS[0],
        "url2": URLS[1],
    }
    form = UnlimitedForm(data)
    assert not form.is_valid()
    assert form.errors["styleWeight"] == ["Enter a number."]


def custom_data(**fields: str) -> dict[str, str]:
    return {"customMode": "on", "model": "V4", "url1": URLS[0], "url2": URLS[1], **fields}


def test_it_counts_a_browsers_crlf_line_break_as_one_character() -> None:
    # Browsers post textarea line breaks as CRLF; the counter (and the person) sees one.
    lyrics = "\r\n".join(["x" * 99] * 30)  # 30 lines: 2970 + 29 breaks = 2999 characters
    form = UnlimitedForm(custom_data(style="s", title="t", prompt=lyrics + "y"))
    assert form.is_valid(), form.errors
    assert form.payload()["prompt"] == lyrics.replace("\r\n", "\n") + "y"
    assert len(str(form.payload()["prompt"])) == contract.MODELS["V4"].prompt_max


def test_it_still_refuses_lyrics_one_character_over_the_limit_with_line_breaks() -> None:
    lyrics = "\r\n".join(["x" * 99] * 30) + "yz"  # 3001 characters
    form = UnlimitedForm(custom_data(style="s", title="t", prompt=lyrics))
    assert not form.is_valid()
    assert form.errors["prompt"] == ["At most 3000 characters for V4 (this has 3001)."]


def test_a_re_rendered_form_counts_what_was_posted_as_the_counter_does() -> None:
    form = UnlimitedForm(custom_data(style="a\r\nb 😀", title="", prompt=""))
    form.is_valid()
    used = {field.name: count for field, _, count in form.text_rows}
    assert used["style"] == 5  # a, LF, b, space, one emoji


@pytest.mark.parametrize(
    ("heard", "offered"),
    [
        (92.3, ["46.1", "61.5", "138.4", "184.6"]),  # ½, ⅔, 1½, 2 (⅓ and 3× are out of range)
        (190.2, ["63.4", "95.1", "126.8"]),  # ⅓, ½, ⅔: 1½ and double are past 250 BPM
        (56.7, ["85.1", "113.4", "170.1"]),  # a waltz heard one to the bar: 1½, 2 and 3×
        (125.0, ["41.7", "62.5", "83.3", "187.5", "250"]),  # the range's ends are in it
        (None, []),  # no beat heard: no tempo to relate
    ],
)
def test_the_tempi_offered_are_the_heard_tempos_relatives_a_person_may_give(
    heard: float | None, offered: list[str]
) -> None:
    assert [value for value, _ in tempo_suggestions(heard)] == offered


def test_the_tempi_offered_say_whether_the_tempo_was_heard_or_given() -> None:
    assert dict(tempo_suggestions(92.3))["46.1"] == "half the tempo heard"
    assert dict(tempo_suggestions(92.3, "given"))["46.1"] == "half the tempo given"


def test_a_suggesting_input_lists_its_values_and_still_takes_any() -> None:
    widget = SuggestingNumberInput(suggestions=(("95.1", "half the tempo heard"),))
    html = widget.render("tempo_1", None, {"id": "id_tempo_1"})
    assert 'list="id_tempo_1_suggestions"' in html and 'type="number"' in html
    assert '<datalist id="id_tempo_1_suggestions">' in html
    assert '<option value="95.1" label="half the tempo heard"></option>' in html
    assert "datalist" not in SuggestingNumberInput().render("tempo_1", None, {"id": "id_t"})
