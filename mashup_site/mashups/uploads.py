"""Uploads: what a multipart request may cost, and files that stop taking disk space.

A multipart body is parsed by the first code that reads ``request.POST`` (the CSRF check,
before sign-in is known), and each file part is written to disk as it arrives. So the
request is judged before anything reads it (``UploadGateMiddleware``, placed before the
CSRF middleware): anonymous multipart posts are answered at once, a body over
UPLOAD_MAX_REQUEST_MB is refused by its Content-Length, and only the file fields a view
declares (``accepts_files``) may carry files, at most ``DATA_UPLOAD_MAX_NUMBER_FILES``.

Django's TemporaryFileUploadHandler writes every byte it receives; a 5 GB "song" would
fill 5 GB of disk before the form could refuse it. The handler below stops storing a file
once it passes the limit (and empties what it stored), but still reports the file's true
size, so the form refuses it by size with the exact figure ("This file is 120 MB; the limit
is 50 MB."). Within the request cap the request is still read to its end: the other song
and the fields survive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import SuspiciousMultipartForm
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.deprecation import MiddlewareMixin

MB = 1024 * 1024
ViewFunc = Callable[..., Any]


def upload_limit_bytes() -> int:
    return int(settings.UPLOAD_MAX_MB) * MB


def request_limit_bytes() -> int:
    """The largest multipart body taken: UPLOAD_MAX_REQUEST_MB, or by default four times
    UPLOAD_MAX_MB (two songs, with room to say by how much one was too big)."""
    return int(settings.UPLOAD_MAX_REQUEST_MB or 4 * settings.UPLOAD_MAX_MB) * MB


def accepts_files(*fields: str) -> Callable[[ViewFunc], ViewFunc]:
    """Mark a view whose form has these file fields; every other view takes no file part."""

    def mark(view: ViewFunc) -> ViewFunc:
        view.upload_fields = frozenset(fields)  # type: ignore[attr-defined]
        return view

    return mark


class UnexpectedFilePart(SuspiciousMultipartForm):
    """A file part in a field the view's form does not have (a 400, nothing written)."""


class UploadGateMiddleware(MiddlewareMixin):
    def process_view(
        self, request: HttpRequest, view: ViewFunc, args: object, kwargs: object
    ) -> HttpResponse | None:
        if not (request.content_type or "").startswith("multipart/"):
            return None
        length = _content_length(request)
        if not request.user.is_authenticated:
            if getattr(view, "login_required", True):
                # Nothing of the body is read: no one parses it, no file is written.
                return redirect_to_login(request.get_full_path())
            # A public form (sign-in) may come multipart, as fields only: no file part,
            # no more than a urlencoded body may hold (read in memory, never to disk).
            if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                return HttpResponseForbidden("Sign in to upload files.", content_type="text/plain")
            request.upload_fields = frozenset()  # type: ignore[attr-defined]
            return None
        if length > request_limit_bytes():
            limit_mb = request_limit_bytes() // MB
            return HttpResponse(
                f"This upload is {length / MB:.0f} MB; at most {limit_mb} MB can be sent at "
                f"once (each song up to {settings.UPLOAD_MAX_MB} MB).",
                status=413,
                content_type="text/plain",
            )
        request.upload_fields = getattr(view, "upload_fields", frozenset())  # type: ignore[attr-defined]
        return None


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads no body it cannot measure


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        allowed: frozenset[str] = getattr(self.request, "upload_fields", frozenset())
        if field_name not in allowed:
            raise UnexpectedFilePart(f"no file is taken in the field {field_name!r}")
        super().new_file(field_name, *args, **kwargs)
        self.over_limit = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if start + len(raw_data) <= upload_limit_bytes():
            super().receive_data_chunk(raw_data, start)
        elif not self.over_limit:
            self.over_limit = True
            self.file.truncate(0)  # it will be refused by its size: keep nothing of it
