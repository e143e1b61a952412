"""The upload handler: files stream to disk, and stop taking space past UPLOAD_MAX_MB."""

from __future__ import annotations

import os

from django.test import Client, RequestFactory

from mashup_site.mashups.uploads import CappedTemporaryFileUploadHandler
from tests.audiofiles import write_tone

MB = 1024 * 1024
CHUNK = 64 * 1024


def receive(size: int) -> tuple[CappedTemporaryFileUploadHandler, int]:
    """Feed ``size`` bytes to a handler as Django's parser would; return it and the number
    of bytes that reached the disk while it was receiving."""
    request = RequestFactory().post("/")
    request.upload_fields = frozenset({"audio1"})  # as the upload gate marks it
    handler = CappedTemporaryFileUploadHandler(request)
    handler.new_file("audio1", "song.wav", "audio/wav", size)
    on_disk = 0
    for start in range(0, size, CHUNK):
        handler.receive_data_chunk(b"\0" * min(CHUNK, size - start), start)
        handler.file.flush()
        on_disk = max(on_disk, os.path.getsize(handler.file.temporary_file_path()))
    return handler, on_disk


def test_a_file_within_the_limit_is_stored_whole(settings) -> None:
    settings.UPLOAD_MAX_MB = 1
    handler, _ = receive(MB)
    stored = handler.file_complete(MB)
    assert stored.size == MB
    assert os.path.getsize(stored.temporary_file_path()) == MB


def test_a_file_past_the_limit_stops_taking_disk_space_but_keeps_its_size(settings) -> None:
    settings.UPLOAD_MAX_MB = 1
    handler, most_on_disk = receive(3 * MB)
    stored = handler.file_complete(3 * MB)
    assert most_on_disk <= MB  # never more than the limit on disk
    assert os.path.getsize(stored.temporary_file_path()) == 0  # and nothing kept of it
    assert stored.size == 3 * MB  # so the form can say how big it was


def test_the_form_says_how_big_a_refused_upload_was_and_keeps_the_other_song(
    owner_client: Client, settings, tmp_path
) -> None:
    settings.UPLOAD_MAX_MB = 1
    big = tmp_path / "big.wav"
    big.write_bytes(b"RIFF" + b"\0" * (3 * MB))
    good = write_tone(tmp_path / "good.mp3", "mp3")
    with big.open("rb") as first, good.open("rb") as second:
        response = owner_client.post(
            "/mashups/new/", {"model": "V5", "prompt": "i", "audio1": first, "audio2": second}
        )
    html = response.content.decode()
    assert response.status_code == 422
    assert "This file is 3 MB; the limit is 1 MB." in html
    assert "Keeping <strong>good.mp3</strong>" in html
