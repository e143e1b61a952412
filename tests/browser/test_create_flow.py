"""The create page in real Chromium: fields switch by htmx, counters follow the model."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from mashup_site.mashups.models import Mashup
from mashup_site.providers import contract
from tests.audiofiles import write_tone

pytestmark = pytest.mark.django_db(transaction=True)

API_FIELDS = ("prompt", "style", "title", "vocalGender", *contract.WEIGHT_FIELDS)


def present_fields(page) -> set[str]:
    """API fields that exist in the DOM (hidden-by-CSS would still count: they must not)."""
    return {name for name in API_FIELDS if page.locator(f"[name='{name}']").count() > 0}


@contextmanager
def fields_swapped(page) -> Iterator[None]:
    """Waits, after the block, until htmx has swapped in and settled the re-rendered fields.

    (Waiting for "networkidle" instead returns at once: the page was already idle before.)
    """
    page.evaluate(
        """() => {
          window.fieldsSettled = false;
          if (window.watchingFields) return;
          window.watchingFields = true;
          document.addEventListener("htmx:afterSettle", (event) => {
            if (event.detail.elt.id === "mashup-fields") window.fieldsSettled = true;
          });
        }"""
    )
    yield
    page.wait_for_function("() => window.fieldsSettled")


def switch(page, selector: str) -> None:
    with fields_swapped(page):
        page.click(selector)


def choose_model(page, model: str) -> None:
    with fields_swapped(page):
        page.select_option("#id_model", model)


def test_toggling_mode_and_instrumental_shows_exactly_the_required_fields(signed_in_page) -> None:
    page = signed_in_page
    page.goto("/mashups/new/")
    assert present_fields(page) == {"prompt"}  # simple mode by default

    switch(page, "#id_customMode")
    assert present_fields(page) == set(API_FIELDS)
    for name in contract.required_fields(True, False):
        expect(page.locator(f"[name='{name}']")).to_have_attribute("required", "")

    switch(page, "#id_instrumental")
    assert present_fields(page) == set(API_FIELDS) - {"prompt"}

    switch(page, "#id_customMode")
    assert present_fields(page) == {"prompt"}
    assert page.console_errors == []


def test_switching_model_from_v5_to_v4_changes_the_style_limit(signed_in_page) -> None:
    page = signed_in_page
    page.goto("/mashups/new/")
    switch(page, "#id_customMode")
    counter = page.locator("#count-style")
    expect(counter).to_have_text(re.compile(r"0\s*/\s*1000"))
    page.fill("#id_style", "lofi jazz")
    expect(counter).to_have_text(re.compile(r"9\s*/\s*1000"))

    choose_model(page, "V4")
    expect(page.locator("#count-style")).to_have_text(re.compile(r"9\s*/\s*200"))
    expect(page.locator("#id_style")).to_have_value("lofi jazz")  # what was typed stays


def test_the_last_of_two_quick_switches_wins(signed_in_page) -> None:
    """A second toggle before the first one's answer: htmx would queue it on the fields it
    is about to replace, then drop it; the fields replace the request in flight instead."""
    page = signed_in_page
    page.goto("/mashups/new/")
    held: list = []

    def slow_first_answer(route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # answered below, after the second click

    page.route("**/mashups/new/", slow_first_answer)
    page.click("#id_customMode")  # on…
    page.wait_for_function("() => document.querySelector('#mashup-fields.htmx-request')")
    with fields_swapped(page):
        page.click("#id_customMode")  # …and off again before the answer
        with suppress(PlaywrightError):  # the replaced request was aborted: nothing to answer
            held[0].continue_()
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    expect(page.locator("#id_customMode")).not_to_be_checked()
    assert present_fields(page) == {"prompt"}
    aborted = ("htmx:sendAbort", "htmx:afterRequest")  # htmx logs the request it replaced
    assert [e for e in page.console_errors if not e.startswith(aborted)] == []


def test_what_is_typed_while_the_fields_switch_survives_the_swap(signed_in_page) -> None:
    page = signed_in_page
    page.goto("/mashups/new/")
    switch(page, "#id_customMode")
    page.fill("#id_style", "lofi")
    # The person goes on typing after the switch's values were sent, before its answer.
    page.evaluate(
        """() => document.addEventListener("htmx:beforeRequest", () => {
          document.querySelector("#id_style").value += " jazz";
        }, {once: true})"""
    )
    choose_model(page, "V4")
    expect(page.locator("#id_style")).to_have_value("lofi jazz")
    expect(page.locator("#count-style")).to_have_text(re.compile(r"9\s*/\s*200"))


def test_a_too_long_style_shows_its_error_after_submit(signed_in_page) -> None:
    page = signed_in_page
    page.goto("/mashups/new/")
    switch(page, "#id_customMode")
    choose_model(page, "V4")
    page.fill("#id_url1", "https://example.com/a.mp3")
    page.fill("#id_url2", "https://example.com/b.mp3")
    page.fill("#id_style", "s" * 201)
    expect(page.locator("#count-style")).to_have_class(re.compile("over"))
    page.fill("#id_title", "Too much style")
    page.fill("#id_prompt", "la la la")
    page.click("text=Make the mashup")
    expect(page.locator("#field-style .errors")).to_contain_text("At most 200 characters for V4")
    assert not Mashup.objects.exists()


def test_a_valid_submit_lands_on_the_mashups_page(signed_in_page, tmp_path) -> None:
    page = signed_in_page
    song1, song2 = tmp_path / "one.mp3", tmp_path / "two.ogg"
    write_tone(song1, "mp3")
    write_tone(song2, "ogg")
    page.goto("/mashups/new/")
    page.set_input_files("#id_audio1", str(song1))
    page.set_input_files("#id_audio2", str(song2))
    page.fill("#id_prompt", "A rainy afternoon in two keys")
    page.click("text=Make the mashup")
    page.wait_for_url(re.compile(r"/mashups/\d+/$"))  # the click may return before the save
    mashup = Mashup.objects.get()
    assert page.url.endswith(f"/mashups/{mashup.pk}/")
    expect(page.locator("h1")).to_have_text("A rainy afternoon in two keys")
    expect(page.locator(".sources-list")).to_contain_text("one.mp3")
    assert page.console_errors == []


def test_the_counter_counts_like_the_server_and_lyrics_at_the_limit_are_accepted(
    signed_in_page,
) -> None:
    page = signed_in_page
    page.goto("/mashups/new/")
    switch(page, "#id_customMode")
    choose_model(page, "V4")
    page.fill("#id_style", "dub 😀")  # an emoji is one character, as Python counts
    expect(page.locator("#count-style")).to_have_text(re.compile(r"5\s*/\s*200"))
    lyrics = "\n".join(["la " * 33] * 30) + "!"  # 2970 + 29 line breaks + 1: the limit
    page.fill("#id_prompt", lyrics)
    expect(page.locator("#count-prompt")).to_have_text(re.compile(r"3000\s*/\s*3000"))
    expect(page.locator("#count-prompt")).not_to_have_class(re.compile("over"))
    page.fill("#id_title", "At the limit")
    page.fill("#id_url1", "https://example.com/a.mp3")
    page.fill("#id_url2", "https://example.com/b.mp3")
    page.click("text=Make the mashup")
    page.wait_for_url(re.compile(r"/mashups/\d+/$"))
    assert Mashup.objects.get().prompt == lyrics  # posted as CRLF, kept as the person saw it


def test_a_fields_error_goes_once_the_person_changes_it(signed_in_page, tmp_path) -> None:
    page = signed_in_page
    song = write_tone(tmp_path / "one.mp3", "mp3")
    page.goto("/mashups/new/")
    page.click("text=Make the mashup")  # nothing given: every required field is marked
    source_1 = page.locator("#source-1 .errors")
    expect(source_1).to_contain_text("Choose an audio file or give a URL for song 1")
    expect(page.locator("#field-prompt .errors")).to_be_visible()

    page.set_input_files("#id_audio1", str(song))
    expect(source_1).to_have_count(0)
    expect(page.locator("#source-2 .errors")).to_be_visible()  # song 2 is still missing
    page.fill("#id_prompt", "an idea")
    expect(page.locator("#field-prompt .errors")).to_have_count(0)
    expect(page.locator("#field-prompt")).not_to_have_class(re.compile("field-invalid"))


def test_a_file_over_the_limit_is_refused_as_soon_as_it_is_chosen(
    signed_in_page, settings, tmp_path
) -> None:
    settings.UPLOAD_MAX_MB = 1
    big = tmp_path / "big.wav"
    big.write_bytes(b"RIFF" + b"\0" * (3 * 1024 * 1024))
    page = signed_in_page
    page.goto("/mashups/new/")
    page.set_input_files("#id_audio1", str(big))
    expect(page.locator("#source-1 .errors")).to_have_text("This file is 3 MB; the limit is 1 MB.")
    assert page.eval_on_selector("#id_audio1", "input => input.files.length") == 0  # not sent
    assert page.console_errors == []
