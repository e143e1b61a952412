"""Retention: what people are told before a mashup expires, and the sweeper that expires it.

Every time-dependent test uses a fixed time (``NOW``), passed in or set on the shared
``clock`` (time-machine); no test reads the wall clock for a decision.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from mashup_site.mashups import jobs, retention, storage
from mashup_site.mashups.models import KeptFile, Level, Mashup, Source, Status, Track, expiry_of
from mashup_site.mashups.storage import store_content_addressed
from tests.audiofiles import write_tone
from tests.factories import MashupFactory, finished_mashup

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def clock(clock):
    """The shared clock, frozen at NOW; tests may move it by assigning ``clock.now``."""
    clock.now = NOW
    return clock


def expiring_in(remaining: timedelta, **kwargs: object) -> Mashup:
    return MashupFactory.build(status=Status.COMPLETE, expires_at=NOW + remaining, **kwargs)


# --- what people are told ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remaining", "level"),
    [
        (3 * DAY + SECOND, Level.OK),  # just before the warning threshold
        (3 * DAY, Level.WARNING),  # at it
        (3 * DAY - SECOND, Level.WARNING),  # after it
        (DAY + SECOND, Level.WARNING),
        (DAY, Level.URGENT),
        (DAY - SECOND, Level.URGENT),
        (SECOND, Level.URGENT),
        (timedelta(0), Level.EXPIRED),
        (-SECOND, Level.EXPIRED),
    ],
)
def test_it_grades_expiry_at_each_threshold(remaining: timedelta, level: Level) -> None:
    assert expiry_of(expiring_in(remaining), NOW).level == level


@pytest.mark.parametrize(
    ("remaining", "message"),
    [
        (14 * DAY - 5 * SECOND, "expires in 14 days"),
        (5 * DAY, "expires in 5 days"),
        (4 * DAY + 11 * HOUR, "expires in 4 days"),
        (2 * DAY, "expires in 2 days"),
        (47 * HOUR + 59 * 60 * SECOND, "expires in 47 hours"),
        (DAY, "expires in 24 hours: download it now"),
        (7 * HOUR + 59 * 60 * SECOND, "expires in 7 hours: download it now"),
        (HOUR, "expires in 1 hour: download it now"),
        (59 * 60 * SECOND, "expires in 59 minutes: download it now"),
        (SECOND, "expires in 1 minute: download it now"),
        (-SECOND, "expired: its audio has been deleted"),
    ],
)
def test_it_says_how_long_is_left(remaining: timedelta, message: str) -> None:
    assert expiry_of(expiring_in(remaining), NOW).message == message


def test_it_does_not_expire_an_unfinished_or_failed_mashup() -> None:
    for status in (Status.QUEUED, Status.FIRST, Status.FAILED):
        expiry = expiry_of(MashupFactory.build(status=status), NOW)
        assert expiry.level == Level.NONE
        assert expiry.message == ""


def test_it_never_expires_what_staff_keep_forever() -> None:
    mashup = expiring_in(-DAY, keep_forever=True)
    assert expiry_of(mashup, NOW).level == Level.KEPT


def test_a_swept_mashup_is_expired_whatever_its_date() -> None:
    mashup = MashupFactory.build(status=Status.EXPIRED, expires_at=NOW + DAY)
    assert expiry_of(mashup, NOW).is_expired


def test_the_model_reads_the_clock(clock) -> None:
    mashup = expiring_in(7 * HOUR)
    assert mashup.expiry.message == "expires in 7 hours: download it now"
    clock.now = NOW + 8 * HOUR
    assert mashup.expiry.is_expired


def test_it_lists_what_expires_within_a_day_soonest_first(owner) -> None:
    later = MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=NOW + 20 * HOUR)
    sooner = MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=NOW + 2 * HOUR)
    MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=NOW + DAY + SECOND)
    MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=NOW - SECOND)
    MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=NOW + HOUR, keep_forever=True)
    found = retention.expiring_within_a_day(Mashup.objects.owned_by(owner), NOW)
    assert list(found) == [sooner, later]


# --- the sweeper ------------------------------------------------------------------------------


def stored_names(mashup: Mashup) -> list[str]:
    names = []
    for track in Track.objects.filter(mashup=mashup):
        names += [track.audio.name, track.image.name]
    return [name for name in names if name]


def test_the_sweeper_deletes_files_and_marks_rows_expired(
    clock, owner, django_capture_on_commit_callbacks
) -> None:
    mashup = finished_mashup(owner=owner, expires_at=NOW - SECOND)
    names = stored_names(mashup)
    assert names and all(default_storage.exists(name) for name in names)

    with django_capture_on_commit_callbacks(execute=True):  # files go on commit
        assert retention.sweep() == 1

    mashup.refresh_from_db()
    assert mashup.status == Status.EXPIRED
    assert not any(default_storage.exists(name) for name in names)
    for track in mashup.tracks.all():
        assert not track.play_url and not track.download_url and not track.cover_url
    assert mashup.tracks.count() == 2  # the details stay


@pytest.mark.parametrize("how", ["expire", "purge"])
def test_an_expiry_rolled_back_keeps_the_mashup_and_its_files(
    clock, owner, how, django_capture_on_commit_callbacks
) -> None:
    # The files went at once, inside the expiry's transaction: a rollback after that (the
    # database failing before the commit) left a live mashup whose player, downloads and
    # songs pointed at nothing.
    mashup = finished_mashup(owner=owner, expires_at=NOW - SECOND)
    song = store_content_addressed(ContentFile(b"only hers", name="a.wav"), prefix="sources")
    Source.objects.filter(mashup=mashup, position=1).update(file=song.name)
    names = [*stored_names(mashup), song.name]
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(DatabaseError),
        transaction.atomic(),
    ):
        if how == "expire":
            assert jobs.expire(mashup.pk)
        else:
            jobs.purge_now(mashup)
        raise DatabaseError("the connection dropped before the commit")
    assert callbacks == []  # nothing is left to delete the files once the test commits
    mashup.refresh_from_db()
    assert mashup.status == Status.COMPLETE
    assert all(default_storage.exists(name) for name in names)


def test_the_sweeper_never_touches_what_has_not_expired(clock, owner) -> None:
    fresh = finished_mashup(owner=owner, expires_at=NOW + SECOND)
    kept = finished_mashup(owner=owner, expires_at=NOW - DAY, keep_forever=True)
    running = MashupFactory(owner=owner, status=Status.FIRST)
    failed = MashupFactory(owner=owner, status=Status.FAILED)

    assert retention.sweep() == 0

    for mashup in (fresh, kept, running, failed):
        before = mashup.status
        mashup.refresh_from_db()
        assert mashup.status == before
    for mashup in (fresh, kept):
        assert all(default_storage.exists(name) for name in stored_names(mashup))


def test_the_sweeper_expires_at_the_exact_moment(clock, owner) -> None:
    mashup = finished_mashup(owner=owner, files=False, expires_at=NOW)
    assert retention.sweep() == 1
    mashup.refresh_from_db()
    assert mashup.status == Status.EXPIRED


def test_the_sweeper_works_in_bounded_batches_oldest_first(clock, owner) -> None:
    due = [
        MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=NOW - n * HOUR)
        for n in range(1, 6)
    ]
    assert retention.sweep(batch_size=2, max_batches=1) == 2
    expired = set(Mashup.objects.filter(status=Status.EXPIRED))
    assert expired == {due[4], due[3]}  # the longest overdue first

    assert retention.sweep(batch_size=2, max_batches=2) == 3
    assert Mashup.objects.filter(status=Status.EXPIRED).count() == 5
    assert retention.sweep(batch_size=2) == 0


def test_the_sweeper_skips_a_row_extended_after_it_was_picked(clock, owner) -> None:
    mashup = MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=NOW - HOUR)
    Mashup.objects.filter(pk=mashup.pk).update(expires_at=NOW + DAY)  # staff, meanwhile
    assert jobs.expire(mashup.pk) is False
    mashup.refresh_from_db()
    assert mashup.status == Status.COMPLETE


def test_expiring_keeps_an_upload_another_live_mashup_shares(
    clock, owner, django_capture_on_commit_callbacks
) -> None:
    name = default_storage.save("sources/ab/cd/abcd.mp3", ContentFile(b"song"))
    only_mine = default_storage.save("sources/ef/gh/efgh.mp3", ContentFile(b"other"))
    old = MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=NOW - HOUR)
    new = MashupFactory(owner=owner, status=Status.QUEUED)
    Source.objects.create(mashup=old, position=1, file=name)
    Source.objects.create(mashup=old, position=2, file=only_mine)
    Source.objects.create(mashup=new, position=1, file=name)

    with django_capture_on_commit_callbacks(execute=True):  # files go on commit
        retention.sweep()

    assert default_storage.exists(name)
    assert not default_storage.exists(only_mine)


# --- files no row points to ------------------------------------------------------------------


def test_the_orphan_sweeper_deletes_old_files_no_row_points_to_and_nothing_else(owner) -> None:
    # What a delete or an expiry left when the storage failed after its rows were gone
    # (logged, "storage: could not delete"), or a job killed between storing a file and
    # recording it: nothing looked for such files.
    def stored(content: bytes) -> str:
        with transaction.atomic():
            return store_content_addressed(
                ContentFile(content, name="a.wav"), prefix="sources"
            ).name

    orphan, used, kept, expired_only = (stored(x) for x in (b"left", b"used", b"kept", b"old"))
    Source.objects.create(mashup=MashupFactory(owner=owner), position=1, file=used)
    KeptFile.objects.note(kept)  # a refused submit's token may still bring it back
    gone = MashupFactory(owner=owner, status=Status.EXPIRED)
    Source.objects.create(mashup=gone, position=1, file=expired_only)
    finished = finished_mashup(owner=owner)
    stray = default_storage.save("tracks/999/mashup-1.mp3", ContentFile(b"ID3 stray"))
    now = timezone.now()

    assert retention.sweep_orphans(at=now) == 0  # young: a job may be about to record them
    assert retention.sweep_orphans(at=now + DAY + HOUR) == 3

    assert not any(default_storage.exists(name) for name in (orphan, expired_only, stray))
    assert all(default_storage.exists(name) for name in (used, kept, *stored_names(finished)))


def test_the_orphan_sweeper_finds_nothing_in_an_empty_storage() -> None:
    assert retention.sweep_orphans() == 0


# --- staff: extend, keep forever, purge -------------------------------------------------------


def test_extending_adds_the_retention_period_to_the_later_of_now_and_expiry(
    clock, owner, settings
) -> None:
    settings.RETENTION_DAYS = 14
    soon = MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=NOW + DAY)
    overdue = MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=NOW - DAY)
    gone = MashupFactory(owner=owner, status=Status.EXPIRED, expires_at=NOW - DAY)

    assert retention.extend(Mashup.objects.all()) == 2

    for mashup in (soon, overdue, gone):
        mashup.refresh_from_db()
    assert soon.expires_at == NOW + 15 * DAY
    assert overdue.expires_at == NOW + 14 * DAY
    assert gone.expires_at == NOW - DAY  # nothing left to keep
    assert retention.sweep() == 0


def test_keeping_forever_protects_from_the_sweeper(clock, owner) -> None:
    mashup = finished_mashup(owner=owner, expires_at=NOW + HOUR)
    assert retention.keep_forever(Mashup.objects.filter(pk=mashup.pk)) == 1
    clock.now = NOW + 30 * DAY
    assert retention.sweep() == 0
    mashup.refresh_from_db()
    assert mashup.status == Status.COMPLETE
    assert mashup.expiry.level == Level.KEPT
    assert all(default_storage.exists(name) for name in stored_names(mashup))


def test_purging_now_deletes_files_of_a_mashup_that_has_not_expired(
    clock, owner, django_capture_on_commit_callbacks
) -> None:
    mashup = finished_mashup(owner=owner, expires_at=NOW + 10 * DAY, keep_forever=True)
    names = stored_names(mashup)
    with django_capture_on_commit_callbacks(execute=True):  # files go on commit
        jobs.purge_now(mashup)
    mashup.refresh_from_db()
    assert mashup.status == Status.EXPIRED
    assert not mashup.keep_forever
    assert not any(default_storage.exists(name) for name in names)


# --- the schedule -----------------------------------------------------------------------------


def test_migrate_creates_the_sweeper_schedule_once() -> None:
    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)
    schedules = Schedule.objects.filter(name=retention.SCHEDULE_NAME)
    assert schedules.count() == 1
    schedule = schedules.get()
    assert import_string(schedule.func) is retention.sweep  # what the cluster will call
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 15)
    orphans = Schedule.objects.get(name=retention.ORPHANS_SCHEDULE)
    assert import_string(orphans.func) is retention.sweep_orphans
    assert (orphans.schedule_type, orphans.minutes) == (Schedule.MINUTES, 24 * 60)


def test_the_schedule_keeps_what_staff_changed() -> None:
    retention.ensure_schedule()
    Schedule.objects.filter(name=retention.SCHEDULE_NAME).update(minutes=60)
    retention.ensure_schedule()
    assert Schedule.objects.get(name=retention.SCHEDULE_NAME).minutes == 60


# --- failed jobs ------------------------------------------------------------------------------


def failed_mashup_with_uploads(owner, failed_at: datetime) -> Mashup:
    mashup = MashupFactory(
        owner=owner,
        status=Status.FAILED,
        failed_at=failed_at,
        error_message="The provider could not download the source files.",
        expires_at=failed_at + retention_period(),
    )
    for position in (1, 2):
        source = Source(mashup=mashup, position=position, original_name=f"{position}.mp3")
        source.file.save(f"failed-{mashup.pk}-{position}.mp3", ContentFile(b"ID3"), save=True)
    return mashup


def retention_period() -> timedelta:
    from django.conf import settings

    return timedelta(days=settings.RETENTION_DAYS)


def test_a_failure_starts_the_retention_clock_for_its_uploads(clock, owner) -> None:
    mashup = MashupFactory(owner=owner, status=Status.SUBMITTED)
    jobs.fail(mashup.pk, 451, "could not download")
    mashup.refresh_from_db()
    assert mashup.expires_at == NOW + retention_period()
    assert mashup.expiry.level == Level.NONE  # nothing to download: no countdown, no banner
    assert not retention.expiring_within_a_day(Mashup.objects.all(), NOW + retention_period())


def test_the_sweeper_deletes_a_failed_jobs_uploads_after_the_retention_period(
    clock, owner, django_capture_on_commit_callbacks
) -> None:
    mashup = failed_mashup_with_uploads(owner, failed_at=NOW - retention_period() - SECOND)
    uploads = storage.source_files(mashup)
    assert uploads and all(default_storage.exists(name) for name in uploads)

    with django_capture_on_commit_callbacks(execute=True):  # files go on commit
        assert retention.sweep() == 1

    mashup.refresh_from_db()
    assert mashup.status == Status.EXPIRED and mashup.has_failed
    assert not any(default_storage.exists(name) for name in uploads)
    assert mashup.expiry.message == "expired: its uploaded songs have been deleted"


def test_a_failed_job_keeps_its_uploads_for_a_retry_until_then(clock, owner) -> None:
    mashup = failed_mashup_with_uploads(owner, failed_at=NOW - retention_period() + SECOND)
    assert retention.sweep() == 0
    mashup.refresh_from_db()
    assert mashup.status == Status.FAILED
    assert all(default_storage.exists(name) for name in storage.source_files(mashup))


# --- uploads kept for a refused submit ---------------------------------------------------------

CREATE = reverse("mashups:create")


def refused_submit(client, tmp_path, name: str = "kept") -> tuple[str, str]:
    """A create form refused for a missing idea, with one good upload: the upload is kept
    (stored, and a token for it in the form). Returns the token and the stored name."""
    path = tmp_path / f"{name}.mp3"
    write_tone(path, "mp3", seconds=6.0)
    response = client.post(
        CREATE,
        {
            "model": "V5",
            "prompt": "",
            "audio1": SimpleUploadedFile(path.name, path.read_bytes()),
            "url2": "https://example.com/b.mp3",
        },
    )
    assert response.status_code == 422
    token = response.content.decode().split('name="kept1" value="')[1].split('"')[0]
    return token, KeptFile.objects.latest("kept_at").name


def send_again(client, token: str):
    return client.post(
        CREATE,
        {"model": "V5", "prompt": "an idea", "kept1": token, "url2": "https://example.com/b.mp3"},
    )


def test_an_upload_kept_for_a_refused_submit_is_swept_once_its_token_expires(
    clock, owner_client, tmp_path, django_capture_on_commit_callbacks
) -> None:
    token, name = refused_submit(owner_client, tmp_path)
    assert default_storage.exists(name)

    clock.now = NOW + DAY - SECOND  # the token still works: nothing is swept
    with django_capture_on_commit_callbacks(execute=True):
        retention.sweep()
    assert default_storage.exists(name)

    clock.now = NOW + DAY + HOUR + SECOND  # a day and the grace hour later
    with django_capture_on_commit_callbacks(execute=True):
        retention.sweep()
    assert not default_storage.exists(name)
    assert not KeptFile.objects.exists()
    assert send_again(owner_client, token).status_code == 422  # the token is over too
    assert not Mashup.objects.exists()


def test_a_kept_upload_a_job_uses_is_never_swept(
    clock, owner_client, tmp_path, django_capture_on_commit_callbacks
) -> None:
    token, name = refused_submit(owner_client, tmp_path)
    clock.now = NOW + HOUR
    assert send_again(owner_client, token).status_code == 302
    mashup = Mashup.objects.get()

    clock.now = NOW + 2 * DAY
    with django_capture_on_commit_callbacks(execute=True):
        retention.sweep()
    assert not KeptFile.objects.exists()  # the record is done with
    assert default_storage.exists(name)  # the job's song is not
    assert storage.source_files(mashup) == [name]


def test_keeping_the_same_song_again_renews_its_lifetime(
    clock, owner_client, tmp_path, django_capture_on_commit_callbacks
) -> None:
    _first, name = refused_submit(owner_client, tmp_path)
    clock.now = NOW + 20 * HOUR
    second, again = refused_submit(owner_client, tmp_path)  # the same bytes, stored once
    assert again == name and KeptFile.objects.count() == 1

    clock.now = NOW + DAY + 2 * HOUR  # the first token is over, the second is not
    with django_capture_on_commit_callbacks(execute=True):
        retention.sweep()
    assert default_storage.exists(name)
    assert send_again(owner_client, second).status_code == 302


# --- what killed processes leave behind ---------------------------------------------------------


def test_it_deletes_stale_engine_folders_and_upload_files_only(tmp_path, monkeypatch, settings):
    import os
    import tempfile
    import time

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 600}
    now = time.time()
    stale_run = tmp_path / "mashup-12-abcd"
    (stale_run / "stems").mkdir(parents=True)
    (stale_run / "stems" / "vocals.wav").write_bytes(b"RIFF")
    fresh_run = tmp_path / "mashup-13-efgh"
    fresh_run.mkdir()
    stale_upload = tmp_path / "tmpx1y2.upload.mp3"
    stale_upload.write_bytes(b"ID3")
    fresh_upload = tmp_path / "tmpz9.upload.mp3"
    fresh_upload.write_bytes(b"ID3")
    other = tmp_path / "someone-elses"
    other.mkdir()
    for path in (stale_run, stale_upload, other):
        os.utime(path, (now - 7200, now - 7200))
    assert retention.clean_temp(now) == 2
    assert not stale_run.exists() and not stale_upload.exists()
    assert fresh_run.exists() and fresh_upload.exists() and other.exists()
