"""Door: per-person limits (mashups/quotas.py), which protect the provider's credits. A
person cannot start more jobs than the limits allow by the back doors: retrying, posting
fields the form does not show, or acting on someone else's jobs. (Request sizes and file
counts are the uploads door's.)"""

from __future__ import annotations

import pytest
from django.test import Client
from django_q.models import OrmQ

from mashup_site.mashups.models import Mashup, Start, Status
from tests.factories import SIMPLE_POST, MashupFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.MASHUP_MAX_ACTIVE_PER_USER = 1
    settings.MASHUP_MAX_PER_DAY = 2


def test_a_retry_over_the_active_limit_is_refused(
    owner_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    MashupFactory(owner=owner, status=Status.SUBMITTED)
    failed = MashupFactory(owner=owner, status=Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/mashups/{failed.pk}/retry/")
    assert Mashup.objects.get(pk=failed.pk).status == Status.FAILED
    assert OrmQ.objects.count() == 0


def test_a_stranger_cannot_retry_or_delete_someone_elses_job(stranger_client, owner) -> None:
    failed = MashupFactory(owner=owner, status=Status.FAILED)
    assert stranger_client.post(f"/mashups/{failed.pk}/retry/").status_code == 404
    assert stranger_client.post(f"/mashups/{failed.pk}/delete/").status_code == 404
    assert Mashup.objects.get(pk=failed.pk).status == Status.FAILED


def test_a_post_cannot_choose_its_provider_owner_or_status(
    owner_client: Client, owner, stranger, settings
) -> None:
    settings.MASHUP_PROVIDER = "local"
    extra = {"provider": "remote", "owner": stranger.pk, "status": Status.COMPLETE}
    response = owner_client.post("/mashups/new/", {**SIMPLE_POST, **extra})
    assert response.status_code == 302
    mashup = Mashup.objects.get()
    assert (mashup.provider, mashup.owner, mashup.status) == ("local", owner, Status.QUEUED)


def started(owner, status: Status) -> Mashup:
    """A job as the create form leaves it: the mashup and its start (quotas.start)."""
    mashup = MashupFactory(owner=owner, status=status)
    Start.objects.create(owner=owner, mashup=mashup)
    return mashup


def test_the_daily_limit_holds_against_a_hand_made_post(owner_client: Client, owner) -> None:
    started(owner, Status.COMPLETE)
    started(owner, Status.FAILED)
    response = owner_client.post("/mashups/new/", SIMPLE_POST)
    assert response.status_code == 422
    assert Mashup.objects.filter(owner=owner).count() == 2


def test_deleting_todays_mashups_does_not_reset_the_daily_limit(
    owner_client: Client, owner
) -> None:
    # The daily limit counts starts (a ledger deletion does not touch), not mashup rows.
    for _ in range(2):
        done = started(owner, Status.COMPLETE)
        owner_client.post(f"/mashups/{done.pk}/delete/")
    response = owner_client.post("/mashups/new/", SIMPLE_POST)
    assert response.status_code == 422
