"""Uploads stream to disk, and a file over UPLOAD_MAX_MB stops taking disk space.

Django's TemporaryFileUploadHandler writes every byte it receives; a 5 GB "song" would
fill 5 GB of disk before the form could refuse it. This handler stops storing a file once
it passes the limit (and empties what it stored), but still reports the file's true size,
so the form refuses it by size with the exact figure ("This file is 120 MB; the limit is
50 MB."). The request is still read to its end: the other song and the fields survive.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


def upload_limit_bytes() -> int:
    return int(settings.UPLOAD_MAX_MB) * 1024 * 1024


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.over_limit = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if start + len(raw_data) <= upload_limit_bytes():
            super().receive_data_chunk(raw_data, start)
        elif not self.over_limit:
            self.over_limit = True
            self.file.truncate(0)  # it will be refused by its size: keep nothing of it
