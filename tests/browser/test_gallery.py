"""The gallery in real Chromium: expiry warnings, a live card that stops polling, delete."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from mashup_site.mashups.models import Mashup, Status
from tests.factories import MashupFactory, TrackFactory, finished_mashup

pytestmark = pytest.mark.django_db(transaction=True)

POLL_SECONDS = 3  # the card's hx-trigger="every 3s"


def test_a_mashup_expiring_tomorrow_shows_the_urgent_warning(signed_in_page, owner) -> None:
    page = signed_in_page
    finished_mashup(
        owner=owner,
        title="Tomorrow's tune",
        custom_mode=True,
        expires_at=timezone.now() + timedelta(hours=20, minutes=30),
    )
    page.goto("/")
    card = page.locator(".mashup-card", has_text="Tomorrow's tune")
    expect(card.locator(".expiry-urgent")).to_have_text("expires in 20 hours: download it now")
    banner = page.locator(".expiring-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("1 mashup expires within a day: download it now")
    expect(card.locator("audio")).to_have_count(2)
    assert page.console_errors == []


def test_an_in_progress_card_updates_to_complete_and_stops_polling(signed_in_page, owner) -> None:
    page = signed_in_page
    mashup = MashupFactory(owner=owner, title="Live one", custom_mode=True, status=Status.FIRST)
    card_url = f"/mashups/{mashup.pk}/card/"
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if card_url in r.url else None)
    page.goto("/")
    card = page.locator(f"#mashup-{mashup.pk}")
    expect(card).to_have_attribute("hx-trigger", "every 3s")
    expect(card.locator(".badge")).to_have_text("First track ready")
    # The card polls at least once while the job is still running.
    with page.expect_response(lambda r: card_url in r.url) as first:
        pass
    assert first.value.status == 200

    # The worker finishes the job while the page is open.
    for position in (1, 2):
        TrackFactory(mashup=mashup, position=position, audio_url="https://example.com/a.mp3")
    Mashup.objects.filter(pk=mashup.pk).update(
        status=Status.COMPLETE,
        completed_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=14),
    )
    expect(card.locator(".badge")).to_have_text("Complete", timeout=4 * POLL_SECONDS * 1000)
    expect(card.locator("audio")).to_have_count(2)
    expect(card).to_contain_text("expires in 14 days")
    assert answers[-1] == 286  # htmx's "stop polling"
    expect(card).not_to_have_attribute("hx-trigger", re.compile(".*"))

    # And no further poll comes, for well over one interval.
    with pytest.raises(PlaywrightTimeout):
        page.wait_for_event(
            "request", lambda r: card_url in r.url, timeout=(POLL_SECONDS + 2) * 1000
        )
    assert page.console_errors == []


def test_a_mashups_page_opened_mid_job_follows_it_to_the_end_without_an_error(
    signed_in_page, owner
) -> None:
    # Opened (or reloaded) mid-job, the page has no "this page follows it" message; the
    # last poll, which takes that message away, must not fail on its absence.
    page = signed_in_page
    mashup = MashupFactory(owner=owner, title="Reloaded", custom_mode=True, status=Status.FIRST)
    page.goto(mashup.get_absolute_url())
    expect(page.locator("#status-badge")).to_have_text("First track ready")
    for position in (1, 2):
        TrackFactory(mashup=mashup, position=position)  # made here: nothing left to copy
    Mashup.objects.filter(pk=mashup.pk).update(
        status=Status.COMPLETE,
        completed_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=14),
    )
    expect(page.locator("#status-badge")).to_have_text("Complete", timeout=15_000)
    page.wait_for_timeout(500)  # the swap and its out-of-band parts are done
    assert page.console_errors == []


def test_delete_asks_to_confirm_then_deletes(signed_in_page, owner) -> None:
    page = signed_in_page
    mashup = finished_mashup(
        owner=owner,
        title="Goodbye song",
        custom_mode=True,
        expires_at=timezone.now() + timedelta(days=9),
    )
    page.goto("/")
    page.locator(f"#mashup-{mashup.pk}").get_by_role("link", name="Delete").click()

    expect(page.get_by_role("heading", name="Delete “Goodbye song”?")).to_be_visible()
    assert Mashup.objects.filter(pk=mashup.pk).exists()  # asking deleted nothing
    page.get_by_role("button", name="Delete for good").click()

    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".messages")).to_contain_text("“Goodbye song” and its files were deleted.")
    expect(page.locator(f"#mashup-{mashup.pk}")).to_have_count(0)
    assert not Mashup.objects.filter(pk=mashup.pk).exists()
    expect(page.get_by_role("heading", name="Make your first mashup")).to_be_visible()
    assert page.console_errors == []


def test_typing_a_search_updates_the_results_in_place(signed_in_page, owner) -> None:
    page = signed_in_page
    tango = MashupFactory(owner=owner, title="Midnight Tango", custom_mode=True)
    polka = MashupFactory(owner=owner, title="Brass Polka", custom_mode=True)
    page.goto("/")
    expect(page.locator(".result-count")).to_have_text("2 mashups")
    with page.expect_response(lambda r: "q=tango" in r.url and r.request.headers.get("hx-request")):
        page.fill("#id_q", "tango")
    expect(page.locator(f"#mashup-{polka.pk}")).to_have_count(0)
    expect(page.locator(f"#mashup-{tango.pk}")).to_be_visible()
    expect(page.locator(".result-count")).to_have_text("1 mashup found")
    assert "q=tango" in page.url  # the address can be shared and reloaded
    assert page.console_errors == []


def test_a_page_open_on_a_mashup_deleted_elsewhere_stops_polling_and_says_so(
    signed_in_page, owner
) -> None:
    page = signed_in_page
    mashup = MashupFactory(owner=owner, title="Gone soon", custom_mode=True, status=Status.FIRST)
    url = mashup.get_absolute_url()
    page.goto(url)
    progress = page.locator("#progress")
    expect(progress).to_have_attribute("hx-trigger", "every 2s")
    mashup.delete()  # from another tab
    expect(progress).to_contain_text("This mashup is no longer here", timeout=6000)
    expect(progress).not_to_have_attribute("hx-trigger", re.compile(".*"))
    with pytest.raises(PlaywrightTimeout):  # and no poll comes after that
        page.wait_for_event("request", lambda r: r.url.endswith(url), timeout=4000)
    assert page.console_errors == []


def test_a_key_given_on_a_finished_mashups_page_makes_it_again_in_that_key(
    signed_in_page, owner
) -> None:
    page = signed_in_page
    mashup = finished_mashup(owner=owner, provider="local", title="Misheard key")
    page.goto(mashup.get_absolute_url())
    form = page.locator("form.given-form")
    expect(form.locator("legend")).to_have_count(2)  # a fieldset per song
    key = form.locator("select[name=key_2]")
    expect(key.locator("option:checked")).to_have_text("As heard: A minor (8A)")
    key.select_option("E minor")
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: not url.endswith(mashup.get_absolute_url()))
    remade = Mashup.objects.exclude(pk=mashup.pk).get()
    assert page.url.endswith(remade.get_absolute_url())
    expect(page.locator(".messages")).to_contain_text("Making it again with song 2 in E minor")
    expect(page.get_by_text("key given: E minor")).to_be_visible()  # in the sources list
    assert page.console_errors == []
