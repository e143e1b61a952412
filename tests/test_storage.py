"""Stored files get content-addressed names through the storage API (mashups/storage.py)."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from mashup_site.mashups import storage
from mashup_site.mashups.models import KeptFile, Mashup, Source
from mashup_site.mashups.storage import content_name, store_content_addressed
from tests.factories import MashupFactory, finished_mashup


def test_it_names_a_file_by_its_sha256_and_keeps_a_safe_suffix() -> None:
    digest = "ab" * 32
    assert content_name("sources", digest, "My Song.MP3") == f"sources/ab/ab/{digest}.mp3"


def test_it_drops_a_suffix_that_is_not_a_plain_extension() -> None:
    digest = "cd" * 32
    assert content_name("sources", digest, "evil.m p3") == f"sources/cd/cd/{digest}"
    assert content_name("sources", digest, "no-suffix") == f"sources/cd/cd/{digest}"


def test_it_stores_the_same_bytes_once() -> None:
    data = b"RIFF" + b"\x01" * 5000
    first = store_content_addressed(ContentFile(data, name="a.wav"), prefix="sources")
    second = store_content_addressed(ContentFile(data, name="b.wav"), prefix="sources")
    assert first == second
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert first.size == len(data)
    with default_storage.open(first.name, "rb") as handle:
        assert handle.read() == data


def test_it_stores_different_bytes_apart() -> None:
    one = store_content_addressed(ContentFile(b"one", name="x.wav"), prefix="sources")
    two = store_content_addressed(ContentFile(b"two", name="x.wav"), prefix="sources")
    assert one.name != two.name


# --- deleting a mashup's files ----------------------------------------------------------------


@pytest.mark.django_db
def test_delete_keeps_an_upload_another_mashup_uses(owner, django_capture_on_commit_callbacks):
    shared = default_storage.save("sources/aa/bb/shared.mp3", ContentFile(b"song"))
    mine = default_storage.save("sources/cc/dd/mine.mp3", ContentFile(b"other"))
    doomed = MashupFactory(owner=owner)
    other = MashupFactory(owner=owner)
    Source.objects.create(mashup=doomed, position=1, file=shared)
    Source.objects.create(mashup=doomed, position=2, file=mine)
    Source.objects.create(mashup=other, position=1, file=shared)
    with django_capture_on_commit_callbacks(execute=True):
        storage.delete_mashup(doomed)
    assert not Mashup.objects.filter(pk=doomed.pk).exists()
    assert default_storage.exists(shared)
    assert not default_storage.exists(mine)


@pytest.mark.django_db
def test_delete_keeps_an_upload_a_persons_kept_upload_token_points_to(
    owner, django_capture_on_commit_callbacks
):
    # Uploads are stored once per content: the same song kept for someone's refused submit
    # is the same file, and their token must still find it.
    shared = default_storage.save("sources/aa/bb/kept.mp3", ContentFile(b"song"))
    doomed = MashupFactory(owner=owner)
    Source.objects.create(mashup=doomed, position=1, file=shared)
    KeptFile.objects.note(shared)
    with django_capture_on_commit_callbacks(execute=True):
        storage.delete_mashup(doomed)
    assert default_storage.exists(shared)


@pytest.mark.django_db
def test_delete_keeps_files_until_the_transaction_commits(owner) -> None:
    mashup = finished_mashup(owner=owner)
    names = [t.audio.name for t in mashup.tracks.all()]
    storage.delete_mashup(mashup)  # inside the test's transaction: never committed
    assert all(default_storage.exists(name) for name in names)
