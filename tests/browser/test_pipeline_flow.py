"""Create → progress → two playable tracks, in real Chromium, with a real `manage.py qcluster`
worker process (django-q2's ORM broker) on the live server's test database: once with the
local engine on short synthetic songs, once with the fake remote API over loopback."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from mashup_site.mashups.models import Mashup, Status
from tests.audiofiles import write_audio
from tests.browser.steps import sign_in
from tests.signals import SR, song
from tests.workers import worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

ROOT = Path(django_settings.BASE_DIR)
DEADLINE_MS = 30_000
POLLED_MS = 120_000  # a job followed by polling alone: django-q2's scheduler ticks every 30 s


@pytest.fixture
def qcluster(live_server, settings, tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `manage.py qcluster` on the test database (a file, see tests/conftest.py),
    sharing this process's media folder and signing key; stopped after the test."""
    started: list[subprocess.Popen] = []
    log = tmp_path / "qcluster.log"

    def start(**extra: str) -> subprocess.Popen:
        env = worker_env(settings, PUBLIC_BASE_URL=live_server.url, LOG_LEVEL="INFO", **extra)
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if log.exists():
        print(log.read_text()[-4000:])  # shown by pytest when the test failed


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("e2e-songs")
    first = write_audio(folder / "first.wav", "wav", song(120, 0, "major", 16.0)["mix"], SR)
    second = write_audio(folder / "second.wav", "wav", song(100, 2, "minor", 16.0)["mix"], SR)
    return first, second


def create(page, songs: tuple[Path, Path], idea: str) -> Mashup:
    page.goto("/mashups/new/")
    page.set_input_files("#id_audio1", str(songs[0]))
    page.set_input_files("#id_audio2", str(songs[1]))
    page.fill("#id_prompt", idea)
    page.click("text=Make the mashup")
    page.wait_for_url("**/mashups/*/")
    return Mashup.objects.get()


def assert_two_playable_tracks(page, mashup: Mashup) -> None:
    expect(page.locator("#status-badge")).to_have_text("Complete", timeout=DEADLINE_MS)
    for n in (1, 2):
        player = page.locator(f"#track-{n} audio")
        expect(player).to_have_attribute(
            "src", f"/mashups/{mashup.pk}/tracks/{n}/audio/", timeout=DEADLINE_MS
        )
        # The browser decoded the file's header: it knows how long the track is.
        player.evaluate("el => el.load()")
        page.wait_for_function(
            "el => el.readyState >= 1 && el.duration > 0", arg=player.element_handle()
        )
        download = page.locator(f"#track-{n} a[download]")
        expect(download).to_have_attribute(
            "href", f"/mashups/{mashup.pk}/tracks/{n}/audio/?download=1"
        )
        expect(page.locator(f"#track-{n} img.cover")).to_be_visible()


def test_a_local_job_ends_with_two_playable_tracks(signed_in_page, qcluster, songs, settings):
    settings.MASHUP_PROVIDER = "local"
    qcluster()
    page = signed_in_page
    mashup = create(page, songs, "Two little songs, one dance floor")
    expect(page.locator(".steps")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("This page follows it")
    assert_two_playable_tracks(page, mashup)
    expect(page.locator(".messages")).to_have_count(0)  # followed to the end: said no more
    expect(page.locator(".analysis")).to_contain_text("BPM")
    mashup.refresh_from_db()
    assert mashup.status == Status.COMPLETE and mashup.completed_at
    assert page.console_errors == []


def test_a_finished_local_mashup_made_again_half_a_beat_over(
    signed_in_page, qcluster, songs, settings
):
    settings.MASHUP_PROVIDER = "local"
    qcluster()
    page = signed_in_page
    first = create(page, songs, "Kick on the and")
    expect(page.locator("#status-badge")).to_have_text("Complete", timeout=DEADLINE_MS)
    page.click("text=Make it again, backing half a beat over")
    page.wait_for_url(lambda url: not url.endswith(f"/mashups/{first.pk}/"))
    remade = Mashup.objects.exclude(pk=first.pk).get()
    assert page.url.endswith(remade.get_absolute_url())
    expect(page.locator(".messages")).to_contain_text("backing half a beat over")
    assert_two_playable_tracks(page, remade)
    expect(page.locator(".analysis")).to_contain_text("the backing half a beat over")
    expect(page.locator("text=Make it again, backing back on its beat")).to_be_visible()
    page.goto("/")
    expect(page.locator(".mashup-card")).to_have_count(2)  # the first version stays
    assert page.console_errors == []


def test_a_remote_job_ends_with_two_playable_tracks(
    signed_in_page, qcluster, songs, settings, fake_api, live_server
):
    """``link`` delivery, as before: the provider downloads our uploads at our secret links
    and calls back."""
    settings.MASHUP_PROVIDER = "remote"
    settings.PUBLIC_BASE_URL = live_server.url
    fake_api.auto_callbacks = True
    fake_api.fetch_sources = True
    qcluster(
        MASHUP_API_BASE_URL=fake_api.url,
        MASHUP_API_KEY=fake_api.key,
        MASHUP_RESULTS_ALLOW_PRIVATE="1",  # the fake's track files are on loopback
        MASHUP_SOURCE_DELIVERY="link",
    )
    page = signed_in_page
    mashup = create(page, songs, "Two little songs, over the wire")
    assert_two_playable_tracks(page, mashup)
    mashup.refresh_from_db()
    assert mashup.provider_task_id == fake_api.task.task_id
    assert mashup.source_delivery == "link"
    assert fake_api.task.source_statuses == [200, 200]  # it downloaded our uploads
    assert len(fake_api.requests_to(live_server.url + "/sources/")) == 2
    assert fake_api.callback_answers == [200, 200, 200]
    assert fake_api.count("submit") == 1 and fake_api.uploads == []


def test_a_remote_job_from_a_home_server_never_needs_the_provider_to_reach_it(
    signed_in_page, qcluster, songs, settings, fake_api, live_server
):
    """PUBLIC_BASE_URL on loopback (``auto`` delivery): the songs go to the upload service,
    no callback can come, polling finds the tracks; the fake never requested our server."""
    settings.MASHUP_PROVIDER = "remote"
    settings.PUBLIC_BASE_URL = live_server.url  # http://localhost:<port>: not on the internet
    fake_api.fetch_sources = True  # it downloads every source, like the real provider
    fake_api.timeline = (0.0, 0.0, 0.0)  # done by the first poll (the scheduler's pace)
    qcluster(
        MASHUP_API_BASE_URL=fake_api.url,
        MASHUP_API_KEY=fake_api.key,
        MASHUP_UPLOAD_BASE_URL=fake_api.upload_url,
        MASHUP_RESULTS_ALLOW_PRIVATE="1",
    )
    page = signed_in_page
    mashup = create(page, songs, "Two little songs, from behind the router")
    # django-q2's scheduler runs due polls about every 30 s
    expect(page.locator("#status-badge")).to_have_text("Complete", timeout=POLLED_MS)
    assert_two_playable_tracks(page, mashup)
    fake_api.assert_never_requested(live_server.url)
    mashup.refresh_from_db()
    assert mashup.source_delivery == "upload" and mashup.callbacks_received == 0
    assert [u.endpoint for u in fake_api.uploads] == ["stream-upload", "stream-upload"]
    assert [u.data for u in fake_api.uploads] == [path.read_bytes() for path in songs]
    assert fake_api.task.payload["uploadUrlList"] == [u.download_url for u in fake_api.uploads]
    assert fake_api.task.source_statuses == [200, 200]  # from the upload service
    assert fake_api.count("submit") == 1
    # The provider's own covers show until our copies exist; the fake's are plain http,
    # which the page's CSP blocks (a real provider's are https). Nothing else went wrong.
    assert [e for e in page.console_errors if fake_api.url not in e] == []


def test_without_javascript_the_page_reloads_itself_until_done(
    browser, live_server, owner, password, qcluster, songs, settings
):
    settings.MASHUP_PROVIDER = "local"
    qcluster()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, owner, password)
        mashup = create(page, songs, "No scripts, still music")
        expect(page.locator("#status-badge")).to_have_text("Complete", timeout=DEADLINE_MS)
        for n in (1, 2):
            expect(page.locator(f"#track-{n} a[download]")).to_have_attribute(
                "href", f"/mashups/{mashup.pk}/tracks/{n}/audio/?download=1"
            )
        assert page.locator("noscript").count() == 0  # final: no more reloading
    finally:
        context.close()
