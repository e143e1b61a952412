"""The job's state machine (jobs.py: snapshots applied in order, never backwards) and what
the mashup's page shows at each status: progress, players, covers, analysis, messages people
understand, polling that stops itself, a page that works without JavaScript."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from mashup_site.mashups import jobs, tasks
from mashup_site.mashups.models import COPY_GRACE, Mashup, Status
from mashup_site.providers.base import MESSAGES, TaskSnapshot, TrackResult
from tests.factories import HTMX, MashupFactory, finished_mashup
from tests.fakes.jobs import remote_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(owner) -> Mashup:
    mashup = remote_job(owner, title="Night Drive", custom_mode=True, style="synthwave")
    jobs.claim_submission(mashup.pk)
    jobs.record_task_id(mashup.pk, "t-1")
    return Mashup.objects.get(pk=mashup.pk)


def track(n: int, *, audio: bool) -> TrackResult:
    base = f"https://cdn.example/{n}"
    return TrackResult(
        id=f"id-{n}",
        title=f"Night Drive {n}",
        tags="synthwave",
        audio_url=f"{base}.mp3" if audio else "",
        stream_audio_url=f"{base}-stream",
        image_url=f"{base}.jpeg",
        duration=125.0,
    )


def apply(pk: int, status: Status, *tracks: TrackResult, **kwargs: object) -> bool:
    return jobs.apply_snapshot(pk, TaskSnapshot("t-1", status, tuple(tracks), **kwargs))


def test_stages_are_timestamped_once(job, clock) -> None:
    assert apply(job.pk, Status.ANALYSED, track(1, audio=False), track(2, audio=False))
    text_at = clock.now
    clock.advance(20)
    assert apply(job.pk, Status.FIRST, track(1, audio=True), track(2, audio=False))
    clock.advance(20)
    assert not apply(job.pk, Status.ANALYSED)  # late and out of order: ignored
    assert apply(job.pk, Status.COMPLETE, track(1, audio=True), track(2, audio=True))
    done = Mashup.objects.get(pk=job.pk)
    assert (done.text_at, done.first_at) == (text_at, text_at + timedelta(seconds=20))
    assert done.completed_at == clock.now
    assert done.expires_at == clock.now + timedelta(days=14)


def test_a_final_job_never_moves(job) -> None:
    apply(job.pk, Status.COMPLETE, track(1, audio=True), track(2, audio=True))
    assert not apply(job.pk, Status.FIRST)
    assert not apply(job.pk, Status.FAILED, error_code=500)
    assert Mashup.objects.get(pk=job.pk).status == Status.COMPLETE


def test_the_raw_response_and_task_id_are_kept_for_staff(job) -> None:
    raw = {"code": 200, "data": {"callbackType": "first", "task_id": "t-1"}}
    apply(job.pk, Status.FIRST, track(1, audio=True), raw=raw)
    mashup = Mashup.objects.get(pk=job.pk)
    assert mashup.last_response == raw and mashup.provider_task_id == "t-1"


def test_a_later_snapshot_does_not_erase_what_an_earlier_one_said(job) -> None:
    apply(job.pk, Status.FIRST, track(1, audio=True), track(2, audio=False))
    apply(job.pk, Status.COMPLETE, TrackResult(), track(2, audio=True))  # first track sent empty
    first = Mashup.objects.get(pk=job.pk).tracks.get(position=1)
    assert first.audio_url == "https://cdn.example/1.mp3" and first.title == "Night Drive 1"


def test_a_later_stage_brings_the_fuller_analysis_and_a_late_one_never_rewrites_it(job) -> None:
    apply(job.pk, Status.ANALYSED, analysis_text="planned")
    apply(job.pk, Status.COMPLETE, track(1, audio=True), analysis_text="made: 4 ms apart")
    apply(job.pk, Status.FIRST, analysis_text="a late first")  # out of order: ignored
    apply(job.pk, Status.COMPLETE, analysis_text="the same again")  # a repeat: ignored
    assert Mashup.objects.get(pk=job.pk).analysis_text == "made: 4 ms apart"


def test_the_tempi_heard_are_kept_on_the_songs_once_and_a_late_snapshot_never_rewrites_them(
    job,
) -> None:
    apply(job.pk, Status.ANALYSED, analysis_text="planned", tempi_heard=(92.3, None))
    apply(job.pk, Status.FIRST, analysis_text="a first", tempi_heard=(180.0, 120.0))
    heard = [s.tempo_heard for s in Mashup.objects.get(pk=job.pk).sources.all()]
    assert heard == [92.3, 120.0]  # a song heard keeps its tempo; one not heard yet takes it


def test_the_keys_heard_are_kept_once_and_only_keys_are_kept(job) -> None:
    apply(job.pk, Status.ANALYSED, analysis_text="planned", keys_heard=("A minor", "H major"))
    apply(job.pk, Status.FIRST, analysis_text="a first", keys_heard=("C major", "F# minor"))
    heard = [s.key_heard for s in Mashup.objects.get(pk=job.pk).sources.all()]
    assert heard == ["A minor", "F# minor"]  # a name of no key is no key heard


def test_whether_a_beat_was_heard_is_kept_once_and_never_rewritten(job) -> None:
    apply(
        job.pk,
        Status.ANALYSED,
        analysis_text="a",
        tempi_heard=(92.3, None),
        beats_heard=(True, False),
    )
    apply(
        job.pk, Status.FIRST, analysis_text="b", tempi_heard=(92.3, 80.0), beats_heard=(True, True)
    )
    sources = Mashup.objects.get(pk=job.pk).sources.order_by("position")
    assert [s.beat_heard for s in sources] == [True, False]


def test_a_track_that_says_its_position_lands_there_even_when_it_comes_first(job) -> None:
    second = replace(track(2, audio=True), position=2)
    apply(job.pk, Status.FIRST, second)
    assert [(t.position, t.title) for t in Mashup.objects.get(pk=job.pk).tracks.all()] == [
        (2, "Night Drive 2")
    ]
    apply(job.pk, Status.COMPLETE, second, replace(track(1, audio=True), position=1))
    tracks = Mashup.objects.get(pk=job.pk).tracks.order_by("position")
    assert [(t.position, t.title) for t in tracks] == [(1, "Night Drive 1"), (2, "Night Drive 2")]


# --- trying a failed job again -----------------------------------------------------------


def test_retry_resets_every_trace_of_the_failed_run(owner, django_capture_on_commit_callbacks):
    now = timezone.now()
    mashup = finished_mashup(
        owner=owner,
        status=Status.FAILED,
        provider="remote",
        provider_task_id="task-1",
        error_code=451,
        error_message="could not download",
        analysis_text="120 BPM",
        last_response={"code": 451},
        submitted_at=now,
        text_at=now,
        failed_at=now,
        claimed_at=now,
        polls=4,
        next_poll_at=now,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.enqueue_retry(mashup) is True
    mashup.refresh_from_db()
    for field, value in jobs.RESET.items():
        if field != "enqueued_at":  # handed to the broker again at once
            assert getattr(mashup, field) == value, field
    assert mashup.enqueued_at is not None
    assert not mashup.tracks.exists()
    assert [task.task["args"] for task in OrmQ.objects.all()] == [(mashup.pk,)]


def test_retry_runs_once_when_asked_twice(owner, django_capture_on_commit_callbacks) -> None:
    mashup = MashupFactory(owner=owner, status=Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.enqueue_retry(mashup) is True
        assert tasks.enqueue_retry(mashup) is False  # now queued, not failed
    assert OrmQ.objects.count() == 1


@pytest.mark.parametrize("status", [Status.QUEUED, Status.FIRST, Status.COMPLETE, Status.EXPIRED])
def test_retry_leaves_other_jobs_alone(owner, status: str) -> None:
    mashup = MashupFactory(owner=owner, status=status, error_message="kept")
    assert tasks.enqueue_retry(mashup) is False
    mashup.refresh_from_db()
    assert (mashup.status, mashup.error_message) == (status, "kept")


# --- the page ----------------------------------------------------------------------------------


def page(client: Client, mashup: Mashup, **headers: str):
    return client.get(reverse("mashups:detail", args=[mashup.pk]), headers=headers)


def test_progress_shows_the_stages_reached(owner_client: Client, job) -> None:
    apply(job.pk, Status.ANALYSED)
    html = page(owner_client, job).content.decode()
    assert re.search(r'class="step step-done">Submitted', html)
    assert re.search(r'class="step step-current" aria-current="step">Analysed', html)
    assert re.search(r'class="step step-todo">First track', html)


def test_an_unfinished_page_polls_and_reloads_itself_without_javascript(
    owner_client: Client, job
) -> None:
    html = page(owner_client, job).content.decode()
    url = reverse("mashups:detail", args=[job.pk])
    assert f'hx-get="{url}"' in html and 'hx-trigger="every 2s"' in html
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
    assert f'<a href="{url}">reload it</a>' in html  # a real link for the same URL


def test_the_polled_region_is_a_partial(owner_client: Client, job) -> None:
    response = page(owner_client, job, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="progress"') and "<html" not in html


def test_the_polled_region_also_updates_the_header_badge(owner_client: Client, job) -> None:
    apply(job.pk, Status.FIRST, track(1, audio=True))
    html = page(owner_client, job, **HTMX).content.decode()
    assert re.search(r'<span id="status-badge" [^>]*hx-swap-oob="true">First track ready<', html)
    assert 'id="messages"' not in html  # "your mashup has started" stays while it is true
    full = page(owner_client, job).content.decode()
    assert full.count('id="status-badge"') == 1 and "hx-swap-oob" not in full


def test_polling_stops_itself_when_the_job_is_final(owner_client: Client, owner) -> None:
    mashup = finished_mashup(owner=owner)
    response = page(owner_client, mashup, **HTMX)
    assert response.status_code == 286  # htmx: stop polling
    assert "hx-get" not in response.content.decode()
    # and "this page follows it until both tracks are ready" goes: it is no longer true
    assert '<div id="messages" hx-swap-oob="true"></div>' in response.content.decode()
    assert "<noscript>" not in page(owner_client, mashup).content.decode()


def test_polling_continues_until_our_copies_exist(owner_client: Client, job, clock) -> None:
    apply(job.pk, Status.COMPLETE, track(1, audio=True), track(2, audio=True))
    assert page(owner_client, job, **HTMX).status_code == 200  # copies not made yet
    clock.advance(COPY_GRACE.total_seconds() + 1)
    assert page(owner_client, job, **HTMX).status_code == 286  # the copy had its chance


def test_the_first_track_plays_from_the_stream_before_it_is_final(
    owner_client: Client, job
) -> None:
    apply(job.pk, Status.ANALYSED, track(1, audio=False), track(2, audio=False))
    html = page(owner_client, job).content.decode()
    assert 'src="https://cdn.example/1-stream"' in html
    assert "Preview: the final file follows." in html


def test_a_finished_page_has_two_players_downloads_and_covers(owner_client, owner) -> None:
    mashup = finished_mashup(owner=owner, title="Night Drive")
    Mashup.objects.filter(pk=mashup.pk).update(analysis_text="Song A at 120 BPM in C major.")
    html = page(owner_client, mashup).content.decode()
    for n in (1, 2):
        audio = reverse("mashups:track_file", args=[mashup.pk, n, "audio"])
        image = reverse("mashups:track_file", args=[mashup.pk, n, "image"])
        assert f'<audio controls preload="metadata" src="{audio}">' in html
        assert f'href="{audio}?download=1" download' in html
        assert f'src="{image}"' in html
    assert "Song A at 120 BPM in C major." in html


@pytest.mark.parametrize("code", [413, 451, 531, 400])
def test_a_failure_code_is_said_in_words(owner_client: Client, job, code) -> None:
    apply(job.pk, Status.FAILED, error_code=code, error_message="raw provider text")
    html = page(owner_client, job).content.decode()
    assert "This mashup failed" in html
    assert MESSAGES[code] in html.replace("&#x27;", "'")
    assert "raw provider text" not in html


def test_an_unknown_code_falls_back_to_the_providers_words(owner_client: Client, job) -> None:
    apply(job.pk, Status.FAILED, error_code=599, error_message="Quota region closed")
    assert "Quota region closed" in page(owner_client, job).content.decode()


def test_a_busy_provider_is_shown_while_the_job_waits(owner_client: Client, owner) -> None:
    mashup = remote_job(owner)
    jobs.claim_submission(mashup.pk)
    jobs.release_submission(mashup.pk, MESSAGES[429])
    html = page(owner_client, mashup).content.decode()
    assert "out of credits or busy; retrying" in html


def test_a_stranger_cannot_see_or_poll_the_page(stranger_client: Client, job) -> None:
    assert page(stranger_client, job).status_code == 404
    # A poll is answered as for a mashup that is not there: nothing of this one.
    polled = page(stranger_client, job, **HTMX)
    assert polled.status_code == 286
    assert "no longer here" in polled.content.decode()
    assert job.display_title not in polled.content.decode()


def test_a_failure_that_would_repeat_is_not_put_back_for_its_owner_even_if_asked_in_a_race(
    owner,
) -> None:
    # The page and the view refuse it; the row lock decides between a run failing for
    # good and a retry posted meanwhile.
    mashup = MashupFactory(owner=owner, status=Status.FAILED, error_final=True)
    assert not jobs.retry_failed(mashup.pk, final_too=False)
    assert jobs.retry_failed(mashup.pk, final_too=True)  # staff, once the engine is mended
