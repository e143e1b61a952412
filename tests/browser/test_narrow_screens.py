"""Every page fits a phone's width: nothing scrolls sideways, whatever people typed."""

from __future__ import annotations

import itertools

import pytest

from tests.audiofiles import write_tone
from tests.factories import finished_mashup

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 360, "height": 780}
# A word with no break opportunity, as a file name or a link often is.
LONG_WORD = "Unbreakable_" + "x" * 90 + ".mp3"


@pytest.mark.parametrize("provider", ["local", "remote"])
@pytest.mark.parametrize("path", ["/", "/mashups/new/", "{detail}", "{detail}delete/"])
def test_it_fits_a_phone_screen_without_sideways_scrolling(
    signed_in_page, owner, path, provider
) -> None:
    # A local mashup's page holds the remake forms (a tempo and a key per song) too.
    page = signed_in_page
    mashup = finished_mashup(
        owner=owner, title=f"A title with {LONG_WORD}", custom_mode=True, provider=provider
    )
    mashup.analysis_text = f"{LONG_WORD}: 120.0 BPM, C major (8B)"
    mashup.save()
    page.set_viewport_size(PHONE)
    page.goto(path.format(detail=mashup.get_absolute_url()))
    overflow, wide = overflow_of(page)
    assert overflow <= 0, f"{wide}: {path} is {overflow}px wider than a {PHONE['width']}px screen"
    assert page.console_errors == []


def overflow_of(page) -> tuple[int, list[str]]:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth + 1).map(e => e.tagName + '.' + e.className).slice(0, 5)"
    )
    return overflow, wide


def test_a_kept_upload_with_a_long_name_fits_a_phone_screen(signed_in_page, tmp_path) -> None:
    # After a refused post the form keeps the files that passed: "Keeping <name>".
    page = signed_in_page
    song = tmp_path / LONG_WORD.replace(".mp3", ".wav")
    write_tone(song, "wav")
    page.set_viewport_size(PHONE)
    page.goto("/mashups/new/")
    page.set_input_files("#id_audio1", str(song))
    page.click("text=Make the mashup")  # no idea, no second song: refused, the file kept
    page.wait_for_selector(".kept")
    overflow, wide = overflow_of(page)
    assert overflow <= 0, f"{wide}: {overflow}px wider than a {PHONE['width']}px screen"


def test_a_phone_shows_the_apps_name_beside_new_and_the_account(signed_in_page) -> None:
    page = signed_in_page
    page.set_viewport_size(PHONE)
    page.goto("/")
    boxes = [
        page.locator(selector).bounding_box()
        for selector in (".brand-name", ".topbar .button-primary", ".menu summary")
    ]
    assert all(box and box["width"] > 10 for box in boxes), boxes  # shown, not clipped away
    assert page.locator(".brand-name").inner_text() == "Mashup Studio"
    for left, right in itertools.pairwise(boxes):  # side by side, none over another
        assert left["x"] + left["width"] <= right["x"]
    assert boxes[-1]["x"] + boxes[-1]["width"] <= PHONE["width"]
    assert boxes[0]["y"] == pytest.approx(boxes[1]["y"], abs=12)  # one row


def test_a_phone_draws_both_switches_boxes_alike(signed_in_page) -> None:
    # "Custom mode" has two lines of help beside its box: squeezed by them, the box shrank
    # to less than "Instrumental"'s and its label moved, one form drawn two ways.
    page = signed_in_page
    page.set_viewport_size(PHONE)
    page.goto("/mashups/new/")
    boxes = [page.locator(f"#id_{name}").bounding_box() for name in ("customMode", "instrumental")]
    labels = [page.locator(".toggle strong").nth(k).bounding_box() for k in (0, 1)]
    assert all(boxes) and all(labels)
    assert boxes[0]["width"] == pytest.approx(boxes[1]["width"], abs=0.5), boxes
    assert boxes[0]["height"] == pytest.approx(boxes[1]["height"], abs=0.5), boxes
    assert labels[0]["x"] == pytest.approx(labels[1]["x"], abs=0.5), labels
