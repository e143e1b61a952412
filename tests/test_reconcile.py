"""The reconciler: no job is lost, whatever the broker (issue 12).

Jobs here run nothing; the reconciler's decisions are checked against the real brokers
(django-q2's ORM queue in the test database, a real redis-server that a test cuts). Killed
workers are in ``test_worker_faults.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django_q.brokers import get_broker
from django_q.models import OrmQ

from mashup_site.mashups import jobs, runner, tasks
from mashup_site.mashups.models import Mashup, Status
from tests.factories import SIMPLE_POST, MashupFactory
from tests.fakes.jobs import remote_job

pytestmark = pytest.mark.django_db

LEASE = timedelta(seconds=600)


def reload(mashup: Mashup) -> Mashup:
    return Mashup.objects.get(pk=mashup.pk)


def queue_size() -> int:
    return int(get_broker().queue_size() or 0)


def test_a_queued_job_no_worker_took_is_handed_to_the_broker_again(owner, clock, settings):
    settings.MASHUP_UNCLAIMED_MINUTES = 5
    mashup = MashupFactory(owner=owner, provider="local")
    assert tasks.hand_to_broker(mashup.pk)
    OrmQ.objects.all().delete()  # what a broker that lost the task leaves
    assert tasks.reconcile()["run"] == 0  # within the bound: a busy queue is not a lost job
    clock.advance(5 * 60 + 1)
    assert tasks.reconcile()["run"] == 1
    assert queue_size() == 1
    assert reload(mashup).enqueued_at == clock.now
    assert tasks.reconcile()["run"] == 0  # handed once per bound, not every minute


def test_a_job_past_its_give_up_time_fails_though_no_worker_ever_took_it(owner, clock, settings):
    settings.MASHUP_GIVE_UP_MINUTES = 30
    mashup = MashupFactory(owner=owner, provider="local")
    clock.advance(30 * 60 + 1)
    assert tasks.reconcile()["timed_out"] == 1
    failed = reload(mashup)
    assert failed.status == Status.FAILED and failed.error_message.startswith("Timed out")


def test_an_inline_job_whose_worker_died_is_freed_and_handed_again(owner, clock, settings):
    mashup = MashupFactory(owner=owner, provider="local")
    assert jobs.claim(mashup.pk, lease=LEASE)
    clock.advance(60)
    assert tasks.reconcile()["run"] == 0  # its worker may still be at work
    clock.advance(LEASE.total_seconds())
    assert tasks.reconcile()["run"] == 1
    assert reload(mashup).claimed_at is None
    assert jobs.claim(mashup.pk, lease=LEASE)  # the next delivery takes it at once
    assert reload(mashup).attempts == 2


def test_a_stopping_worker_hands_its_jobs_back_at_once_without_counting_a_death(
    owner, clock, settings
):
    mine = MashupFactory(owner=owner, provider="local")
    other = MashupFactory(owner=owner, provider="local")
    assert jobs.claim(mine.pk, lease=LEASE, by="host:1:a")
    assert jobs.claim(other.pk, lease=LEASE, by="host:2:b")
    OrmQ.objects.all().delete()

    assert tasks.hand_back("host:1:a") == [mine.pk]

    handed = reload(mine)
    assert (handed.claimed_at, handed.claimed_by, handed.attempts) == (None, "", 0)
    assert handed.enqueued_at == clock.now and queue_size() == 1  # delivered again now
    assert reload(other).claimed_by == "host:2:b"  # another worker's job is its own
    assert jobs.claim(mine.pk, lease=LEASE, by="host:3:c")  # the next worker takes it


def test_a_handed_back_job_the_broker_did_not_take_is_handed_again_later(
    owner, clock, settings, redis_broker
):
    settings.MASHUP_UNCLAIMED_MINUTES = 5
    mashup = MashupFactory(owner=owner, provider="local")
    assert jobs.claim(mashup.pk, lease=LEASE, by="host:1:a")
    redis_broker.stop()  # the broker is down as the worker stops
    assert tasks.hand_back("host:1:a") == [mashup.pk]
    redis_broker.start()
    clock.advance(5 * 60 + 1)
    assert tasks.reconcile()["run"] == 1  # not left to the lease: it was freed already
    assert queue_size() == 1


def test_a_job_whose_workers_keep_dying_fails_with_a_clear_message(owner, settings, clock):
    settings.MASHUP_MAX_ATTEMPTS = 3
    mashup = MashupFactory(owner=owner, provider="local")
    for _ in range(3):
        assert jobs.claim(mashup.pk, lease=LEASE)
        clock.advance(LEASE.total_seconds() + 1)  # the worker died: its lease lapses
    assert not jobs.claim(mashup.pk, lease=LEASE)
    failed = reload(mashup)
    assert failed.status == Status.FAILED
    assert failed.error_message.startswith("The worker making this mashup stopped 3 times")


def test_a_retried_job_gets_a_fresh_deadline_and_attempts(owner, clock, settings):
    settings.MASHUP_GIVE_UP_MINUTES = 30
    mashup = MashupFactory(owner=owner, provider="local")
    jobs.claim(mashup.pk, lease=LEASE)
    jobs.fail(mashup.pk, None, "broke")
    clock.advance(3600)
    assert jobs.retry_failed(mashup.pk)
    again = reload(mashup)
    assert again.attempts == 0 and again.queued_at == clock.now
    assert tasks.reconcile()["timed_out"] == 0


def test_a_submitted_remote_job_is_polled_again_never_submitted_again(owner, clock):
    mashup = remote_job(owner)
    assert jobs.claim_submission(mashup.pk)  # the worker died after the claim: no task id
    clock.advance(LEASE.total_seconds() + 1)
    found = tasks.reconcile()
    assert (found["run"], found["poll"]) == (0, 1)
    assert not jobs.claim_submission(mashup.pk)


def test_a_broker_outage_leaves_a_queued_job_the_reconciler_hands_later(
    owner, redis_broker, clock, settings
):
    mashup = MashupFactory(owner=owner, provider="local")
    redis_broker.stop()
    assert tasks.hand_to_broker(mashup.pk) is False  # no exception reaches the caller
    assert reload(mashup).enqueued_at is None and reload(mashup).status == Status.QUEUED
    redis_broker.start()
    clock.advance(settings.MASHUP_UNCLAIMED_MINUTES * 60 + 1)
    assert tasks.reconcile()["run"] == 1
    assert queue_size() == 1  # in the real redis-server


def test_submitting_while_the_broker_is_down_saves_nothing_and_says_try_again(
    owner_client, owner, redis_broker, django_capture_on_commit_callbacks
):
    redis_broker.stop()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("mashups:create"), SIMPLE_POST)
    assert response.status_code == 503
    html = response.content.decode()
    assert "try again in a minute" in html
    assert "Rock meets reggae" in html  # what was typed is kept
    assert not Mashup.objects.filter(owner=owner).exists()


def test_the_reconciler_schedule_exists_after_migrate():
    from django_q.models import Schedule

    row = Schedule.objects.get(name=tasks.RECONCILE_SCHEDULE)
    assert row.func == "mashup_site.mashups.tasks.reconcile"
    assert row.schedule_type == Schedule.MINUTES and row.minutes == 1


def test_recover_reports_nothing_for_healthy_jobs(owner, clock):
    MashupFactory(owner=owner, provider="local")
    assert runner.recover(clock.now) == runner.Recovery(run=[], poll=[], timed_out=0)
