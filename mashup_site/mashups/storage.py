"""Every stored-file operation, through Django's storage API (docs/design.md, rule 7).

Uploads are stored under content-addressed names: the same bytes are stored once, whatever
they were called, so S3 or the local disk is a matter of configuration (settings.STORAGES)
and re-uploading a song costs no space. Results are kept from a file on this machine
(``keep``). Files are served (``serve``) and deleted (``delete_mashup``, ``delete``,
``release``) only here: an upload is deleted only by ``release``, which spares one
another live mashup still uses, deciding under the upload's lock (``UploadLock``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import content_disposition_header, http_date, parse_http_date_safe

from mashup_site.engine.output import one_line
from mashup_site.engine.probe import media_type, split_suffix

from .models import KEPT_PER_PERSON, KeptFile, Mashup, Source, Status, Track, UploadLock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredFile:
    name: str  # storage name
    sha256: str
    size: int


# --- storing ----------------------------------------------------------------------------------


def sha256_of(fileobj: File) -> str:
    """Hash in chunks, never the whole file in memory."""
    digest = hashlib.sha256()
    fileobj.seek(0)
    for chunk in fileobj.chunks():
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def content_name(prefix: str, digest: str, original_name: str) -> str:
    suffix = split_suffix(original_name)[1].lower()
    return f"{prefix}/{digest[:2]}/{digest[2:4]}/{digest}{suffix}"


# The probe's format names (engine/probe.py) -> the suffix an upload is stored under.
FORMAT_SUFFIXES = {
    "MP3": ".mp3",
    "WAV": ".wav",
    "OGG Vorbis": ".ogg",
    "FLAC": ".flac",
    "AAC (M4A)": ".m4a",
    "Opus": ".opus",
}


def store_content_addressed(
    fileobj: File, *, prefix: str, format_name: str = "", digest: str | None = None
) -> StoredFile:
    """Store ``fileobj`` once per content, under a suffix for what it is (its probed format,
    else what its first bytes are), never the one its owner gave it (an MP3 named
    ``cover.html`` is stored as .mp3).

    Call it in the transaction that records who uses the file (a ``Source``, a
    ``KeptFile``): the upload's lock is held until that commits, so a delete that found
    the same content unused (``release``) waits, and then sees its new user. ``digest``:
    the file's sha256 when the caller has it."""
    digest = digest or sha256_of(fileobj)
    suffix = FORMAT_SUFFIXES.get(format_name) or _suffix_of(fileobj)
    name = content_name(prefix, digest, "file" + suffix)
    UploadLock.objects.hold(name)
    if not default_storage.exists(name):
        name = default_storage.save(name, fileobj)
    return StoredFile(name=name, sha256=digest, size=fileobj.size or default_storage.size(name))


def _suffix_of(fileobj: File) -> str:
    fileobj.seek(0)
    head = fileobj.read(HEAD_BYTES)
    fileobj.seek(0)
    kind = media_type(head if isinstance(head, bytes) else b"")
    return SUFFIXES.get(kind, "") if kind else ""


def keep(field: FieldFile, path: str | Path, *, save: bool) -> None:
    """Store a file of this machine (a result the engine wrote, a download) in ``field``."""
    path = Path(path)
    with path.open("rb") as handle:
        field.save(path.name, File(handle), save=save)


# --- what a file is -----------------------------------------------------------------------------

HEAD_BYTES = 16
# What we store and show inline: our audio and covers. Nothing else is served inline on our
# origin (an HTML or SVG file would run in a staff member's browser).
SUFFIXES = {
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "image/jpeg": ".jpeg",
    "image/png": ".png",
    "image/webp": ".webp",
}
TYPES_BY_SUFFIX = {suffix: kind for kind, suffix in SUFFIXES.items()} | {
    ".opus": "audio/ogg",
    ".jpg": "image/jpeg",
}
OTHER = "application/octet-stream"


# --- reading ----------------------------------------------------------------------------------


def disk_path(name: str) -> str | None:
    """Where a stored file is on this machine's disk, or None (remote storage: S3)."""
    try:
        return default_storage.path(name)
    except NotImplementedError:
        return None


def missing_uploads(mashup: Mashup) -> list[str]:
    """The names people gave the uploaded songs of ``mashup`` that this process cannot find
    in its storage (with local storage: not on this machine's disk)."""
    return [
        source.original_name or str(source.file.name)
        for source in Source.objects.filter(mashup=mashup).exclude(file="")
        if not default_storage.exists(str(source.file.name))
    ]


def open_stored(name: str) -> IO[bytes]:
    return default_storage.open(name, "rb")


def serve(
    request: HttpRequest, name: str, *, filename: str | None = None, download: bool = False
) -> HttpResponseBase:
    """A stored file: streamed from local disk, or a short-lived signed URL on S3.

    Served as what its bytes are, never as what its name says: our audio and covers inline
    with a fixed type, anything else as an attachment of no type; always ``nosniff``.
    A player seeking in a track asks for the part it needs (``Range``: 206), and Chromium
    seeks in a file only if its server says it may (``Accept-Ranges``). A file shown or
    played again is not sent again: its ``ETag`` and ``Last-Modified`` answer a browser's
    ``If-None-Match`` or ``If-Modified-Since`` with 304, and ``no-cache`` has it ask every
    time (a deleted mashup's files are gone at once). S3 answers all of this itself.
    """
    path = disk_path(name)
    if path is None:
        return _redirect(name, filename, download)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (FileResponse closes it)
        kind = media_type(handle.read(HEAD_BYTES))
        handle.seek(0)
        stat = os.fstat(handle.fileno())
    except OSError:  # missing, a folder, unreadable: no file to give
        raise Http404("This file is no longer stored.") from None
    size = stat.st_size
    # Size and modification time, as web servers do: a name whose file was deleted and
    # stored again (another track under the same name) gets another tag.
    etag, modified = f'"{size:x}-{stat.st_mtime_ns:x}"', int(stat.st_mtime)
    answered = get_conditional_response(request, etag=etag, last_modified=modified)
    if answered is not None:  # 304 (the copy stands) or 412
        handle.close()
        return _validated(answered, etag, modified)
    attachment = download or kind is None
    byte_range = request.headers.get("Range", "")
    part = requested_part(byte_range, size) if _same_file(request, etag, modified) else None
    response: HttpResponseBase
    if part is None:
        response = FileResponse(handle, as_attachment=attachment, filename=filename or "")
    elif part == UNSATISFIABLE:
        handle.close()
        response = HttpResponse(status=416)
        response.headers["Content-Range"] = f"bytes */{size}"
    else:
        start, end = part
        handle.seek(start)
        response = StreamingHttpResponse(_chunks(handle, end - start + 1), status=206)
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        response.headers["Content-Length"] = str(end - start + 1)
        disposition = content_disposition_header(attachment, filename) if filename else None
        response.headers["Content-Disposition"] = disposition or (
            "attachment" if attachment else "inline"
        )
    response.headers["Content-Type"] = kind or OTHER
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return _validated(response, etag, modified)


def _validated(response: HttpResponseBase, etag: str, modified: int) -> HttpResponseBase:
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = http_date(modified)
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _same_file(request: HttpRequest, etag: str, modified: int) -> bool:
    """Whether a ``Range`` stands: without ``If-Range``, or with one naming this file by its
    tag (compared strongly) or its exact date (RFC 9110, 13.1.5); else the whole file."""
    condition = request.headers.get("If-Range", "").strip()
    if not condition:
        return True
    if condition.startswith(('"', "W/")):
        return condition == etag
    return parse_http_date_safe(condition) == modified


UNSATISFIABLE = (-1, -1)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def requested_part(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte a ``Range`` header asks for (RFC 9110, 14.1.2), ``None`` for
    the whole file (no header, one we do not serve such as several ranges: the whole
    file is a valid answer to those), or ``UNSATISFIABLE`` when it starts past the end."""
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if not match or match.groups() == ("", ""):
        return None
    first, last = (_byte_number(digits) for digits in match.groups())
    if first is None:  # the last N bytes
        length = last or 0
        return (max(size - length, 0), size - 1) if length and size else UNSATISFIABLE
    if first >= size:
        return UNSATISFIABLE
    end = min(last, size - 1) if last is not None else size - 1
    return (first, end) if end >= first else None


def _byte_number(digits: str) -> int | None:
    """A byte position of a ``Range`` header (None: not given). Past 18 digits it is past
    any file's end, and taken as that: Python refuses to read 4301 digits or more."""
    if not digits:
        return None
    return int(digits) if len(digits) <= 18 else 10**18


def file_name(text: str) -> str:
    """``text`` as a name a browser saves a file under as it is: a slash or a backslash (a
    folder to a browser, which keeps only what follows it) a dash, every run of whitespace
    (line breaks, tabs, separators) one space, control characters left out."""
    return one_line(text).replace("/", "-").replace("\\", "-")


def _chunks(handle: IO[bytes], length: int, chunk: int = 1 << 16) -> Iterable[bytes]:
    with handle:
        while length > 0:
            data = handle.read(min(chunk, length))
            if not data:
                return
            length -= len(data)
            yield data


def _redirect(name: str, filename: str | None, download: bool) -> HttpResponseBase:
    """S3: a signed URL that makes the bucket answer with a fixed type (by the suffix we
    stored it under; reading its first bytes would cost a request per file)."""
    kind = TYPES_BY_SUFFIX.get(PurePosixPath(name).suffix.lower())
    attachment = download or kind is None
    # The bucket names the file as we would ("<title> (n).mp3"), not by its storage name.
    disposition = content_disposition_header(attachment, filename) if filename else None
    parameters = {
        "ResponseContentType": kind or OTHER,
        "ResponseContentDisposition": disposition or ("attachment" if attachment else "inline"),
    }
    try:
        url = default_storage.url(name, parameters=parameters)  # type: ignore[call-arg]
    except TypeError:  # a backend that takes no parameters
        url = default_storage.url(name)
    return HttpResponseRedirect(url)


# --- deleting ---------------------------------------------------------------------------------


def delete_mashup(mashup: Mashup) -> None:
    """Delete a mashup and its files (its uploads only if nothing else needs them:
    ``release``). Its row is locked first: a remake copying its songs (``jobs.remake``,
    under the same lock) is then either done, and its copy is seen using the uploads, or
    not begun, and finds the mashup gone."""
    with transaction.atomic():
        Mashup.objects.select_for_update().filter(pk=mashup.pk).exists()
        tracks, uploads = track_files(mashup), source_files(mashup)
        mashup.delete()
        delete_after_commit(tracks)
        # Only once the rows are surely gone: a rolled-back delete keeps its files. The
        # mashup is gone by then: a database that fails here leaves a file, logged, not a 500.
        transaction.on_commit(lambda: release(uploads), robust=True)


def delete_tracks(mashup: Mashup) -> None:
    """Delete a mashup's tracks and their files (a job tried again starts without them)."""
    names = track_files(mashup)
    Track.objects.filter(mashup=mashup).delete()
    delete_after_commit(names)


def delete_files(mashup: Mashup) -> None:
    """Delete a mashup's files, keeping its rows (retention): its tracks, and its uploads
    that no other job needs, once the caller's transaction, which marks it expired and
    empties its tracks' file fields, has committed. Before, they went at once: a rollback
    after that left a live mashup whose player, downloads and songs pointed at nothing.
    A database that fails once committed leaves a file, logged, not a 500."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("storage.delete_files must run in the transaction that expires")
    tracks, uploads, pk = track_files(mashup), source_files(mashup), mashup.pk
    delete_after_commit(tracks)
    transaction.on_commit(lambda: release(uploads, besides=pk), robust=True)


def delete_after_commit(names: list[str]) -> None:
    # Only once the rows are surely gone: a rolled-back delete keeps its files.
    transaction.on_commit(lambda: delete(names), robust=True)


TRACK_FILES = ("audio", "image", "vocals", "instrumental", "wav")  # a track's stored files


def track_files(mashup: Mashup) -> list[str]:
    rows = Track.objects.filter(mashup=mashup).values_list(*TRACK_FILES)
    return [str(name) for row in rows for name in row if name]


def delete(names: Iterable[str]) -> None:
    """Delete files no row points to (a mashup's tracks: each is its own)."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception as error:  # a full disk, a bucket that does not answer
            # Called once the rows are gone: the file is left and logged, never a 500 for
            # a delete that happened (a missing file raises nothing).
            log.warning("storage: could not delete %s: %s", name, error)


def release(names: Iterable[str], *, besides: int | None = None) -> int:
    """Delete the uploads in ``names`` that nothing needs any more (``in_use``; the mashup
    ``besides``, by pk, aside), each decided under its lock (``UploadLock``): a job that
    stored the same content a moment ago keeps it. Returns how many files went."""
    removed = 0
    for name in sorted(set(names)):  # one order, as storing takes them (forms.MashupForm.save)
        with transaction.atomic():
            UploadLock.objects.hold(name)
            if in_use(name, besides=besides):
                continue
            delete([name])
            UploadLock.objects.filter(name=name).delete()
            removed += 1
    return removed


def hold_stored(name: str) -> bool:
    """Hold the upload ``name``'s lock until the transaction ends and say whether it is
    still stored: a job about to use a kept upload then keeps it from ``release``, or
    learns it is gone."""
    UploadLock.objects.hold(name)
    return default_storage.exists(name)


def release_kept_beyond(owner_id: int | None, keep: int = KEPT_PER_PERSON) -> int:
    """Forget the person's kept uploads past their ``keep`` newest and release their files
    (``release``: a job still using one keeps it). Returns how many files went; nothing
    without a person (records from before owners were noted have none)."""
    if owner_id is None:
        return 0
    names = list(
        KeptFile.objects.filter(owner_id=owner_id)
        .order_by("-kept_at", "-pk")
        .values_list("name", flat=True)[keep:]
    )
    if not names:
        return 0
    KeptFile.objects.filter(owner_id=owner_id, name__in=names).delete()
    return release(names)


def stored_files(top: str) -> Iterator[str]:
    """Every file under the folder (or S3 prefix) ``top`` of the storage, depth first."""
    try:
        folders, files = default_storage.listdir(top)
    except FileNotFoundError:  # local storage: nothing was ever stored there
        return
    for name in files:
        yield f"{top}/{name}"
    for folder in folders:
        yield from stored_files(f"{top}/{folder}")


def recorded(names: Collection[str]) -> set[str]:
    """Which of ``names`` a row still points to: a live job's song, a kept upload that may
    still be used, or a track's file (any of its five)."""
    live = Source.objects.filter(file__in=names).filter(~Q(mashup__status=Status.EXPIRED))
    found = set(live.values_list("file", flat=True))
    found |= set(KeptFile.objects.fresh().filter(name__in=names).values_list("name", flat=True))
    any_field = Q()
    for field in TRACK_FILES:
        any_field |= Q(**{f"{field}__in": names})
    for row in Track.objects.filter(any_field).values_list(*TRACK_FILES):
        found.update(row)
    return found


def source_files(mashup: Mashup) -> list[str]:
    return [
        name for name in Source.objects.filter(mashup=mashup).values_list("file", flat=True) if name
    ]


def in_use(name: str, *, besides: int | None = None) -> bool:
    """Whether an upload is still needed: a job that is not expired uses it (the one whose
    pk is ``besides`` aside), or a person's "kept upload" token may still point to it
    (``KeptFile``)."""
    sources = Source.objects.filter(file=name).filter(~Q(mashup__status=Status.EXPIRED))
    if besides is not None:
        sources = sources.exclude(mashup_id=besides)
    return sources.exists() or KeptFile.objects.fresh().filter(name=name).exists()
