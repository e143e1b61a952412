"""S3 storage for real: the app's S3 settings (STORAGE=s3, AWS_S3_ENDPOINT_URL,
AWS_S3_REGION_NAME, AWS_STORAGE_BUCKET_NAME, the keys) against moto's S3 server on a
loopback port, through the app's own pages: upload, the worker's run, play, download,
delete, sweep (issue 12)."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path

import boto3
import httpx
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mashup_site import settings as app_settings
from mashup_site.mashups import retention, tasks
from mashup_site.mashups.models import Mashup, Status
from tests.audiofiles import write_audio
from tests.factories import finished_mashup
from tests.signals import SR, song
from tests.webserver import free_port

pytestmark = pytest.mark.django_db

REGION = "eu-west-3"


class Bucket:
    """The test's bucket, read directly (boto3) to see what the app left in it."""

    def __init__(self, client, name: str) -> None:
        self.client, self.name = client, name

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture
def s3(settings, monkeypatch):
    """moto's S3 server on a spare loopback port, and the app's storage set up from the
    environment as settings.py does it for STORAGE=s3."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    bucket = f"mashups-{secrets.token_hex(4)}"  # moto keeps buckets per process
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "STORAGE": "s3",
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    storages = app_settings._storages()
    settings.STORAGES = {**settings.STORAGES, "default": storages["default"]}
    client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield Bucket(client, bucket)
    server.stop()


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("s3-songs")
    first = write_audio(folder / "first.wav", "wav", song(120, 0, "major", 16.0)["mix"], SR)
    second = write_audio(folder / "second.wav", "wav", song(100, 2, "minor", 16.0)["mix"], SR)
    return first, second


def upload_files(paths: tuple[Path, ...]) -> dict[str, object]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {
        f"audio{n}": SimpleUploadedFile(path.name, path.read_bytes())
        for n, path in enumerate(paths, start=1)
    }


def follow(response) -> httpx.Response:
    """A file page answers with a signed URL at the bucket: fetch it as a browser would."""
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith("http://127.0.0.1:")
    return httpx.get(response["Location"], timeout=30)


def test_a_mashup_lives_its_whole_life_in_s3(
    s3, owner_client: Client, songs, django_capture_on_commit_callbacks
) -> None:
    created = owner_client.post(
        reverse("mashups:create"),
        {
            "model": "V5",
            "customMode": "on",
            "title": "Ça va",
            "style": "lofi",
            "instrumental": "on",
            **upload_files(songs),
        },
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    mashup = Mashup.objects.get()
    uploads = s3.keys("sources/")
    assert len(uploads) == 2  # stored in the bucket, by content

    tasks.run_mashup(mashup.pk)  # the worker: reads the songs from S3, stores the tracks there
    mashup.refresh_from_db()
    assert mashup.status == Status.COMPLETE, mashup.error_message
    tracks = s3.keys("tracks/")
    # Two tracks, two covers, and each master's WAV kept for the WAV follow-up.
    assert sorted(name.rsplit(".", 1)[1] for name in tracks) == [
        "mp3", "mp3", "png", "png", "wav", "wav",
    ]  # fmt: skip

    url = reverse("mashups:track_file", args=[mashup.pk, 1, "audio"])
    played = follow(owner_client.get(url))
    assert played.status_code == 200
    assert played.headers["content-type"] == "audio/mpeg"
    assert played.headers["content-disposition"].startswith("inline")
    assert played.content[:3] == b"ID3" or played.content[:2] == b"\xff\xfb"

    saved = follow(owner_client.get(url + "?download=1"))
    assert saved.status_code == 200
    assert saved.headers["content-disposition"] == (
        "attachment; filename*=utf-8''%C3%87a%20va.mp3"  # "Ça va.mp3" (the other: "Ça va (flip)")
    )

    with django_capture_on_commit_callbacks(execute=True):  # files go once rows are gone
        owner_client.post(reverse("mashups:delete", args=[mashup.pk]))
    assert not Mashup.objects.exists()
    assert s3.keys() == []


def test_the_sweeper_deletes_expired_files_from_s3(
    s3, owner_client: Client, songs, django_capture_on_commit_callbacks
) -> None:
    owner_client.post(
        reverse("mashups:create"),
        {"model": "V5", "prompt": "an idea", "instrumental": "on", **upload_files(songs)},
    )
    mashup = Mashup.objects.get()
    tasks.run_mashup(mashup.pk)
    mashup.refresh_from_db()
    assert mashup.status == Status.COMPLETE, mashup.error_message
    assert s3.keys()
    Mashup.objects.filter(pk=mashup.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):  # files go on commit
        assert retention.sweep() == 1

    assert s3.keys() == []  # the tracks, covers and uploads no other mashup uses
    page = owner_client.get(reverse("mashups:detail", args=[mashup.pk])).content.decode()
    assert re.search(r"expired", page)


def test_deleting_a_mashup_while_the_bucket_is_unreachable_is_no_500(
    s3, settings, owner, owner_client: Client, django_capture_on_commit_callbacks, caplog
) -> None:
    # The rows go first and the files once they are gone; a bucket that did not answer
    # then raised out of the request after the delete had committed: a 500 for a mashup
    # that was deleted. Its files are logged and left.
    from botocore.config import Config

    mashup = finished_mashup(owner=owner)
    assert s3.keys("tracks/")
    default = settings.STORAGES["default"]
    unreachable = {
        **default["OPTIONS"],
        "endpoint_url": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "client_config": Config(retries={"max_attempts": 1}, connect_timeout=1),
    }
    settings.STORAGES = {**settings.STORAGES, "default": {**default, "OPTIONS": unreachable}}
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("mashups:delete", args=[mashup.pk]))
    assert response.status_code == 302
    assert not Mashup.objects.exists()
    assert "could not delete" in caplog.text


def test_the_orphan_sweeper_lists_the_bucket_and_deletes_what_no_row_points_to(s3, owner) -> None:
    mashup = finished_mashup(owner=owner)
    recorded = s3.keys("tracks/")
    s3.client.put_object(Bucket=s3.name, Key="tracks/999/mashup-1.mp3", Body=b"ID3 stray")
    s3.client.put_object(Bucket=s3.name, Key="sources/ab/cd/abcd.wav", Body=b"RIFF stray")
    assert recorded and mashup.tracks.count() == 2

    assert retention.sweep_orphans(at=timezone.now() + timedelta(days=2)) == 2

    assert s3.keys() == recorded
