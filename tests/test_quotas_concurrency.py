"""The limits under concurrency (issue 12): parallel posts from one person, as several web
workers would serve them, each thread with its own database connection; "Try again"
counts as a start; a retry soon after a failure does not collide with its own polls; a
mashup deleted while it is made again; a song submitted again while its last mashup is
deleted.

Run on SQLite by ``make test`` (a file database: the ``worker`` marker, as threads cannot
share the in-memory one safely) and on PostgreSQL by ``make test-postgres`` (CI runs
both), whose row locks let transactions interleave where SQLite serializes writers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django_q.models import Schedule

from mashup_site.mashups import jobs, runner, storage, tasks
from mashup_site.mashups.models import Mashup, Source, Start, Status
from tests.factories import SIMPLE_POST, MashupFactory, mashup_with_sources
from tests.fakes.jobs import remote_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

CREATE = reverse("mashups:create")
POSTS = 6


def parallel_posts(user, count: int, *, url: str = CREATE, data: object = SIMPLE_POST) -> list[int]:
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def post() -> None:
        client = Client()
        client.force_login(user)
        barrier.wait()
        try:
            statuses.append(client.post(url, data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def test_parallel_half_a_beat_over_posts_make_it_again_once(owner) -> None:
    mashup = mashup_with_sources(owner=owner, provider="local", status=Status.COMPLETE)
    url = reverse("mashups:offbeat", args=[mashup.pk])
    statuses = parallel_posts(owner, POSTS, url=url, data={})
    assert statuses == [302] * POSTS
    remade = Mashup.objects.get(remade_from=mashup)  # one, and every post followed it
    assert Start.objects.filter(mashup=remade).count() == 1
    assert Start.objects.filter(owner=owner).count() == 1


def test_parallel_tempo_posts_make_it_again_once(owner) -> None:
    mashup = mashup_with_sources(owner=owner, provider="local", status=Status.COMPLETE)
    url = reverse("mashups:given", args=[mashup.pk])
    statuses = parallel_posts(owner, POSTS, url=url, data={"tempo_1": "176"})
    assert statuses == [302] * POSTS
    remade = Mashup.objects.get(remade_from=mashup)
    assert [s.tempo_given for s in remade.sources.all()] == [176.0, None]
    assert Start.objects.filter(owner=owner).count() == 1


@pytest.mark.parametrize("round_", range(3))
def test_parallel_posts_never_pass_the_active_limit(owner, settings, round_) -> None:
    settings.MASHUP_MAX_ACTIVE_PER_USER = 2
    statuses = parallel_posts(owner, POSTS)
    assert sorted(statuses) == [302, 302] + [422] * (POSTS - 2)
    assert Mashup.objects.filter(owner=owner).count() == 2


def test_parallel_posts_never_pass_the_daily_limit(owner, settings) -> None:
    settings.MASHUP_MAX_ACTIVE_PER_USER = 10
    settings.MASHUP_MAX_PER_DAY = 3
    statuses = parallel_posts(owner, POSTS)
    assert statuses.count(302) == 3
    assert Mashup.objects.filter(owner=owner).count() == 3
    assert Start.objects.filter(owner=owner).count() == 3


def test_try_again_counts_against_the_daily_limit(owner, owner_client, settings) -> None:
    settings.MASHUP_MAX_PER_DAY = 2
    failed = MashupFactory(owner=owner, status=Status.FAILED)
    Start.objects.create(owner=owner, mashup=failed)
    response = owner_client.post(reverse("mashups:retry", args=[failed.pk]), follow=True)
    assert "Trying again" in response.content.decode()
    jobs.fail(failed.pk, None, "broke again")
    response = owner_client.post(reverse("mashups:retry", args=[failed.pk]), follow=True)
    assert "the daily limit" in response.content.decode()
    assert Mashup.objects.get(pk=failed.pk).status == Status.FAILED
    assert Start.objects.filter(owner=owner).count() == 2


def test_a_retry_soon_after_a_failure_does_not_collide_with_its_own_polls(owner) -> None:
    mashup = remote_job(owner)
    assert jobs.claim_submission(mashup.pk)
    runner.schedule_poll(mashup.pk, 5.0)  # the failed run's pending poll: mashup-<pk>-poll-1
    jobs.fail(mashup.pk, 500, "The provider failed.")
    assert tasks.enqueue_retry(Mashup.objects.get(pk=mashup.pk), by_owner=True)
    assert jobs.claim_submission(mashup.pk)
    runner.schedule_poll(mashup.pk, 5.0)  # the new run's first poll: the same name
    assert Schedule.objects.filter(name=f"mashup-{mashup.pk}-poll-1").count() == 1


def _blocked_on_a_lock(timeout: float = 10.0) -> None:
    """Wait until another connection waits for a lock (PostgreSQL: ``pg_locks``, which,
    unlike ``pg_stat_activity``, is not a snapshot frozen for the transaction); on SQLite,
    whose IMMEDIATE transactions wait at BEGIN, give the other thread a moment to get there."""
    if connection.vendor != "postgresql":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(  # another connection of this test's database waits
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid() "
                "AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("no connection ever waited for a lock")


def run_together(*steps: Callable[[], None]) -> None:
    """Run each step in a thread of its own, with its own database connection."""

    def run(step: Callable[[], None]) -> None:
        try:
            step()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def test_deleting_a_mashup_while_it_is_made_again_keeps_the_songs_the_remake_needs(owner) -> None:
    """The remake holds the finished mashup's row while it copies the songs; a delete in
    another tab waits for it, and looks at which uploads are shared only then."""
    mashup = mashup_with_sources(owner=owner, provider="local", status=Status.COMPLETE)
    upload = default_storage.save("sources/aa/bb/song.mp3", ContentFile(b"song"))
    Source.objects.filter(mashup=mashup).update(file=upload, url="")
    remade, deleting = threading.Event(), threading.Event()

    def remake() -> None:
        with transaction.atomic():
            jobs.remake(mashup.pk, backing_offbeat=False, given=(jobs.Given(120.0), jobs.Given()))
            remade.set()
            deleting.wait(10)
            _blocked_on_a_lock()  # the delete waits for this transaction

    def delete() -> None:
        remade.wait(10)
        deleting.set()
        storage.delete_mashup(Mashup.objects.get(pk=mashup.pk))

    run_together(remake, delete)
    copy = Mashup.objects.get(owner=owner)  # the first one is deleted
    assert copy.pk != mashup.pk
    assert storage.missing_uploads(copy) == []


def test_a_song_submitted_again_while_its_last_mashup_is_deleted_is_kept(owner) -> None:
    """Uploads are stored once per content. A new job finds the song already stored and
    holds the upload's lock until its rows commit; a delete of the last mashup that used
    the song, in another tab, waits for that lock before deleting the file, and then sees
    the new job using it."""
    data = b"RIFF" + b"\x03" * 5000
    with transaction.atomic():
        song = storage.store_content_addressed(ContentFile(data, name="a.wav"), prefix="sources")
        doomed = MashupFactory(owner=owner)
        Source.objects.create(mashup=doomed, position=1, file=song.name)
    stored, made = threading.Event(), []

    def submit() -> None:
        with transaction.atomic():
            again = storage.store_content_addressed(
                ContentFile(data, name="b.wav"), prefix="sources"
            )
            stored.set()
            _blocked_on_a_lock()  # the delete waits for this transaction
            fresh = MashupFactory(owner=owner)
            Source.objects.create(mashup=fresh, position=1, file=again.name)
        made.append(fresh.pk)

    def delete() -> None:
        stored.wait(10)
        storage.delete_mashup(Mashup.objects.get(pk=doomed.pk))

    run_together(submit, delete)
    assert not Mashup.objects.filter(pk=doomed.pk).exists()
    assert len(made) == 1
    assert storage.missing_uploads(Mashup.objects.get(pk=made[0])) == []
