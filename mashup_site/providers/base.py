"""What every provider speaks: the job's status, tracks, a snapshot, one error type, and
the one ``Provider`` protocol that the local engine and the remote API both implement.

No Django models or views here, and nothing from ``mashups/``: the app maps these values
onto its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Protocol

from django.db.models import TextChoices


class Status(TextChoices):
    """Where a job is: the one vocabulary of providers, jobs, pages and the admin.

    The order of declaration is the order of progress. A provider reports SUBMITTED (the
    API's PENDING), ANALYSED, FIRST, COMPLETE or FAILED (docs/api-contract.md, "Poll"
    statuses and callback types, simplified); QUEUED and EXPIRED are the app's own.
    ANALYSED keeps the stored value "text" (the API's TEXT_SUCCESS), so no row changes.
    """

    QUEUED = "queued", "Queued"
    SUBMITTED = "submitted", "Submitted"
    ANALYSED = "text", "Analysed"
    FIRST = "first", "First track ready"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


# The longest value of each provider field the app keeps: the columns that hold them
# (mashups/models.py; tests/security/test_callbacks.py checks they agree). Longer values
# are refused, not cut: PostgreSQL raises on a value longer than its column.
LIMITS = {
    "task_id": 128,
    "id": 128,
    "title": 200,
    "model_name": 32,
    "url": 2000,
    "tags": 5000,
    "prompt": 10000,
    "message": 2000,
}
# The longest track any model makes is minutes long; a day is surely wrong.
MAX_TRACK_SECONDS = 86400.0


class InvalidPayload(ValueError):
    """Something the provider sent (a callback, a record) that breaks the contract's types
    or our limits. ``str()`` says which field, for the log and the 400."""


@dataclass(frozen=True)
class TrackResult:
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
    # What the local engine keeps for follow-ups, made with the render: files on this
    # machine by name ("vocals", "instrumental", "wav"), and the master's waveform (0-1).
    local_extras: Mapping[str, str] = field(default_factory=dict)
    waveform: tuple[float, ...] = ()


@dataclass(frozen=True)
class TaskSnapshot:
    """What a provider says about a task: where it is, and the tracks so far."""

    task_id: str
    status: Status
    tracks: tuple[TrackResult, ...] = ()
    word: str = ""  # the provider's own status word, for staff
    error_code: int | None = None
    error_message: str = ""
    analysis_text: str = ""
    # The tempo each song's beat was read at, in order (None: not read); the local engine's.
    tempi_heard: tuple[float | None, ...] = ()
    # Whether a steady beat was heard in each song, in order (one without has no tempo
    # heard); the local engine's.
    beats_heard: tuple[bool, ...] = ()
    # The key each song was heard in ("F# minor"), in order; the local engine's.
    keys_heard: tuple[str, ...] = ()
    raw: Mapping[str, object] = field(default_factory=dict)


class FollowUpKind(TextChoices):
    """What a person may ask for next about a finished track (docs/api-contract.md,
    "Follow-ups")."""

    STEMS = "stems", "Vocals and instrumental"
    WAV = "wav", "WAV"
    LYRICS = "lyrics", "Lyrics in time"


# The files each kind brings, by the names tracks keep them under.
FOLLOW_UP_FILES: dict[str, tuple[str, ...]] = {
    FollowUpKind.STEMS: ("vocals", "instrumental"),
    FollowUpKind.WAV: ("wav",),
    FollowUpKind.LYRICS: (),
}


@dataclass(frozen=True)
class FollowUpRequest:
    """One follow-up a provider is asked for, on one track of a finished mashup."""

    kind: str  # a FollowUpKind
    task_id: str  # the mashup's task at the provider
    audio_id: str  # the track's id at the provider
    callback_url: str
    instrumental: bool = False
    kept: frozenset[str] = frozenset()  # what the track already holds (local: the render's)


@dataclass(frozen=True)
class TimedWord:
    """A sung word and when it is sung (seconds); ``text`` may carry a section tag and a
    line break ("[Verse]\\nHello")."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class FollowUpSnapshot:
    """Where a follow-up is: SUBMITTED (working), COMPLETE (with what it made) or FAILED."""

    task_id: str
    status: Status
    files: Mapping[str, str] = field(default_factory=dict)  # name -> URL to copy
    words: tuple[TimedWord, ...] = ()
    waveform: tuple[float, ...] = ()
    word: str = ""  # the provider's own status word, for staff
    error_code: int | None = None
    error_message: str = ""
    raw: Mapping[str, object] = field(default_factory=dict)


class ProviderError(Exception):
    """A provider call failed. ``permanent`` errors are not retried; ``final`` ones are not
    worth trying again at all (the songs or the request cannot be used: the same request
    would fail the same way); ``str()`` is for people."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        final: bool = False,
        code: int | None = None,
        retry_after: float | None = None,
        maybe_accepted: bool = False,
        detail: str = "",
        body: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.body = body or {}  # the provider's answer, when it sent one (e.g. a 409's data)
        self.permanent = permanent or final
        self.final = final
        self.code = code
        self.retry_after = retry_after
        # A submit that timed out after it was sent: the provider may have the job.
        self.maybe_accepted = maybe_accepted
        # The provider's own words (its ``msg``), for the log and for telling refusals apart.
        self.detail = detail


@dataclass(frozen=True)
class Song:
    """One of a job's two songs, as a provider may need it."""

    position: int
    name: str  # a safe file name, the one its owner knows it by
    link: str = ""  # a public URL the person gave
    served_url: str = ""  # our secret, expiring link to an upload (remote providers fetch it)
    path: str | None = None  # the upload on this machine's disk, when storage is local
    open: Callable[[], IO[bytes]] | None = None  # the upload, wherever it is stored
    # A copy on the provider's upload service made earlier for this song (still valid):
    # submitted as it is, never uploaded again.
    hosted_url: str = ""
    # The local engine only: the tempo (BPM) its owner gave, at which its beat is read
    # (asked for when a mashup came out on a misheard beat). Not in the API's request.
    tempo: float | None = None
    # The local engine only: the key its owner gave ("F# minor"), planned for alone (asked
    # for when a mashup came out on a misheard key). Not in the API's request.
    key: str = ""


# Told each song's upload-service URL (position, URL) as soon as it exists, so that a job
# that is retried reuses it instead of uploading again.
HostedReporter = Callable[[int, str], None]


@dataclass(frozen=True)
class Job:
    """What a provider is asked to make."""

    pk: int
    payload: Mapping[str, object]  # the API request body, minus uploadUrlList and callBackUrl
    songs: tuple[Song, ...]
    callback_url: str
    # How uploaded songs reach a provider that fetches them (providers/delivery.py):
    # "link" (our secret links) or "upload" (the provider's upload service).
    delivery: str = "link"
    hosted: HostedReporter | None = None
    # The local engine only: lay the backing half a beat over, on the offbeats of its beat
    # grid (asked for when a mashup came out with the backing's kick on the lead's "and").
    # Not in ``payload``: a remote provider receives the payload as the API's request.
    backing_offbeat: bool = False


Reporter = Callable[[TaskSnapshot], None]


class Provider(Protocol):
    """Makes a job's two tracks. ``providers.get(kind)`` returns one.

    ``runs_inline`` providers make the whole job inside ``start`` (in the worker), telling
    ``report`` at each stage; the others submit in ``start`` and are read with ``poll``
    (callbacks carry the fast path, see ``mashups/callbacks.py``).
    """

    runs_inline: bool
    min_seconds: float  # the shortest song it can use

    def start(self, job: Job, report: Reporter) -> str:
        """Start (inline: make) the job; returns the provider's task id."""
        ...

    def poll(self, task_id: str) -> TaskSnapshot:
        """The task's current state."""
        ...

    def credits(self) -> int:
        """The account's balance; ``ProviderError`` when there is none to tell."""
        ...

    def follow_up_refusal(self, kind: str, *, instrumental: bool) -> str:
        """Why this provider cannot make ``kind`` for such a track, in words, or ""."""
        ...

    def follow_up(self, request: FollowUpRequest) -> FollowUpSnapshot:
        """Ask for a follow-up: SUBMITTED with the provider's task id (then ``poll_follow_up``
        or its callback), or already COMPLETE / FAILED when the provider answers at once."""
        ...

    def poll_follow_up(self, kind: str, task_id: str) -> FollowUpSnapshot:
        """A submitted follow-up's current state."""
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


# The upload service's answers (docs/api-contract.md, "Upload service"): its own words,
# since a 413 there is a file too large, not a song that matches an existing work.
UPLOAD_MESSAGES: dict[int, str] = {
    401: MESSAGES[401],
    402: MESSAGES[402],
    404: "The provider's upload service could not be found at its configured address; "
    "staff have been told.",
    413: "One of the songs is too large for the provider's upload service.",
}
UPLOAD_REFUSED = "The provider's upload service refused one of the songs."
UPLOAD_BUSY = "The provider's upload service is busy or down; retrying."
UPLOAD_TIMEOUT = "The provider's upload service did not answer in time; retrying."
UPLOAD_UNREADABLE = "The provider's upload service sent an answer that could not be read; retrying."
UPLOAD_UNREAD_SOURCE = (
    "One of the uploaded songs could not be read from storage; staff have been told."
)


def upload_message(code: int | None, *, retryable: bool) -> str:
    """A message for the person when the upload service did not take a song."""
    if code in UPLOAD_MESSAGES:
        return UPLOAD_MESSAGES[code]
    return UPLOAD_BUSY if retryable else UPLOAD_REFUSED


def user_message(code: int | None, msg: str = "") -> str:
    """A message for the person: the contract's meaning of ``code``, else the provider's."""
    if code in MESSAGES:
        return MESSAGES[code]
    return msg or "The provider could not make this mashup."
