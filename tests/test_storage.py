"""Stored files get content-addressed names through the storage API (mashups/storage.py)."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from mashup_site.mashups import storage
from mashup_site.mashups.models import KeptFile, Mashup, Source, UploadLock
from mashup_site.mashups.storage import content_name, store_content_addressed
from tests.factories import MashupFactory, finished_mashup


def test_it_names_a_file_by_its_sha256_and_keeps_a_safe_suffix() -> None:
    digest = "ab" * 32
    assert content_name("sources", digest, "My Song.MP3") == f"sources/ab/ab/{digest}.mp3"


def test_it_drops_a_suffix_that_is_not_a_plain_extension() -> None:
    digest = "cd" * 32
    assert content_name("sources", digest, "evil.m p3") == f"sources/cd/cd/{digest}"
    assert content_name("sources", digest, "no-suffix") == f"sources/cd/cd/{digest}"


@pytest.mark.django_db
def test_it_stores_the_same_bytes_once() -> None:
    data = b"RIFF" + b"\x01" * 5000
    first = store_content_addressed(ContentFile(data, name="a.wav"), prefix="sources")
    second = store_content_addressed(ContentFile(data, name="b.wav"), prefix="sources")
    assert first == second
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert first.size == len(data)
    with default_storage.open(first.name, "rb") as handle:
        assert handle.read() == data


@pytest.mark.django_db
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
def test_delete_keeps_an_upload_a_new_job_stored_again_before_the_delete_ran(
    owner, django_capture_on_commit_callbacks
):
    # The delete found the song unused and commits; before its files go, someone submits
    # the same song (stored by content: the same file, found there and not written again).
    data = b"RIFF" + b"\x02" * 5000
    song = store_content_addressed(ContentFile(data, name="a.wav"), prefix="sources").name
    doomed = MashupFactory(owner=owner)
    Source.objects.create(mashup=doomed, position=1, file=song)
    with django_capture_on_commit_callbacks() as after_commit:
        storage.delete_mashup(doomed)
    again = store_content_addressed(ContentFile(data, name="b.wav"), prefix="sources")
    fresh = MashupFactory(owner=owner)
    Source.objects.create(mashup=fresh, position=1, file=again.name)
    for callback in after_commit:
        callback()
    assert storage.missing_uploads(fresh) == []


@pytest.mark.django_db
def test_releasing_an_upload_no_one_uses_deletes_it_and_its_lock(owner) -> None:
    song = store_content_addressed(ContentFile(b"lonely", name="a.wav"), prefix="sources").name
    assert storage.release([song, song]) == 1
    assert not default_storage.exists(song)
    assert not UploadLock.objects.filter(name=song).exists()


@pytest.mark.django_db
def test_expiry_keeps_an_upload_a_live_job_uses_and_deletes_one_only_it_used(
    owner, django_capture_on_commit_callbacks
) -> None:
    shared = store_content_addressed(ContentFile(b"shared", name="a.wav"), prefix="sources").name
    mine = store_content_addressed(ContentFile(b"mine", name="b.wav"), prefix="sources").name
    expiring, live = MashupFactory(owner=owner), MashupFactory(owner=owner)
    Source.objects.create(mashup=expiring, position=1, file=shared)
    Source.objects.create(mashup=expiring, position=2, file=mine)
    Source.objects.create(mashup=live, position=1, file=shared)
    with django_capture_on_commit_callbacks(execute=True):  # files go on commit
        storage.delete_files(expiring)
    assert default_storage.exists(shared)
    assert not default_storage.exists(mine)


def test_an_uploads_lock_is_only_held_by_a_transaction() -> None:
    with pytest.raises(RuntimeError, match="transaction"):
        UploadLock.objects.hold("sources/aa/bb/song.wav")


@pytest.mark.django_db
def test_delete_keeps_files_until_the_transaction_commits(owner) -> None:
    mashup = finished_mashup(owner=owner)
    names = [t.audio.name for t in mashup.tracks.all()]
    storage.delete_mashup(mashup)  # inside the test's transaction: never committed
    assert all(default_storage.exists(name) for name in names)


# --- serving: a player seeks with byte ranges ------------------------------------------------


@pytest.mark.parametrize(
    ("header", "part"),
    [
        ("", None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=990-5000", (990, 999)),  # past the end: to the end
        ("bytes=-5000", (0, 999)),
        ("bytes=1000-", storage.UNSATISFIABLE),
        ("bytes=-0", storage.UNSATISFIABLE),
        ("bytes=0-9, 20-29", None),  # several ranges: the whole file is a valid answer
        ("bytes=50-10", None),
        ("items=0-9", None),
        ("bytes=-", None),
        # Numbers past what any file holds (Python refuses to read 4301 digits at all).
        ("bytes=0-" + "9" * 5000, (0, 999)),
        ("bytes=" + "9" * 5000 + "-", storage.UNSATISFIABLE),
        ("bytes=-" + "9" * 5000, (0, 999)),
    ],
)
def test_a_range_header_names_the_bytes_a_player_wants(header: str, part) -> None:
    assert storage.requested_part(header, 1000) == part


def audio_url(mashup: Mashup) -> str:
    return reverse("mashups:track_file", args=[mashup.pk, 1, "audio"])


def test_a_track_says_it_can_be_sought_in(owner, owner_client) -> None:
    mashup = finished_mashup(owner=owner)
    response = owner_client.get(audio_url(mashup))
    assert response.status_code == 200 and response["Accept-Ranges"] == "bytes"
    assert b"".join(response.streaming_content) == b"ID3 fake"


def test_a_player_seeking_gets_only_the_part_it_asked_for(owner, owner_client) -> None:
    mashup = finished_mashup(owner=owner)
    response = owner_client.get(audio_url(mashup), headers={"Range": "bytes=4-"})
    assert response.status_code == 206
    assert response["Content-Range"] == "bytes 4-7/8"
    assert response["Content-Length"] == "4"
    assert response["Content-Type"] == "audio/mpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"fake"


def test_a_download_of_a_part_keeps_its_name(owner, owner_client) -> None:
    mashup = finished_mashup(owner=owner)
    response = owner_client.get(audio_url(mashup) + "?download=1", headers={"Range": "bytes=0-2"})
    assert response.status_code == 206
    assert response["Content-Disposition"].startswith("attachment")
    assert f"{mashup.display_title} (1).mp3" in response["Content-Disposition"]


def test_a_range_past_the_end_is_a_416_not_a_500(owner, owner_client) -> None:
    mashup = finished_mashup(owner=owner)
    response = owner_client.get(audio_url(mashup), headers={"Range": "bytes=100-"})
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */8"


def test_a_stranger_gets_no_part_of_a_track(owner, stranger_client) -> None:
    mashup = finished_mashup(owner=owner)
    response = stranger_client.get(audio_url(mashup), headers={"Range": "bytes=0-3"})
    assert response.status_code == 404


def test_a_track_heard_again_is_not_sent_again(owner, owner_client) -> None:
    # Stored files never change under a name, so a player or a cover shown again asks
    # whether its copy still stands and gets 304, nothing else; it asks every time
    # (no-cache), so a deleted mashup's file is gone at once.
    mashup = finished_mashup(owner=owner)
    first = owner_client.get(audio_url(mashup))
    assert first["ETag"] and first["Last-Modified"]
    assert {"private", "no-cache"} <= {p.strip() for p in first["Cache-Control"].split(",")}
    again = owner_client.get(audio_url(mashup), headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again["ETag"] == first["ETag"]
    assert not again.content
    since = owner_client.get(
        audio_url(mashup), headers={"If-Modified-Since": first["Last-Modified"]}
    )
    assert since.status_code == 304
    head = owner_client.head(audio_url(mashup), headers={"If-None-Match": first["ETag"]})
    assert head.status_code == 304


def test_a_copy_of_another_file_is_sent_the_file(owner, owner_client) -> None:
    mashup = finished_mashup(owner=owner)
    response = owner_client.get(audio_url(mashup), headers={"If-None-Match": '"other"'})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"ID3 fake"


def test_a_seek_into_a_copy_that_no_longer_stands_gets_the_whole_file(owner, owner_client):
    # If-Range: a player holding part of a file asks for the rest only if the file is
    # still the one it has; otherwise the whole new file comes (RFC 9110, 13.1.5).
    mashup = finished_mashup(owner=owner)
    etag = owner_client.get(audio_url(mashup))["ETag"]
    stale = owner_client.get(audio_url(mashup), headers={"Range": "bytes=4-", "If-Range": '"old"'})
    assert stale.status_code == 200
    assert b"".join(stale.streaming_content) == b"ID3 fake"
    same = owner_client.get(audio_url(mashup), headers={"Range": "bytes=4-", "If-Range": etag})
    assert same.status_code == 206 and b"".join(same.streaming_content) == b"fake"
    dated = owner_client.get(audio_url(mashup))["Last-Modified"]
    by_date = owner_client.get(audio_url(mashup), headers={"Range": "bytes=4-", "If-Range": dated})
    assert by_date.status_code == 206
    old_date = "Mon, 01 Jan 2001 00:00:00 GMT"
    before = owner_client.get(
        audio_url(mashup), headers={"Range": "bytes=4-", "If-Range": old_date}
    )
    assert before.status_code == 200


def test_a_stranger_holding_the_etag_learns_nothing(owner, owner_client, stranger_client) -> None:
    mashup = finished_mashup(owner=owner)
    etag = owner_client.get(audio_url(mashup))["ETag"]
    response = stranger_client.get(audio_url(mashup), headers={"If-None-Match": etag})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("head", "kind"), [(b"\xff\xf1\x50\x80", "audio/aac"), (b"\xff\xfb\x90\x64", "audio/mpeg")]
)
def test_raw_aac_is_served_as_aac_not_as_mp3(rf, head: bytes, kind: str) -> None:
    # Both start with an MPEG sync; served as audio/mpeg with nosniff, raw AAC is the
    # wrong type for a player to trust.
    name = default_storage.save("sources/ee/ff/song.m4a", ContentFile(head + bytes(64)))
    response = storage.serve(rf.get("/"), name)
    assert response["Content-Type"] == kind
    assert response["Content-Disposition"].startswith("inline")
