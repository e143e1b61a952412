"""Per-person limits: a job over a limit is a clear message on the create page, never queued."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from mashup_site.mashups import quotas
from mashup_site.mashups.models import Mashup, Start, Status
from tests.factories import SIMPLE_POST, MashupFactory

pytestmark = pytest.mark.django_db

CREATE = reverse("mashups:create")


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.MASHUP_MAX_ACTIVE_PER_USER = 2
    settings.MASHUP_MAX_PER_DAY = 3


def submit(client: Client, django_capture_on_commit_callbacks) -> tuple[int, str]:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CREATE, SIMPLE_POST)
    return response.status_code, response.content.decode()


def test_it_queues_a_job_under_the_limits(
    owner_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    MashupFactory(owner=owner, status=Status.QUEUED)
    status, _ = submit(owner_client, django_capture_on_commit_callbacks)
    assert status == 302
    assert Mashup.objects.filter(owner=owner).count() == 2
    assert OrmQ.objects.count() == 1


def test_it_refuses_a_job_over_the_active_limit_with_a_form_error(
    owner_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    MashupFactory(owner=owner, status=Status.QUEUED)
    MashupFactory(owner=owner, status=Status.FIRST)
    status, html = submit(owner_client, django_capture_on_commit_callbacks)
    assert status == 422
    assert "You already have 2 mashups in progress, the most you can run at once." in html
    assert 'class="form-errors"' in html
    assert "Rock meets reggae" in html  # what was typed is kept
    assert Mashup.objects.filter(owner=owner).count() == 2
    assert OrmQ.objects.count() == 0  # nothing queued


def test_finished_jobs_do_not_count_as_active(owner) -> None:
    for status in (Status.COMPLETE, Status.FAILED, Status.EXPIRED, Status.COMPLETE):
        MashupFactory(owner=owner, status=status)
    MashupFactory(owner=owner, status=Status.ANALYSED)
    assert quotas.over_active_limit(owner.pk) == ""


def test_it_refuses_a_job_over_the_daily_limit_and_says_when(
    owner_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    now = timezone.now()
    made = [MashupFactory(owner=owner, status=Status.COMPLETE) for _ in range(3)]
    # Three starts in the last 24 hours.
    for hours, mashup in zip((20, 10, 1), made, strict=True):
        Start.objects.create(owner=owner, mashup=mashup, at=now - timedelta(hours=hours))
    status, html = submit(owner_client, django_capture_on_commit_callbacks)
    assert status == 422
    freed = timezone.localtime(now - timedelta(hours=20) + timedelta(hours=24))
    assert "You have made 3 mashups in the last 24 hours, the daily limit." in html
    assert f"You can start another at {freed:%H:%M}." in html
    assert OrmQ.objects.count() == 0


@pytest.mark.parametrize("limit", ["active", "daily"])
def test_a_person_at_a_limit_is_told_on_the_empty_form_before_choosing_songs(
    owner_client: Client, owner, limit: str
) -> None:
    # The refusal came only once two songs had been uploaded.
    for _ in range(3 if limit == "daily" else 2):
        mashup = MashupFactory(
            owner=owner, status=Status.QUEUED if limit == "active" else Status.COMPLETE
        )
        Start.objects.create(owner=owner, mashup=mashup, at=timezone.now())
    html = owner_client.get(CREATE).content.decode()
    said = "the most you can run at once" if limit == "active" else "the daily limit"
    assert 'class="notice notice-warning quota-notice"' in html and said in html


def test_a_person_under_the_limits_sees_no_such_notice(owner_client: Client) -> None:
    assert "quota-notice" not in owner_client.get(CREATE).content.decode()


def test_jobs_older_than_a_day_do_not_count(owner) -> None:
    now = timezone.now()
    for _ in range(3):
        mashup = MashupFactory(owner=owner, status=Status.COMPLETE)
        Start.objects.create(owner=owner, mashup=mashup, at=now - timedelta(hours=25))
    assert quotas.over_daily_limit(owner.pk, now) == ""


def test_other_peoples_jobs_do_not_count(owner, stranger) -> None:
    for _ in range(3):
        MashupFactory(owner=stranger, status=Status.QUEUED)
    assert quotas.refusal(owner.pk) == ""
    assert quotas.refusal(stranger.pk) != ""
