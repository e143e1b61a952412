"""The job's tasks, run in this process against the fake API over loopback HTTP.

The fake calls back over real HTTP to the live server; django-q2 runs in sync mode, so the
copy task the callback enqueues runs at once; polls are run by ``drive`` at their due times
on a fake clock. Each knob of the fake has a test that the job ends right.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule

from mashup_site.mashups import jobs, runner, tasks
from mashup_site.mashups.models import Mashup, Status
from mashup_site.providers import remote
from mashup_site.providers.base import MESSAGES
from tests.fakes.jobs import drive, remote_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    """The client's back-off waits, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(remote, "default_sleep", waits.append)
    return waits


@pytest.fixture
def app(live_server, settings, fake_api, clock, slept, monkeypatch):
    """The app reachable over loopback, the fake as its provider, django-q2 in sync mode."""
    settings.PUBLIC_BASE_URL = live_server.url
    monkeypatch.setattr(Conf, "SYNC", True)
    return fake_api


@pytest.fixture
def job(owner) -> Mashup:
    return remote_job(owner)


def reload(mashup: Mashup) -> Mashup:
    return Mashup.objects.get(pk=mashup.pk)


FAKE_AUDIO = b""


@pytest.fixture(autouse=True)
def _fake_audio(fake_api_files) -> None:
    global FAKE_AUDIO
    FAKE_AUDIO = fake_api_files[0]


def assert_complete_with_copies(mashup: Mashup) -> None:
    mashup = reload(mashup)
    assert mashup.status == Status.COMPLETE
    tracks = list(mashup.tracks.all())
    assert [t.position for t in tracks] == [1, 2]
    for track in tracks:
        assert track.audio_url and track.audio  # provider URL kept, our copy stored
        assert track.image and track.image_url
        with track.audio.open("rb") as handle:
            assert handle.read(2048) == FAKE_AUDIO[:2048]


def test_it_submits_then_callbacks_complete_the_job(app, job, clock) -> None:
    tasks.run_mashup(job.pk)
    submitted = reload(job)
    assert submitted.status == Status.SUBMITTED
    assert submitted.provider_task_id == app.task.task_id
    assert submitted.submitted_at == clock.now

    clock.advance(3)
    app.deliver()
    assert app.callback_answers == [200, 200, 200]
    done = reload(job)
    assert_complete_with_copies(done)
    assert done.text_at and done.first_at and done.completed_at
    assert done.last_response["data"]["callbackType"] == "complete"
    assert done.provider_requests == 1  # the submit; no poll was due yet
    assert app.file_requests == 4  # two audio files and two covers copied


def test_the_callback_url_carries_the_jobs_token(app, job, live_server) -> None:
    tasks.run_mashup(job.pk)
    assert app.task.payload["callBackUrl"] == f"{live_server.url}/callbacks/{job.callback_token}/"


def test_a_duplicate_enqueue_submits_once(app, job) -> None:
    tasks.run_mashup(job.pk)
    tasks.run_mashup(job.pk)
    assert app.count("submit") == 1


def test_a_crash_between_accept_and_save_does_not_submit_twice(app, job, monkeypatch) -> None:
    """The worker dies after the provider accepted the job, before its task id was saved;
    django-q2 runs the task again: no second submit, and the callback still finishes it."""

    def crash(pk: int, task_id: str) -> None:
        raise SystemExit("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(jobs, "record_task_id", crash)
        with pytest.raises(SystemExit):
            tasks.run_mashup(job.pk)
    tasks.run_mashup(job.pk)  # django-q2's retry
    assert app.count("submit") == 1
    assert reload(job).provider_task_id == ""

    app.deliver()
    done = reload(job)
    assert done.provider_task_id == app.task.task_id  # learnt from the callback
    assert_complete_with_copies(done)


def test_skipped_text_and_first_callbacks(app, job) -> None:
    app.callbacks = ("complete",)
    tasks.run_mashup(job.pk)
    app.deliver()
    done = reload(job)
    assert_complete_with_copies(done)
    assert done.text_at is None and done.first_at is None


def test_duplicate_and_out_of_order_callbacks_never_move_back(app, job) -> None:
    app.callbacks = ("first", "complete", "first", "text", "complete")
    tasks.run_mashup(job.pk)
    app.deliver()
    assert app.callback_answers == [200] * 5
    done = reload(job)
    assert_complete_with_copies(done)
    assert done.text_at is None  # "text" came after "complete": ignored


def test_the_first_track_is_playable_before_the_second(app, job) -> None:
    tasks.run_mashup(job.pk)
    app.deliver(kinds=("text", "first"))
    mashup = reload(job)
    assert mashup.status == Status.FIRST
    first, second = mashup.tracks.all()
    assert first.audio and first.play_url.endswith("/tracks/1/audio/")
    assert not second.audio and second.play_url.endswith("-2-stream.mp3")  # early preview


def test_with_no_callbacks_polling_finishes_the_job(app, job, clock) -> None:
    app.callbacks = ()
    tasks.run_mashup(job.pk)
    done = drive(job.pk, clock)
    assert_complete_with_copies(done)
    assert app.count("record") == 3  # text, first, complete
    assert done.provider_requests == 4
    assert done.text_at < done.first_at < done.completed_at


def test_callbacks_in_camel_case_with_epoch_times(app, job) -> None:
    app.naming, app.create_time, app.task_key = "camel", "epoch", "taskId"
    tasks.run_mashup(job.pk)
    app.deliver()
    done = reload(job)
    assert_complete_with_copies(done)
    assert done.tracks.first().provider_created_at.year == 2026


def test_polls_in_snake_case(app, job, clock) -> None:
    app.callbacks, app.naming = (), "snake"
    tasks.run_mashup(job.pk)
    assert_complete_with_copies(drive(job.pk, clock))


def test_http_200_with_body_code_422_fails_the_job_at_once(app, job) -> None:
    app.script("submit", 200, {"code": 422, "msg": "bad field"})
    tasks.run_mashup(job.pk)
    failed = reload(job)
    assert failed.status == Status.FAILED
    assert (failed.error_code, failed.error_message) == (422, MESSAGES[422])
    assert app.count("submit") == 1


def test_429_with_retry_after_is_waited_for(app, job, slept) -> None:
    app.script("submit", 429, {"code": 429, "msg": "busy"}, {"Retry-After": "4"})
    tasks.run_mashup(job.pk)
    assert slept == [4.0]
    app.deliver()
    assert_complete_with_copies(job)


def test_a_provider_busy_for_long_is_tried_again_by_the_next_poll(app, job, clock) -> None:
    for _ in range(4):  # the client's own retries are used up
        app.script("submit", 429, {"code": 429, "msg": "insufficient credits"})
    tasks.run_mashup(job.pk)
    waiting = reload(job)
    assert waiting.status == Status.SUBMITTED and not waiting.is_final
    assert waiting.error_message == MESSAGES[429]  # shown while it waits
    app.callbacks = ()
    done = drive(job.pk, clock)
    assert app.count("submit") == 5
    assert_complete_with_copies(done)
    assert done.error_message == ""


def test_maintenance_455_while_polling_is_ridden_out(app, job, clock) -> None:
    app.callbacks = ()
    tasks.run_mashup(job.pk)
    for _ in range(8):
        app.script("record", 455, {"code": 455, "msg": "maintenance"})
    assert_complete_with_copies(drive(job.pk, clock))


def test_a_slow_submit_waits_for_the_callback_instead_of_submitting_again(
    app, job, clock, settings
) -> None:
    settings.MASHUP_API_TIMEOUT = 0.3
    app.delay = 0.6
    tasks.run_mashup(job.pk)
    assert reload(job).provider_task_id == ""
    app.wait_for_task()  # the provider did get it, late
    app.delay = 0
    clock.advance(60)
    tasks.poll_mashup(job.pk)  # the watchdog poll: nothing to poll, nothing to resubmit
    assert app.count("submit") == 1
    app.deliver()
    assert_complete_with_copies(job)


def test_slow_polls_are_retried_later(app, job, clock, settings) -> None:
    app.callbacks = ()
    tasks.run_mashup(job.pk)
    settings.MASHUP_API_TIMEOUT = 0.2
    app.delay = 0.4
    clock.advance(10)
    tasks.poll_mashup(job.pk)
    assert reload(job).status == Status.SUBMITTED
    app.delay = 0
    assert_complete_with_copies(drive(job.pk, clock))


@pytest.mark.parametrize("code", [400, 408, 413, 451, 500, 501, 531])
def test_each_failure_callback_fails_the_job_with_its_message(app, job, code) -> None:
    app.fail_code = code
    tasks.run_mashup(job.pk)
    app.deliver(kinds=("error",))
    failed = reload(job)
    assert failed.status == Status.FAILED
    assert (failed.error_code, failed.error_message) == (code, MESSAGES[code])


@pytest.mark.parametrize("code", [413, 531])
def test_a_failure_seen_by_polling_fails_the_job(app, job, clock, code) -> None:
    app.callbacks, app.fail_code = (), code
    tasks.run_mashup(job.pk)
    failed = drive(job.pk, clock)
    assert (failed.status, failed.error_code) == (Status.FAILED, code)
    assert failed.error_message == MESSAGES[code]


def test_results_on_a_private_address_are_not_fetched_by_default(app, job, settings) -> None:
    """The URLs come in callbacks: copying them is guarded like any outside link."""
    settings.MASHUP_RESULTS_ALLOW_PRIVATE = False
    tasks.run_mashup(job.pk)
    app.deliver()
    done = reload(job)
    assert done.status == Status.COMPLETE
    assert all(t.audio_url and not t.audio for t in done.tracks.all())
    assert app.file_requests == 0


def test_a_late_success_does_not_revive_a_failed_job(app, job) -> None:
    tasks.run_mashup(job.pk)
    app.fail_code = 501
    app.deliver(kinds=("error",))
    app.fail_code = None
    app.deliver(kinds=("complete",))
    assert reload(job).status == Status.FAILED


def test_it_gives_up_after_the_configured_minutes(app, job, clock, settings) -> None:
    settings.MASHUP_GIVE_UP_MINUTES = 30
    settings.PUBLIC_BASE_URL = "https://mashups.example.com"  # callbacks could reach us
    app.callbacks, app.stuck = (), True
    tasks.run_mashup(job.pk)
    failed = drive(job.pk, clock)
    assert failed.status == Status.FAILED
    assert failed.error_message.startswith("Timed out")
    assert 29 * 60 < (failed.failed_at - failed.submitted_at).total_seconds() < 32 * 60
    # back-off: about 5 s growing to 60 s, so half an hour costs a few dozen polls
    assert 25 < app.count("record") < 40


def test_without_callbacks_polling_keeps_the_documented_30_second_pace(
    app, job, clock, settings
) -> None:
    """PUBLIC_BASE_URL on loopback: no callback can come, so polls never slow past the
    contract's "about every 30 s" (docs/api-contract.md, "Poll")."""
    settings.MASHUP_GIVE_UP_MINUTES = 30
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    app.callbacks, app.stuck = (), True
    tasks.run_mashup(job.pk)
    failed = drive(job.pk, clock, limit=120)
    assert failed.status == Status.FAILED
    assert 55 < app.count("record") < 70  # half an hour at most every 30 s
    assert runner.next_delay(20, cap=runner.poll_cap()) == 30.0


def test_poll_delays_grow_from_5_to_60_seconds() -> None:
    delays = [runner.next_delay(n) for n in range(10)]
    assert delays[0] == 5.0
    assert delays == sorted(delays)
    assert delays[-1] == 60.0


def test_polling_slows_to_the_fallback_pace_once_callbacks_arrive(app, job, clock) -> None:
    tasks.run_mashup(job.pk)
    clock.advance(5)
    tasks.poll_mashup(job.pk)
    assert (reload(job).next_poll_at - clock.now).total_seconds() == 7.5  # back-off
    app.deliver(kinds=("text",))
    clock.advance(8)
    tasks.poll_mashup(job.pk)
    mashup = reload(job)
    assert mashup.callbacks_received == 1
    assert (mashup.next_poll_at - clock.now).total_seconds() == 60.0


def test_a_duplicate_poll_does_nothing(app, job, clock) -> None:
    app.callbacks = ()
    tasks.run_mashup(job.pk)
    tasks.poll_mashup(job.pk)  # early: the scheduled one is still 5 s away
    assert app.count("record") == 0


def test_the_first_poll_is_scheduled_with_django_q(app, job, clock) -> None:
    tasks.run_mashup(job.pk)
    (poll,) = Schedule.objects.filter(func="mashup_site.mashups.tasks.poll_mashup")
    assert poll.schedule_type == Schedule.ONCE
    assert poll.next_run == reload(job).next_poll_at


def test_the_job_is_enqueued_only_after_commit(job) -> None:
    with transaction.atomic():
        tasks.enqueue_run(job)
        assert OrmQ.objects.count() == 0
    assert OrmQ.objects.count() == 1


def test_django_q_retries_only_after_a_task_may_have_timed_out(settings) -> None:
    assert settings.Q_CLUSTER["retry"] > settings.Q_CLUSTER["timeout"]


# --- source delivery (MASHUP_SOURCE_DELIVERY) -------------------------------------------------


@pytest.fixture
def uploaded_job(owner) -> Mashup:
    return remote_job(owner, uploaded=True)


@pytest.fixture
def behind_nat(app, settings, live_server):
    """A home server: PUBLIC_BASE_URL on loopback (``auto`` uploads); the provider cannot
    call back, so polling follows the job, and it downloads every source like the real one."""
    settings.MASHUP_SOURCE_DELIVERY = "auto"
    settings.MASHUP_UPLOAD_BASE_URL = app.upload_url
    app.callbacks, app.fetch_sources = (), True
    return app


def test_behind_nat_a_job_completes_without_the_provider_ever_reaching_us(
    behind_nat, uploaded_job, clock, live_server
) -> None:
    tasks.run_mashup(uploaded_job.pk)
    done = drive(uploaded_job.pk, clock)
    assert_complete_with_copies(done)
    behind_nat.assert_never_requested(live_server.url)
    assert [u.data for u in behind_nat.uploads] == [b"ID3 source", b"ID3 source"]
    assert behind_nat.task.payload["uploadUrlList"] == [u.download_url for u in behind_nat.uploads]
    assert behind_nat.task.source_statuses == [200, 200]  # it downloaded them from the service
    assert done.source_delivery == "upload"
    assert [s.hosted_url for s in done.sources.all()] == behind_nat.task.payload["uploadUrlList"]


def test_with_link_delivery_the_provider_downloads_our_secret_links(
    app, uploaded_job, settings, live_server
) -> None:
    settings.MASHUP_SOURCE_DELIVERY = "link"
    app.fetch_sources = True
    tasks.run_mashup(uploaded_job.pk)
    assert app.task.source_statuses == [200, 200]
    assert len(app.requests_to(live_server.url + "/sources/")) == 2
    assert app.uploads == []
    app.deliver()
    done = reload(uploaded_job)
    assert_complete_with_copies(done)
    assert done.source_delivery == "link"


def test_a_redelivered_job_uploads_and_submits_once(behind_nat, uploaded_job) -> None:
    tasks.run_mashup(uploaded_job.pk)
    tasks.run_mashup(uploaded_job.pk)
    assert len(behind_nat.uploads) == 2 and behind_nat.count("submit") == 1


def test_a_submission_refused_for_now_reuses_the_uploads(behind_nat, uploaded_job, clock) -> None:
    for _ in range(4):
        behind_nat.script("submit", 429, {"code": 429, "msg": "busy"})
    tasks.run_mashup(uploaded_job.pk)
    assert reload(uploaded_job).error_message == MESSAGES[429]
    done = drive(uploaded_job.pk, clock)
    assert_complete_with_copies(done)
    assert behind_nat.count("submit") == 5
    assert len(behind_nat.uploads) == 2  # the next poll submitted the same copies


def test_an_upload_service_down_for_a_while_is_waited_out(behind_nat, uploaded_job, clock):
    for _ in range(4):
        behind_nat.script("stream-upload", 503, {"code": 503, "msg": "unavailable"})
    tasks.run_mashup(uploaded_job.pk)
    waiting = reload(uploaded_job)
    assert not waiting.is_final
    assert waiting.error_message == "The provider's upload service is busy or down; retrying."
    assert behind_nat.count("submit") == 0  # nothing submitted, nothing charged
    assert_complete_with_copies(drive(uploaded_job.pk, clock))
    assert behind_nat.count("submit") == 1 and len(behind_nat.uploads) == 2


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (401, MESSAGES[401]),
        (402, MESSAGES[402]),
        (413, "One of the songs is too large for the provider's upload service."),
    ],
)
def test_an_upload_refused_for_good_fails_the_job_before_any_submit(
    behind_nat, uploaded_job, code, message
) -> None:
    behind_nat.script("stream-upload", code, {"code": code, "msg": "no"})
    tasks.run_mashup(uploaded_job.pk)
    failed = reload(uploaded_job)
    assert (failed.status, failed.error_code, failed.error_message) == (
        Status.FAILED,
        code,
        message,
    )
    assert behind_nat.count("submit") == 0


def test_a_job_tried_again_reuses_its_uploads_while_the_service_keeps_them(
    behind_nat, uploaded_job, clock
) -> None:
    behind_nat.script("submit", 200, {"code": 501, "msg": "generation failed"})
    tasks.run_mashup(uploaded_job.pk)
    assert reload(uploaded_job).status == Status.FAILED
    clock.advance(3600)
    assert tasks.enqueue_retry(reload(uploaded_job))  # runs at once (django-q2's sync mode)
    assert_complete_with_copies(drive(uploaded_job.pk, clock))
    assert len(behind_nat.uploads) == 2 and behind_nat.count("submit") == 2


def test_uploads_older_than_the_services_keeping_time_are_made_again(
    behind_nat, uploaded_job, clock
) -> None:
    behind_nat.script("submit", 200, {"code": 501, "msg": "generation failed"})
    tasks.run_mashup(uploaded_job.pk)
    clock.advance(runner.HOSTED_FOR.total_seconds() + 60)
    assert tasks.enqueue_retry(reload(uploaded_job))
    assert_complete_with_copies(drive(uploaded_job.pk, clock))
    assert len(behind_nat.uploads) == 4


def test_another_job_with_the_same_song_reuses_its_upload(behind_nat, uploaded_job, owner, clock):
    tasks.run_mashup(uploaded_job.pk)
    drive(uploaded_job.pk, clock)
    again = remote_job(owner, uploaded=True)  # the same bytes, stored once
    tasks.run_mashup(again.pk)
    assert_complete_with_copies(drive(again.pk, clock))
    assert len(behind_nat.uploads) == 2


def test_links_the_provider_refuses_go_through_the_url_upload(behind_nat, job, clock) -> None:
    behind_nat.refuse_links = True
    tasks.run_mashup(job.pk)
    done = drive(job.pk, clock)
    assert_complete_with_copies(done)
    assert [u.endpoint for u in behind_nat.uploads] == ["url-upload", "url-upload"]
    assert [u.file_url for u in behind_nat.uploads] == [s.url for s in done.sources.all()]
    assert behind_nat.count("submit") == 2
    assert done.source_delivery == "upload"
