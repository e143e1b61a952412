"""Door: multipart uploads. A request costs at most what the create form can use: nothing
for anonymous people, no file part the form does not have, no more than two files, and no
body past UPLOAD_MAX_REQUEST_MB; none of it is written before it is refused."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.test import Client

from mashup_site.mashups import uploads
from mashup_site.mashups.models import Mashup
from tests.factories import mashup_with_sources

pytestmark = pytest.mark.django_db
CREATE = "/mashups/new/"
MB = 1024 * 1024


@pytest.fixture
def written(monkeypatch) -> list[str]:
    """The names of the temporary files uploads made (each is disk written for a request)."""
    names: list[str] = []
    original = TemporaryUploadedFile.__init__

    def spy(self, name, *args, **kwargs):
        names.append(name)
        original(self, name, *args, **kwargs)

    monkeypatch.setattr(TemporaryUploadedFile, "__init__", spy)
    return names


def anonymous() -> Client:
    """A stranger with CSRF checks on and a cookie of their own making: Django's CSRF check
    reads the token from the body (parsing it) whenever a cookie is present."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "x" * 32
    return client


def files(count: int, size: int = 1024, field: str = "audio") -> dict[str, SimpleUploadedFile]:
    return {
        f"{field}{n}": SimpleUploadedFile(f"song{n}.mp3", b"\0" * size) for n in range(1, count + 1)
    }


def test_an_anonymous_multipart_post_writes_nothing(written) -> None:
    response = anonymous().post(CREATE, {"model": "V5", **files(2)})
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert written == []


def test_an_anonymous_multipart_post_to_a_public_page_writes_nothing(written) -> None:
    response = anonymous().post("/accounts/login/", files(2))
    assert response.status_code == 400
    assert written == []


def test_an_anonymous_multipart_body_larger_than_a_form_is_not_read(settings, written) -> None:
    big = {"username": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    response = anonymous().post("/accounts/login/", big)
    assert response.status_code == 403


def test_a_file_part_the_form_does_not_have_is_refused(owner_client: Client, written) -> None:
    response = owner_client.post(CREATE, {"model": "V5", **files(1, field="evil")})
    assert response.status_code == 400
    assert written == []
    assert not Mashup.objects.exists()


def test_file_parts_on_a_page_without_uploads_are_refused(owner, written) -> None:
    client = anonymous()
    client.force_login(owner)
    mashup = mashup_with_sources(owner=owner)
    response = client.post(f"/mashups/{mashup.pk}/delete/", files(1))
    assert response.status_code == 400
    assert written == []


def test_more_than_two_files_are_refused(owner_client: Client, written) -> None:
    many = [SimpleUploadedFile(f"s{n}.mp3", b"\0" * 10) for n in range(5)]
    response = owner_client.post(CREATE, {"model": "V5", "audio1": many})
    assert response.status_code == 400
    assert len(written) <= 2


def test_a_request_over_the_cap_is_refused_before_it_is_read(
    owner_client: Client, settings, written
) -> None:
    settings.UPLOAD_MAX_MB = 1
    settings.UPLOAD_MAX_REQUEST_MB = 0  # derived: four times UPLOAD_MAX_MB
    assert uploads.request_limit_bytes() == 4 * MB
    response = owner_client.post(CREATE, {"model": "V5", **files(2, size=3 * MB)})
    assert response.status_code == 413
    assert "4 MB" in response.content.decode()
    assert written == []


def test_the_cap_has_its_own_setting(settings) -> None:
    settings.UPLOAD_MAX_REQUEST_MB = 7
    assert uploads.request_limit_bytes() == 7 * MB
