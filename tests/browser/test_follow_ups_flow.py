"""Follow-ups end to end in real Chromium, with a real `manage.py qcluster` worker: from a
finished mashup's page, a person gets the vocals and the instrumental, a WAV, and (remote)
the lyrics in time with a waveform; a local mashup shows its waveform from the render and
says it has no lyrics."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mashup_site.mashups.models import FollowUp, Status, Track
from tests.browser import test_pipeline_flow as pipeline
from tests.browser.test_pipeline_flow import DEADLINE_MS, assert_two_playable_tracks, create

# The pipeline flow's fixtures: a real worker process, and two short synthetic songs.
qcluster = pipeline.qcluster
songs = pipeline.songs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
# The mashup itself comes first (a real worker on a machine that may be busy).
MASHUP_DEADLINE_MS = 120_000


def finished(page, mashup) -> None:
    expect(page.locator("#status-badge")).to_have_text("Complete", timeout=MASHUP_DEADLINE_MS)
    assert_two_playable_tracks(page, mashup)


def ask_and_wait(page, position: int, button: str, kind: str) -> None:
    row = page.locator(f"#follow-ups-{position}")
    row.get_by_role("button", name=button).click()
    expect(row.locator(f".follow-up-{kind}")).to_have_attribute(
        "data-status", "complete", timeout=DEADLINE_MS
    )


def assert_plays(page, selector: str) -> None:
    player = page.locator(selector)
    player.evaluate("el => el.load()")
    page.wait_for_function(
        "el => el.readyState >= 1 && el.duration > 0", arg=player.element_handle()
    )


def assert_stems_and_wav(page, mashup, position: int = 1) -> None:
    base = f"/mashups/{mashup.pk}/tracks/{position}"
    ask_and_wait(page, position, "Get vocals and instrumental", "stems")
    for name in ("vocals", "instrumental"):
        assert_plays(page, f"#follow-ups-{position} audio[src='{base}/{name}/']")
        expect(
            page.locator(f"#follow-ups-{position} a[href='{base}/{name}/?download=1']")
        ).to_be_visible()
    ask_and_wait(page, position, "Get WAV", "wav")
    link = page.locator(f"#follow-ups-{position} a[href='{base}/wav/?download=1']")
    with page.expect_download() as download:
        link.click()
    track = mashup.tracks.get(position=position)  # saved under its title ("a × b")
    assert download.value.suggested_filename == f"{track.title}.wav"


def test_a_local_mashup_gives_its_stems_wav_and_waveform(signed_in_page, qcluster, songs, settings):
    settings.MASHUP_PROVIDER = "local"
    qcluster()
    page = signed_in_page
    mashup = create(page, songs, "Two little songs, taken apart")
    finished(page, mashup)
    expect(page.locator("#follow-ups-1 .waveform svg path")).to_be_visible()
    expect(page.locator("#follow-ups-1 .follow-up-lyrics")).to_contain_text("does not sing")
    assert_stems_and_wav(page, mashup)
    assert FollowUp.objects.filter(status=Status.COMPLETE).count() == 2
    assert page.console_errors == []


def test_a_remote_mashup_gives_stems_wav_and_lyrics_in_time(
    signed_in_page, qcluster, songs, settings, fake_api, live_server
):
    settings.MASHUP_PROVIDER = "remote"
    settings.PUBLIC_BASE_URL = live_server.url
    fake_api.auto_callbacks = True
    fake_api.follow_up_callbacks = True
    qcluster(
        MASHUP_API_BASE_URL=fake_api.url,
        MASHUP_API_KEY=fake_api.key,
        MASHUP_RESULTS_ALLOW_PRIVATE="1",
        MASHUP_UPLOAD_BASE_URL=fake_api.upload_url,  # a loopback base URL: songs are uploaded
    )
    page = signed_in_page
    mashup = create(page, songs, "Two little songs, over the wire, taken apart")
    finished(page, mashup)
    assert_stems_and_wav(page, mashup)

    ask_and_wait(page, 1, "Get lyrics in time", "lyrics")
    lines = page.locator("#follow-ups-1 .lyrics-lines li")
    expect(lines).to_have_count(2)
    expect(lines.first).to_contain_text("Hello little world")
    expect(page.locator("#follow-ups-1 .waveform svg path")).to_be_visible()
    # Playing highlights the line being sung (the fake's track is 1 s long: its first
    # line, 0.2-1.3 s, is sung while it plays; the second, from 1.4 s, never is).
    track = Track.objects.get(mashup=mashup, position=1)
    assert track.lyrics[1]["text"] == "Sing along"
    page.locator("#track-1 .track-body > audio").evaluate("el => { el.muted = true; el.play(); }")
    expect(lines.first).to_have_class("current", timeout=DEADLINE_MS)
    expect(lines.first).to_have_attribute("aria-current", "true")
    expect(lines.nth(1)).not_to_have_class("current")
    assert {f.kind for f in FollowUp.objects.filter(status=Status.COMPLETE)} == {
        "stems",
        "wav",
        "lyrics",
    }
    assert fake_api.count("vocal") == 1 and fake_api.count("wav") == 1
    # Until our copies exist the page shows the provider's covers, which the CSP refuses
    # from the fake's plain-http loopback address (a real provider's are https).
    others = [e for e in page.console_errors if fake_api.url not in e]
    assert others == []
