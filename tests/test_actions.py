"""Retrying and deleting whole jobs (used by the gallery and the admin)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django_q.models import OrmQ

from mashup_site.mashups import actions
from mashup_site.mashups.models import Mashup, Source, Status
from tests.factories import MashupFactory, finished_mashup

pytestmark = pytest.mark.django_db


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
        assert actions.retry_failed(mashup.pk) is True
    mashup.refresh_from_db()
    for field, value in actions.RESET.items():
        assert getattr(mashup, field) == value, field
    assert not mashup.tracks.exists()
    assert [task.task["args"] for task in OrmQ.objects.all()] == [(mashup.pk,)]


def test_retry_runs_once_when_asked_twice(owner, django_capture_on_commit_callbacks) -> None:
    mashup = MashupFactory(owner=owner, status=Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.retry_failed(mashup.pk) is True
        assert actions.retry_failed(mashup.pk) is False  # now queued, not failed
    assert OrmQ.objects.count() == 1


@pytest.mark.parametrize("status", [Status.QUEUED, Status.FIRST, Status.COMPLETE, Status.EXPIRED])
def test_retry_leaves_other_jobs_alone(owner, status: str) -> None:
    mashup = MashupFactory(owner=owner, status=status, error_message="kept")
    assert actions.retry_failed(mashup.pk) is False
    mashup.refresh_from_db()
    assert (mashup.status, mashup.error_message) == (status, "kept")


def test_delete_keeps_an_upload_another_mashup_uses(owner, django_capture_on_commit_callbacks):
    shared = default_storage.save("sources/aa/bb/shared.mp3", ContentFile(b"song"))
    mine = default_storage.save("sources/cc/dd/mine.mp3", ContentFile(b"other"))
    doomed = MashupFactory(owner=owner)
    other = MashupFactory(owner=owner)
    Source.objects.create(mashup=doomed, position=1, file=shared)
    Source.objects.create(mashup=doomed, position=2, file=mine)
    Source.objects.create(mashup=other, position=1, file=shared)
    with django_capture_on_commit_callbacks(execute=True):
        actions.delete_mashup(doomed)
    assert not Mashup.objects.filter(pk=doomed.pk).exists()
    assert default_storage.exists(shared)
    assert not default_storage.exists(mine)


def test_delete_keeps_files_until_the_transaction_commits(owner) -> None:
    mashup = finished_mashup(owner=owner)
    names = [t.audio.name for t in mashup.tracks.all()]
    actions.delete_mashup(mashup)  # inside the test's transaction: never committed
    assert all(default_storage.exists(name) for name in names)
