"""Follow-ups on a finished track (runner.start_follow_up and its loop, tasks.ask_follow_up,
the views and the callback), against the fake API over loopback HTTP and the local
provider's kept files. django-q2 runs in sync mode; polls are run at their due times on a
fake clock. Each follow-up knob of the fake has a test."""

from __future__ import annotations

import threading

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django_q.conf import Conf

from mashup_site.mashups import jobs, runner, tasks
from mashup_site.mashups.models import FollowUp, Mashup, Start, Status, Track
from mashup_site.providers import remote
from mashup_site.providers.base import TimedWord
from tests.conftest import Clock
from tests.factories import HTMX, finished_mashup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(live_server, settings, fake_api, clock, monkeypatch):
    settings.PUBLIC_BASE_URL = live_server.url
    monkeypatch.setattr(Conf, "SYNC", True)
    monkeypatch.setattr(remote, "default_sleep", lambda seconds: None)
    return fake_api


def remote_track(owner, *, instrumental: bool = False, position: int = 1) -> Track:
    mashup = finished_mashup(owner=owner, provider="remote", instrumental=instrumental)
    Mashup.objects.filter(pk=mashup.pk).update(provider_task_id="fake-mashup")
    track = mashup.tracks.get(position=position)
    track.provider_track_id = f"fake-mashup-track-{position}"
    track.save()
    return Track.objects.select_related("mashup").get(pk=track.pk)


def local_track(owner, *, kept: bool = True, instrumental: bool = False) -> Track:
    mashup = finished_mashup(owner=owner, provider="local", instrumental=instrumental)
    track = mashup.tracks.get(position=1)
    if kept:
        for name in ("vocals", "instrumental", "wav"):
            getattr(track, name).save(f"track-1-{name}.wav", ContentFile(b"RIFF"), save=False)
        track.waveform = [0.1, 0.5, 1.0]
        track.save()
    return Track.objects.select_related("mashup").get(pk=track.pk)


def drive(pk: int, clock: Clock, *, limit: int = 40) -> FollowUp:
    """What the scheduler does: each due tick of the follow-up's loop, until it is final."""
    for _ in range(limit):
        follow_up = FollowUp.objects.get(pk=pk)
        if follow_up.is_final or follow_up.next_poll_at is None:
            return follow_up
        clock.now = max(clock.now, follow_up.next_poll_at)
        tasks.poll_follow_up(pk)
    raise AssertionError(f"follow-up {pk} is not final after {limit} ticks")


def ask(track: Track, kind: str) -> FollowUp:
    return tasks.ask_follow_up(track, kind, user_id=track.mashup.owner_id)


# --- remote: vocals and instrumental --------------------------------------------------------


def test_remote_stems_are_separated_copied_and_kept(app, owner, clock) -> None:
    track = remote_track(owner)
    follow_up = drive(ask(track, "stems").pk, clock)
    assert follow_up.status == Status.COMPLETE, follow_up.message
    (fake,) = app.follow_ups.values()
    assert fake.payload["type"] == "separate_vocal"
    assert fake.payload["audioId"] == "fake-mashup-track-1"
    assert fake.payload["taskId"] == "fake-mashup"
    callback = f"/callbacks/follow-ups/{follow_up.callback_token}/"
    assert fake.payload["callBackUrl"].endswith(callback)
    track.refresh_from_db()
    assert track.vocals and track.instrumental
    with track.vocals.open("rb") as handle:
        assert handle.read() == app.audio
    assert follow_up.provider_task_id == fake.task_id
    assert follow_up.cost_credits == app.prices["vocal"]
    # submit, one record read, and the balance before and after
    assert follow_up.provider_requests == 4


def test_a_double_ask_makes_one_follow_up(app, owner, clock) -> None:
    track = remote_track(owner)
    first = ask(track, "stems")
    second = ask(track, "stems")
    assert first.pk == second.pk
    assert app.count("vocal") == 1
    assert FollowUp.objects.count() == 1
    assert Start.objects.filter(owner=owner).count() == 1  # counted once


@pytest.mark.worker  # a file database: threads cannot share SQLite's in-memory one
def test_parallel_posts_make_one_follow_up(app, owner, live_server) -> None:
    """Two browsers post at once (two threads, two database connections)."""
    track = remote_track(owner)
    url = f"/mashups/{track.mashup_id}/tracks/1/follow-ups/stems/"
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def post() -> None:
        client = Client()
        client.force_login(owner)
        barrier.wait()
        try:
            answers.append(client.post(url).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [302, 302]
    assert FollowUp.objects.count() == 1
    assert app.count("vocal") == 1


def test_a_failed_separation_is_told_in_words_and_can_be_asked_again(app, owner, clock) -> None:
    app.follow_up_failure = ("GENERATE_AUDIO_FAILED", 501)
    track = remote_track(owner)
    failed = drive(ask(track, "stems").pk, clock)
    assert failed.status == Status.FAILED
    assert failed.message == "The provider could not generate the mashup."
    assert failed.error_code == 501
    app.follow_up_failure = None
    again = ask(track, "stems")
    assert again.pk != failed.pk
    assert drive(again.pk, clock).status == Status.COMPLETE


def test_a_task_the_provider_could_not_create_fails(app, owner, clock) -> None:
    app.follow_up_failure = ("CREATE_TASK_FAILED", 400)
    failed = drive(ask(remote_track(owner), "stems").pk, clock)
    assert failed.status == Status.FAILED
    assert "content rules" in failed.message


def test_missing_stems_keep_what_came_and_say_what_did_not(app, owner, clock) -> None:
    app.missing_stems = ("vocalUrl",)
    track = remote_track(owner)
    follow_up = drive(ask(track, "stems").pk, clock)
    assert follow_up.status == Status.COMPLETE
    assert follow_up.message == "The provider sent no vocals for this track."
    track.refresh_from_db()
    assert not track.vocals and track.instrumental


def test_no_stems_at_all_fails_in_words(app, owner, clock) -> None:
    app.missing_stems = ("vocalUrl", "instrumentalUrl")
    follow_up = drive(ask(remote_track(owner), "stems").pk, clock)
    assert follow_up.status == Status.FAILED
    assert "no vocals" in follow_up.message and "no instrumental" in follow_up.message


def test_slow_answers_are_polled_until_ready(app, owner, clock) -> None:
    app.follow_up_slow_polls = 3
    follow_up = drive(ask(remote_track(owner), "stems").pk, clock)
    assert follow_up.status == Status.COMPLETE
    assert app.count("vocal_record") == 4
    assert app.count("vocal") == 1


def test_a_slow_provider_past_the_give_up_time_fails(app, owner, clock, settings) -> None:
    app.follow_up_slow_polls = 10_000
    settings.MASHUP_GIVE_UP_MINUTES = 2
    follow_up = drive(ask(remote_track(owner), "stems").pk, clock)
    assert follow_up.status == Status.FAILED
    assert follow_up.message.startswith("Timed out")


def test_a_busy_provider_is_asked_again_later(app, owner, clock) -> None:
    app.script("vocal", 200, {"code": 430, "msg": "too frequent"})
    app.script("vocal", 200, {"code": 430, "msg": "too frequent"})
    app.script("vocal", 200, {"code": 430, "msg": "too frequent"})
    app.script("vocal", 200, {"code": 430, "msg": "too frequent"})
    follow_up = ask(remote_track(owner), "stems")
    assert FollowUp.objects.get(pk=follow_up.pk).status == Status.QUEUED  # refused for now
    assert drive(follow_up.pk, clock).status == Status.COMPLETE


def test_the_callback_makes_us_read_the_record_now(app, owner, clock) -> None:
    app.follow_up_callbacks = True
    app.follow_up_slow_polls = 0
    follow_up = ask(remote_track(owner), "stems")
    for thread in app._threads:
        thread.join(timeout=10)
    assert app.callback_answers == [200]
    follow_up.refresh_from_db()
    if follow_up.status != Status.COMPLETE:  # the callback came before the task id was saved
        follow_up = drive(follow_up.pk, clock)
    assert follow_up.status == Status.COMPLETE


def test_a_callback_is_checked_like_a_mashups(app, owner, clock, client) -> None:
    follow_up = ask(remote_track(owner), "stems")
    url = f"/callbacks/follow-ups/{follow_up.callback_token}/"
    assert client.post("/callbacks/follow-ups/not-a-token/", {}).status_code == 404
    assert client.post(url, "nope", content_type="application/json").status_code == 400
    assert client.post(url, "[1]", content_type="application/json").status_code == 400
    other = {"code": 200, "data": {"task_id": "someone-else"}}
    assert client.post(url, other, content_type="application/json").status_code == 409
    assert client.get(url).status_code == 405


# --- remote: WAV ------------------------------------------------------------------------------


def test_remote_wav_is_made_and_copied(app, owner, clock) -> None:
    track = remote_track(owner)
    follow_up = drive(ask(track, "wav").pk, clock)
    assert follow_up.status == Status.COMPLETE
    track.refresh_from_db()
    with track.wav.open("rb") as handle:
        assert handle.read(4) == b"RIFF"
    assert follow_up.cost_credits == app.prices["wav"]


def test_a_wav_that_exists_is_read_not_made_again(app, owner, clock) -> None:
    app.wav_exists = True
    track = remote_track(owner)
    follow_up = drive(ask(track, "wav").pk, clock)
    assert follow_up.status == Status.COMPLETE
    assert app.count("wav") == 1 and app.count("wav_record") == 1
    assert follow_up.cost_credits == 0  # nothing charged for the existing one
    track.refresh_from_db()
    assert track.wav


# --- remote: lyrics in time -------------------------------------------------------------------


def test_lyrics_are_answered_at_once_as_lines_with_a_waveform(app, owner, clock) -> None:
    track = remote_track(owner)
    follow_up = ask(track, "lyrics")
    follow_up.refresh_from_db()
    assert follow_up.status == Status.COMPLETE
    track.refresh_from_db()
    assert track.lyrics == [
        {"start": 0.2, "end": 1.3, "text": "Hello little world", "section": "Verse"},
        {"start": 1.4, "end": 1.9, "text": "Sing along", "section": ""},
    ]
    assert len(track.waveform) == 400 and all(0 <= v <= 1 for v in track.waveform)


def test_a_track_without_sung_words_says_so(app, owner, client) -> None:
    app.lyrics_words = ()
    track = remote_track(owner)
    ask(track, "lyrics")
    client.force_login(owner)
    page = client.get(f"/mashups/{track.mashup_id}/").content.decode()
    assert "No lyrics were found in this track." in page


def test_an_instrumental_remote_track_has_no_lyrics_button(app, owner, client) -> None:
    track = remote_track(owner, instrumental=True)
    with pytest.raises(tasks.FollowUpRefused, match="instrumental track has no lyrics"):
        ask(track, "lyrics")
    client.force_login(owner)
    page = client.get(f"/mashups/{track.mashup_id}/").content.decode()
    assert "An instrumental track has no lyrics to follow." in page
    assert "Get lyrics in time" not in page
    assert app.count("lyrics") == 0


def test_lyric_lines_follow_line_breaks_and_section_tags() -> None:
    words = (
        TimedWord("[Intro]\n", 0.0, 0.1),
        TimedWord("Oh ", 0.1, 0.3),
        TimedWord("yeah\n\n[Chorus]\nLa ", 0.3, 0.8),
        TimedWord("la", 0.8, 1.0),
    )
    assert runner.lyric_lines(words) == [
        {"start": 0.1, "end": 0.8, "text": "Oh yeah", "section": "Intro"},
        {"start": 0.3, "end": 1.0, "text": "La la", "section": "Chorus"},
    ]


# --- limits -----------------------------------------------------------------------------------


def test_paid_follow_ups_count_against_the_daily_limit(app, owner, settings) -> None:
    settings.MASHUP_MAX_PER_DAY = 1
    track = remote_track(owner)
    ask(track, "stems")
    with pytest.raises(Exception, match="daily limit"):
        ask(track, "wav")
    assert FollowUp.objects.filter(kind="wav").count() == 0


def test_the_refusal_is_shown_in_the_row(app, owner, client, settings) -> None:
    settings.MASHUP_MAX_PER_DAY = 1
    Start.objects.create(owner=owner)
    track = remote_track(owner)
    client.force_login(owner)
    answer = client.post(f"/mashups/{track.mashup_id}/tracks/1/follow-ups/wav/", headers=HTMX)
    assert answer.status_code == 200
    assert "daily limit" in answer.content.decode()
    assert FollowUp.objects.count() == 0


# --- local -------------------------------------------------------------------------------------


@pytest.fixture
def local(settings, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)


def test_local_follow_ups_are_what_the_render_kept_and_cost_nothing(local, owner, settings) -> None:
    settings.MASHUP_MAX_PER_DAY = 1
    Start.objects.create(owner=owner)  # the day's limit is reached: free ones still run
    track = local_track(owner)
    for kind in ("stems", "wav"):
        follow_up = FollowUp.objects.get(pk=ask(track, kind).pk)
        assert follow_up.status == Status.COMPLETE
        assert follow_up.provider_requests == 0
    assert Start.objects.count() == 1  # only the one made above


def test_local_tracks_have_no_lyrics(local, owner, client) -> None:
    track = local_track(owner)
    with pytest.raises(tasks.FollowUpRefused, match="does not sing"):
        ask(track, "lyrics")
    client.force_login(owner)
    page = client.get(f"/mashups/{track.mashup_id}/").content.decode()
    assert "does not sing" in page
    assert 'class="waveform"' in page  # made with the render


def test_a_local_track_made_before_the_extras_says_so(local, owner) -> None:
    follow_up = FollowUp.objects.get(pk=ask(local_track(owner, kept=False), "stems").pk)
    assert follow_up.status == Status.FAILED
    assert "before the engine kept" in follow_up.message


def test_an_instrumental_local_mashup_has_no_vocals(local, owner) -> None:
    with pytest.raises(tasks.FollowUpRefused, match="no vocal layer"):
        ask(local_track(owner, instrumental=True), "stems")


# --- pages and files --------------------------------------------------------------------------


def test_the_files_play_and_download_under_the_title(local, owner, client) -> None:
    track = local_track(owner)
    ask(track, "stems")
    client.force_login(owner)
    base = f"/mashups/{track.mashup_id}/tracks/1"
    page = client.get(f"/mashups/{track.mashup_id}/").content.decode()
    assert f'src="{base}/vocals/"' in page and f'src="{base}/instrumental/"' in page
    answer = client.get(f"{base}/vocals/?download=1")
    title = track.mashup.display_title
    assert f'filename="{title} (1) vocals.wav"' in answer.headers["Content-Disposition"]
    assert client.get(f"{base}/secret/").status_code == 404


def test_strangers_cannot_ask_or_read(local, owner, stranger_client) -> None:
    track = local_track(owner)
    base = f"/mashups/{track.mashup_id}/tracks/1"
    assert stranger_client.post(f"{base}/follow-ups/stems/").status_code == 404
    assert stranger_client.get(f"{base}/vocals/").status_code == 404
    assert not FollowUp.objects.exists()


def test_an_unknown_kind_is_not_found(local, owner, client) -> None:
    track = local_track(owner)
    client.force_login(owner)
    assert client.post(f"/mashups/{track.mashup_id}/tracks/1/follow-ups/drums/").status_code == 404


def test_an_unfinished_mashup_offers_no_follow_ups(local, owner) -> None:
    track = local_track(owner)
    Mashup.objects.filter(pk=track.mashup_id).update(status=Status.FIRST)
    track = Track.objects.select_related("mashup").get(pk=track.pk)
    with pytest.raises(tasks.FollowUpRefused, match="finished track"):
        ask(track, "wav")


def test_expiry_deletes_the_follow_ups_files(local, owner) -> None:
    track = local_track(owner)
    names = [str(getattr(track, n).name) for n in ("vocals", "instrumental", "wav")]
    jobs.purge_now(track.mashup)
    from django.core.files.storage import default_storage

    assert not any(default_storage.exists(name) for name in names)
    track.refresh_from_db()
    assert not track.vocals and not track.wav


def test_the_reconciler_hands_a_lost_follow_up_again(local, owner, clock, monkeypatch) -> None:
    track = local_track(owner)
    with monkeypatch.context() as patch:  # the broker lost it (or was down)
        patch.setattr(tasks, "async_task", lambda *args, **kwargs: None)
        follow_up = ask(track, "wav")
    assert FollowUp.objects.get(pk=follow_up.pk).status == Status.QUEUED
    tasks.reconcile()
    assert FollowUp.objects.get(pk=follow_up.pk).status == Status.QUEUED  # not late yet
    clock.advance(6 * 60)
    tasks.reconcile()
    assert FollowUp.objects.get(pk=follow_up.pk).status == Status.COMPLETE


def test_the_row_polls_while_one_is_being_made_then_stops(local, owner, client) -> None:
    track = local_track(owner)
    client.force_login(owner)
    url = f"/mashups/{track.mashup_id}/tracks/1/follow-ups/"
    FollowUp.objects.create(track=track, kind="wav", status=Status.SUBMITTED)
    working = client.get(url, headers=HTMX)
    assert working.status_code == 200
    assert 'hx-trigger="every 2s"' in working.content.decode()
    FollowUp.objects.filter(track=track).update(status=Status.COMPLETE)
    done = client.get(url, headers=HTMX)
    assert done.status_code == 286  # htmx stops polling
    assert "Download WAV" in done.content.decode()
    assert client.get(url).status_code == 302  # without htmx: the mashup's page
