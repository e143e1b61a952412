"""Every page fits a phone's width: nothing scrolls sideways, whatever people typed."""

from __future__ import annotations

import pytest

from tests.factories import finished_mashup

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 360, "height": 780}
# A word with no break opportunity, as a file name or a link often is.
LONG_WORD = "Unbreakable_" + "x" * 90 + ".mp3"


@pytest.mark.parametrize("path", ["/", "/mashups/new/", "{detail}", "{detail}delete/"])
def test_it_fits_a_phone_screen_without_sideways_scrolling(signed_in_page, owner, path) -> None:
    page = signed_in_page
    mashup = finished_mashup(owner=owner, title=f"A title with {LONG_WORD}", custom_mode=True)
    mashup.analysis_text = f"{LONG_WORD}: 120.0 BPM, C major (8B)"
    mashup.save()
    page.set_viewport_size(PHONE)
    page.goto(path.format(detail=mashup.get_absolute_url()))
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth + 1).map(e => e.tagName + '.' + e.className).slice(0, 5)"
    )
    assert overflow <= 0, f"{wide}: {path} is {overflow}px wider than a {PHONE['width']}px screen"
    assert page.console_errors == []
