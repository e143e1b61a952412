"""What every provider speaks: stages, tracks, a task snapshot, one error type.

No Django models or views here; the app maps these values onto its rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Stage(StrEnum):
    """Where a provider's task is (docs/api-contract.md, "Poll" statuses, simplified)."""

    PENDING = "pending"
    TEXT = "text"
    FIRST = "first"
    COMPLETE = "complete"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (Stage.COMPLETE, Stage.FAILED)


@dataclass(frozen=True)
class Track:
    """One generated track, in whichever naming style the provider used."""

    id: str = ""
    audio_url: str = ""
    stream_audio_url: str = ""
    image_url: str = ""
    title: str = ""
    tags: str = ""
    prompt: str = ""
    model_name: str = ""
    duration: float | None = None
    created_at: datetime | None = None
    source_audio_url: str = ""
    source_stream_audio_url: str = ""
    source_image_url: str = ""
    # The local engine's results are files on this machine, not URLs.
    local_audio_path: str = ""
    local_image_path: str = ""
    # 1 or 2 when the provider says which track this is; otherwise its place in the list.
    # (The local engine renders both at once: the second may be written first.)
    position: int | None = None


@dataclass(frozen=True)
class TaskSnapshot:
    task_id: str
    stage: Stage
    tracks: tuple[Track, ...] = ()
    status: str = ""  # the provider's own status word, for staff
    error_code: int | None = None
    error_message: str = ""
    analysis_text: str = ""
    raw: Mapping[str, object] = field(default_factory=dict)


class ProviderError(Exception):
    """A provider call failed. ``permanent`` errors are not retried; ``str()`` is for people."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: int | None = None,
        retry_after: float | None = None,
        maybe_accepted: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after
        # A submit that timed out after it was sent: the provider may have the job.
        self.maybe_accepted = maybe_accepted


class Provider(Protocol):
    name: str

    def submit(self, payload: Mapping[str, object], *, callback_url: str) -> str:
        """Start a task; returns the provider's task id."""
        ...

    def fetch(self, task_id: str) -> TaskSnapshot:
        """The task's current state."""
        ...


# Each contract code as a person would want it said (docs/api-contract.md, "Response and
# error codes" and the callback failure codes).
MESSAGES: dict[int, str] = {
    400: "The provider refused the request: the lyrics or style may break its content rules.",
    401: "The mashup service is misconfigured (its API key was rejected); staff have been told.",
    402: "The mashup service is out of credits; staff have been told.",
    404: "The mashup service could not be found at its configured address; staff have been told.",
    405: "The provider is busy (rate limited); retrying.",
    408: "The provider timed out while making the mashup.",
    409: "The provider reported a conflict with an earlier request.",
    413: "One of the songs matches an existing work, so the provider refused it.",
    422: "The provider found the request invalid.",
    429: "The provider is out of credits or busy; retrying.",
    430: "The provider is busy (too many requests); retrying.",
    451: "The provider could not download the source files.",
    455: "The provider is down for maintenance; retrying.",
    500: "The provider had an internal error.",
    501: "The provider could not generate the mashup.",
    505: "The provider has switched this feature off.",
    531: "The provider could not generate the mashup; its credits were refunded.",
}


def user_message(code: int | None, msg: str = "") -> str:
    """A message for the person: the contract's meaning of ``code``, else the provider's."""
    if code in MESSAGES:
        return MESSAGES[code]
    return msg or "The provider could not make this mashup."
