"""Files through Django's storage API, under content-addressed names (docs/design.md, rule 7).

The same bytes are stored once, whatever they were called, so S3 or the local disk is a
matter of configuration (settings.STORAGES) and re-uploading a song costs no space.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.core.files import File
from django.core.files.storage import default_storage


@dataclass(frozen=True)
class StoredFile:
    name: str  # storage name
    sha256: str
    size: int


def sha256_of(fileobj: File) -> str:
    """Hash in chunks, never the whole file in memory."""
    digest = hashlib.sha256()
    fileobj.seek(0)
    for chunk in fileobj.chunks():
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def content_name(prefix: str, digest: str, original_name: str) -> str:
    suffix = PurePosixPath(original_name).suffix.lower()
    suffix = suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ""
    return f"{prefix}/{digest[:2]}/{digest[2:4]}/{digest}{suffix}"


def store_content_addressed(fileobj: File, *, prefix: str, original_name: str = "") -> StoredFile:
    digest = sha256_of(fileobj)
    name = content_name(prefix, digest, original_name or fileobj.name or "")
    if not default_storage.exists(name):
        name = default_storage.save(name, fileobj)
    return StoredFile(name=name, sha256=digest, size=fileobj.size or default_storage.size(name))
