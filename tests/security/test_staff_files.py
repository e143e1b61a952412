"""Door: files on our origin (/media/ for staff, track files for owners, sources for the
provider). A stored file is served as what its bytes are, never as what its name says: our
audio and covers inline with a fixed type, anything else as an attachment, always with
``nosniff``. /media/ needs the permission to view mashups; a file that cannot be opened
is a 404."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from mashup_site.mashups.models import Source
from tests.audiofiles import write_tone
from tests.factories import UserFactory, finished_mashup

pytestmark = pytest.mark.django_db

HTML = b"<!doctype html><script>alert(document.cookie)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64


def saved(name: str, data: bytes) -> str:
    return default_storage.save(name, ContentFile(data))


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_an_upload_is_stored_under_its_probed_format_not_its_name(
    owner_client: Client, tmp_path
) -> None:
    song = write_tone(tmp_path / "cover.html", "mp3")
    other = write_tone(tmp_path / "image.svg", "wav")
    with song.open("rb") as one, other.open("rb") as two:
        data = {"model": "V5", "prompt": "x", "audio1": one, "audio2": two}
        assert owner_client.post("/mashups/new/", data).status_code == 302
    names = Source.objects.order_by("position").values_list("file", flat=True)
    assert [str(name).rsplit(".", 1)[-1] for name in names] == ["mp3", "wav"]
    originals = set(Source.objects.values_list("original_name", flat=True))
    assert originals == {"cover.html", "image.svg"}  # still shown under the names people gave


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("sources/aa/bb/song.html", MP3, "audio/mpeg"),
        ("sources/aa/bb/song.svg", MP3, "audio/mpeg"),
        ("tracks/1/cover.svg", b"\xff\xd8\xff\xe0" + b"\0" * 32, "image/jpeg"),
        ("tracks/1/cover.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, "image/png"),
    ],
)
def test_a_stored_file_is_served_as_what_its_bytes_are(staff_client, name, data, kind) -> None:
    response = staff_client.get("/media/" + saved(name, data))
    assert response.status_code == 200
    assert response["Content-Type"] == kind
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not response.get("Content-Disposition", "").startswith("attachment")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("sources/aa/bb/page.html", HTML),
        ("sources/aa/bb/page.mp3", HTML),
        ("tracks/1/cover.svg", SVG),
        ("tracks/1/cover.jpeg", SVG),
        ("tracks/1/notes.txt", b"hello"),
    ],
)
def test_anything_else_is_an_attachment_of_no_type(staff_client, name, data) -> None:
    response = staff_client.get("/media/" + saved(name, data))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_an_owners_track_is_served_as_audio(owner_client: Client, owner) -> None:
    mashup = finished_mashup(owner=owner)
    response = owner_client.get(f"/mashups/{mashup.pk}/tracks/1/audio/")
    assert response["Content-Type"] == "audio/mpeg"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_provider_gets_a_source_as_audio_whatever_its_name(owner) -> None:
    from tests.fakes.jobs import remote_job

    mashup = remote_job(owner, uploaded=True)
    source = mashup.sources.get(position=1)
    with default_storage.open(source.file.name, "wb") as handle:
        handle.write(MP3)
    response = Client().get(f"/sources/{source.access_token}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg"


# --- who may open /media/ ----------------------------------------------------------------------


def test_staff_without_the_view_permission_read_no_file(owner) -> None:
    mashup = finished_mashup(owner=owner)
    url = mashup.tracks.get(position=1).audio.url
    clerk = UserFactory(is_staff=True)  # staff, but no permission on mashups
    client = Client()
    client.force_login(clerk)
    assert client.get(url).status_code == 404
    clerk.user_permissions.add(Permission.objects.get(codename="view_mashup"))
    clerk = type(clerk).objects.get(pk=clerk.pk)  # permissions are cached per instance
    client.force_login(clerk)
    assert client.get(url).status_code == 200


def test_a_file_that_cannot_be_opened_is_a_404_not_a_500(staff) -> None:
    saved("sources/aa/bb/one.mp3", MP3)  # so that the folders exist
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    assert client.get("/media/sources/").status_code == 404
    assert client.get("/media/sources/aa").status_code == 404
    assert client.get("/media/sources/aa/bb/missing.mp3").status_code == 404
