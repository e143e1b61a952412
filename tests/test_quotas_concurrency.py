"""The limits under concurrency (issue 12): parallel posts from one person, as several web
workers would serve them, each thread with its own database connection; "Try again"
counts as a start; a retry soon after a failure does not collide with its own polls.

Run on SQLite (a file database: the ``worker`` marker, as threads cannot share the
in-memory one safely) and on PostgreSQL (``DATABASE_URL=postgres://...``)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_q.models import Schedule

from mashup_site.mashups import jobs, runner, tasks
from mashup_site.mashups.models import Mashup, Start, Status
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
    url = reverse("mashups:tempo", args=[mashup.pk])
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
