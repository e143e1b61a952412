"""The httpx client of the Suno mashup API (docs/api-contract.md).

Liberal in what it accepts (both track naming styles, ``createTime`` as text or epoch
milliseconds, ``task_id`` or ``taskId``, unknown statuses), strict in what it sends.
Every call has a timeout and the Bearer key; the body's ``code`` is read as well as the
HTTP status, because some resellers answer HTTP 200 with an error code in the body.
Retryable codes are retried with exponential back-off that honours ``Retry-After``;
everything else is a permanent ``ProviderError``. The key never appears in a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import IO, Any
from urllib.parse import urlsplit

import httpx

from . import delivery
from .base import (
    LIMITS,
    MAX_TRACK_SECONDS,
    UPLOAD_TIMEOUT,
    UPLOAD_UNREAD_SOURCE,
    UPLOAD_UNREADABLE,
    FollowUpKind,
    FollowUpRequest,
    FollowUpSnapshot,
    InvalidPayload,
    Job,
    ProviderError,
    Reporter,
    Song,
    Status,
    TaskSnapshot,
    TimedWord,
    TrackResult,
    upload_message,
    user_message,
)
from .throttle import SlotStore, Throttle

log = logging.getLogger(__name__)

SUBMIT_PATH = "/api/v1/generate/mashup"
RECORD_PATH = "/api/v1/generate/record-info"
CREDIT_PATH = "/api/v1/generate/credit"
# The upload service (docs/api-contract.md, "Upload service"), on a host of its own.
STREAM_UPLOAD_PATH = "/api/file-stream-upload"
URL_UPLOAD_PATH = "/api/file-url-upload"
UPLOAD_FOLDER = "mashup-sources"  # the service's ``uploadPath``: a folder of our choosing
# docs/api-contract.md, "Follow-ups": each is a task of its own (but the lyrics, answered
# at once), with its own record to poll.
VOCAL_PATH = "/api/v1/vocal-removal/generate"
VOCAL_RECORD_PATH = "/api/v1/vocal-removal/record-info"
WAV_PATH = "/api/v1/wav/generate"
WAV_RECORD_PATH = "/api/v1/wav/record-info"
LYRICS_PATH = "/api/v1/generate/get-timestamped-lyrics"
FOLLOW_UP_PATHS = {
    FollowUpKind.STEMS: (VOCAL_PATH, VOCAL_RECORD_PATH),
    FollowUpKind.WAV: (WAV_PATH, WAV_RECORD_PATH),
}
# The follow-ups' record statuses (``successFlag``).
FOLLOW_UP_FLAGS = {
    "PENDING": Status.SUBMITTED,
    "SUCCESS": Status.COMPLETE,
    "CREATE_TASK_FAILED": Status.FAILED,
    "GENERATE_AUDIO_FAILED": Status.FAILED,
}
NO_LYRICS_INSTRUMENTAL = "An instrumental track has no lyrics to follow."
MAX_WORDS = 10000
MAX_WAVEFORM = 2000

# docs/api-contract.md, "Response and error codes": retry these, nothing else.
RETRYABLE = frozenset({405, 408, 429, 430, 455, 500})
# An upload costs nothing and makes nothing: sending it again is always safe, so a gateway
# error (502, 503, 504) is retried too.
UPLOAD_RETRYABLE = RETRYABLE | {502, 503, 504}

# docs/api-contract.md, "Poll": status words -> our statuses.
STATUSES = {
    "PENDING": Status.SUBMITTED,
    "TEXT_SUCCESS": Status.ANALYSED,
    "FIRST_SUCCESS": Status.FIRST,
    "SUCCESS": Status.COMPLETE,
    "CREATE_TASK_FAILED": Status.FAILED,
    "GENERATE_AUDIO_FAILED": Status.FAILED,
    "SENSITIVE_WORD_ERROR": Status.FAILED,
}
CALLBACK_TYPES = {
    "text": Status.ANALYSED,
    "first": Status.FIRST,
    "complete": Status.COMPLETE,
    "error": Status.FAILED,
}


# --- parsing (module level: the callback view uses it too) -------------------------------------


MAX_DEPTH = 32  # the contract's deepest body is 5 levels; a JSON bomb is thousands


def loads(raw: bytes | str) -> Any:
    """JSON from the provider, strictly: no NaN or Infinity (Python's json takes them, and
    ``1e999`` becomes ``inf``), no nesting deeper than MAX_DEPTH. InvalidPayload otherwise."""
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise InvalidPayload("the body is nested too deeply") from None
    except (ValueError, TypeError) as error:  # JSONDecodeError and UnicodeDecodeError too
        raise InvalidPayload(f"the body is not JSON ({error})") from None
    _check_depth(value)
    return value


def _no_constant(name: str) -> float:
    raise InvalidPayload(f"{name} is not a number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidPayload(f"{text[:20]} is not a finite number")
    return value


def _check_depth(value: Any) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidPayload("the body is nested too deeply")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _pick(data: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = data.get(name)
        if value not in (None, ""):
            return value
    return None


def _text(data: Mapping[str, Any], *names: str, limit: str) -> str:
    """A text field: a string (or an integer, for ids) no longer than its column."""
    value = _pick(data, *names)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidPayload(f"{names[0]} is not text")
    text = str(value)
    if len(text) > LIMITS[limit]:
        raise InvalidPayload(f"{names[0]} is longer than {LIMITS[limit]} characters")
    return text


def _url(data: Mapping[str, Any], *names: str) -> str:
    """A file URL: http(s) only (a ``javascript:`` or ``data:`` URL would reach ``<a href>``
    and ``<audio src>``), no longer than its column."""
    url = _text(data, *names, limit="url")
    if url and not (url.lower().startswith(("http://", "https://")) and urlsplit(url).hostname):
        raise InvalidPayload(f"{names[0]} is not an http(s) URL")
    return url


def parse_time(value: object) -> datetime | None:
    """``createTime`` as "YYYY-MM-DD HH:MM:SS" (taken as UTC) or epoch milliseconds."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(float(value) / 1000, tz=UTC)
        parsed = datetime.fromisoformat(str(value)[:64].replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _duration(value: object) -> float | None:
    """Seconds: a finite number from 0 to a day (the pages do arithmetic on it)."""
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPayload("duration is not a number")
    seconds = float(value)
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_TRACK_SECONDS):
        raise InvalidPayload("duration is out of range")
    return seconds


def parse_track(data: Mapping[str, Any]) -> TrackResult:
    """A track from either naming style: camelCase (poll) or snake_case (callbacks)."""
    return TrackResult(
        id=_text(data, "id", limit="id"),
        audio_url=_url(data, "audioUrl", "audio_url"),
        stream_audio_url=_url(data, "streamAudioUrl", "stream_audio_url"),
        image_url=_url(data, "imageUrl", "image_url"),
        title=_text(data, "title", limit="title"),
        tags=_text(data, "tags", limit="tags"),
        prompt=_text(data, "prompt", limit="prompt"),
        model_name=_text(data, "modelName", "model_name", limit="model_name"),
        duration=_duration(_pick(data, "duration")),
        created_at=parse_time(_pick(data, "createTime", "create_time")),
        source_audio_url=_url(data, "sourceAudioUrl", "source_audio_url"),
        source_stream_audio_url=_url(data, "sourceStreamAudioUrl", "source_stream_audio_url"),
        source_image_url=_url(data, "sourceImageUrl", "source_image_url"),
    )


def _tracks(items: object) -> tuple[TrackResult, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise InvalidPayload("the tracks are not a list")
    if not all(isinstance(item, Mapping) for item in items):
        raise InvalidPayload("a track is not an object")
    return tuple(parse_track(item) for item in items)


def _code(value: object) -> int | None:
    """A contract code: an integer (or its digits) from 0 to 999; None when absent."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 999:
        raise InvalidPayload("code is not a status code")
    return value


def _message(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidPayload("msg is not text")
    if len(value) > LIMITS["message"]:
        raise InvalidPayload(f"msg is longer than {LIMITS['message']} characters")
    return value


def parse_callback(body: Mapping[str, Any]) -> TaskSnapshot:
    """A callback body (docs/api-contract.md, "Callback") as a snapshot; InvalidPayload when
    a field breaks the contract's types or our limits."""
    if not isinstance(body, Mapping):
        raise InvalidPayload("callback body must be a JSON object")
    data = body.get("data") or {}
    if not isinstance(data, Mapping):
        raise InvalidPayload("callback data must be an object")
    code = _code(body.get("code"))
    message = _message(body.get("msg"))
    kind = data.get("callbackType") or data.get("callback_type") or ""
    if not isinstance(kind, str):
        raise InvalidPayload("callbackType is not text")
    kind = kind.lower()[:32]
    status = CALLBACK_TYPES.get(kind, Status.SUBMITTED)
    if code not in (None, 200):
        status = Status.FAILED
    failed = status == Status.FAILED
    return TaskSnapshot(
        task_id=_text(data, "task_id", "taskId", limit="task_id"),
        status=status,
        tracks=_tracks(data.get("data")),
        word=kind,
        error_code=code if failed and code != 200 else None,
        error_message=message if failed else "",
        raw=dict(body),
    )


def parse_record(body: Mapping[str, Any], task_id: str) -> TaskSnapshot:
    """A record-info answer (docs/api-contract.md, "Poll") as a snapshot."""
    data = body.get("data") or {}
    if not isinstance(data, Mapping):
        raise InvalidPayload("record data must be an object")
    response = data.get("response") or {}
    tracks = _tracks(response.get("sunoData") if isinstance(response, Mapping) else None)
    word = data.get("status") or ""
    if not isinstance(word, str):
        raise InvalidPayload("status is not text")
    word = word[:64]
    if word == "CALLBACK_EXCEPTION":
        # The provider could not call us back; the audio may exist all the same.
        status = _status_from_tracks(tracks)
    elif word in STATUSES:
        status = STATUSES[word]
    else:
        log.warning("unknown provider status %r for task %s; keeping it pending", word, task_id)
        status = Status.SUBMITTED
    failed = status == Status.FAILED
    return TaskSnapshot(
        task_id=_text(data, "taskId", "task_id", limit="task_id") or task_id,
        status=status,
        tracks=tracks,
        word=word,
        error_code=_code(data.get("errorCode")) if failed else None,
        error_message=_message(data.get("errorMessage")) if failed else "",
        raw=dict(body),
    )


def _status_from_tracks(tracks: tuple[TrackResult, ...]) -> Status:
    finished = sum(1 for track in tracks if track.audio_url)
    return Status.COMPLETE if finished >= 2 else Status.FIRST if finished == 1 else Status.SUBMITTED


def _files_of(kind: str, response: Mapping[str, Any]) -> dict[str, str]:
    """The files a follow-up record names (null stems are left out)."""
    if kind == FollowUpKind.STEMS:
        files = {
            "vocals": _url(response, "vocalUrl", "vocal_url"),
            "instrumental": _url(response, "instrumentalUrl", "instrumental_url"),
        }
    else:  # the WAV's URL has been seen as audioWavUrl: take any "...wav...url" field
        names = [k for k in response if "wav" in k.lower() and "url" in k.lower()]
        files = {"wav": _url(response, "audioWavUrl", "audio_wav_url", "wavUrl", *names)}
    return {name: url for name, url in files.items() if url}


def parse_follow_up_record(kind: str, body: Mapping[str, Any], task_id: str) -> FollowUpSnapshot:
    """A vocal-removal or WAV record-info answer (docs/api-contract.md, "Follow-ups")."""
    data = body.get("data") or {}
    if not isinstance(data, Mapping):
        raise InvalidPayload("record data must be an object")
    response = data.get("response") or {}
    if isinstance(response, str):  # the WAV's record has been seen with the URL alone
        response = {"audioWavUrl": response}
    if not isinstance(response, Mapping):
        raise InvalidPayload("response must be an object")
    files = _files_of(kind, response)
    word = data.get("successFlag") or data.get("status") or ""
    if not isinstance(word, str):
        raise InvalidPayload("successFlag is not text")
    word = word[:64]
    if word in FOLLOW_UP_FLAGS:
        status = FOLLOW_UP_FLAGS[word]
    elif word == "CALLBACK_EXCEPTION":  # it could not call us back: the files may exist
        status = Status.COMPLETE if files else Status.SUBMITTED
    else:
        log.warning("unknown follow-up status %r for task %s; keeping it pending", word, task_id)
        status = Status.SUBMITTED
    failed = status == Status.FAILED
    return FollowUpSnapshot(
        task_id=_text(data, "taskId", "task_id", limit="task_id") or task_id,
        status=status,
        files=files if status == Status.COMPLETE else {},
        word=word,
        error_code=_code(data.get("errorCode")) if failed else None,
        error_message=_message(data.get("errorMessage")) if failed else "",
        raw=dict(body),
    )


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPayload(f"{name} is not a number")
    if not (math.isfinite(value) and 0 <= value <= MAX_TRACK_SECONDS):
        raise InvalidPayload(f"{name} is out of range")
    return float(value)


def parse_lyrics(body: Mapping[str, Any], task_id: str) -> FollowUpSnapshot:
    """The timestamped lyrics' answer: its aligned words and waveform."""
    data = body.get("data") or {}
    if not isinstance(data, Mapping):
        raise InvalidPayload("lyrics data must be an object")
    items = data.get("alignedWords") or []
    points = data.get("waveformData") or []
    if not isinstance(items, list) or len(items) > MAX_WORDS:
        raise InvalidPayload("alignedWords is not a list of words")
    if not isinstance(points, list):
        raise InvalidPayload("waveformData is not a list")
    words = []
    for item in items:
        if not isinstance(item, Mapping):
            raise InvalidPayload("an aligned word is not an object")
        text = item.get("word")
        if not isinstance(text, str) or len(text) > 500:
            raise InvalidPayload("word is not text")
        start = _seconds(item.get("startS"), "startS")
        words.append(TimedWord(text, start, max(start, _seconds(item.get("endS"), "endS"))))
    return FollowUpSnapshot(
        task_id=task_id,
        status=Status.COMPLETE,
        words=tuple(words),
        waveform=_waveform(points),
        word="answered",
        raw={"code": body.get("code"), "words": len(words), "waveform": len(points)},
    )


def _waveform(points: list[Any]) -> tuple[float, ...]:
    """Numbers from 0 to 1 (clipped), at most MAX_WAVEFORM (the loudest of each stretch)."""
    values = []
    for point in points:
        number = isinstance(point, int | float) and not isinstance(point, bool)
        if not (number and math.isfinite(point)):
            raise InvalidPayload("waveformData holds something other than numbers")
        values.append(min(max(float(point), 0.0), 1.0))
    if len(values) > MAX_WAVEFORM:
        step = len(values) / MAX_WAVEFORM
        values = [
            max(values[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)])
            for i in range(MAX_WAVEFORM)
        ]
    return tuple(round(v, 3) for v in values)


SIGNATURE_MAX_SKEW = 300  # seconds a signed timestamp stays fresh


def verify_signature(
    task_id: str,
    timestamp: str,
    signature: str,
    key: str,
    *,
    now: float,
    max_skew: float = SIGNATURE_MAX_SKEW,
) -> bool:
    """kie.ai-style: base64(HMAC-SHA256(key, taskId + "." + timestamp)), fresh timestamp."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - stamp) > max_skew or not task_id or not signature:
        return False
    digest = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature.strip())


# --- the client -------------------------------------------------------------------------------


def default_sleep(seconds: float) -> None:
    """The one place the client waits (tests replace it: no test sleeps)."""
    time.sleep(seconds)


class Client:
    """The API's three calls, as the contract describes them (one HTTP client per use)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        upload_base_url: str = "",
        timeout: float = 20.0,
        max_retries: int = 3,
        backoff: float = 1.0,
        max_delay: float = 60.0,
        throttle: Throttle | None = None,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_delay = max_delay
        self.throttle = throttle
        self.sleep = sleep or default_sleep
        headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._client = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers=headers, transport=transport
        )
        # The upload service lives on a host of its own, with the same key.
        self.upload_base_url = (upload_base_url or base_url).rstrip("/")
        self._uploads = httpx.Client(
            base_url=self.upload_base_url, timeout=timeout, headers=headers, transport=transport
        )

    def __repr__(self) -> str:  # never the key
        return f"Client(base_url={self.base_url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()
        self._uploads.close()

    def submit(self, payload: Mapping[str, object], *, callback_url: str) -> str:
        """Start a task. Only answers that prove the provider refused it are retried: after a
        timeout or a cut connection it may have accepted it, and a second submit would make
        (and bill) a second job, so that error says ``maybe_accepted``."""
        if self.throttle is not None:
            self.throttle.wait()
        body = self._call(
            "POST", SUBMIT_PATH, json={**payload, "callBackUrl": callback_url}, once=True
        )
        data = body.get("data") or {}
        try:
            task_id = _text(data, "taskId", "task_id", limit="task_id")
        except (InvalidPayload, AttributeError):
            task_id = ""
        if not task_id:
            raise ProviderError(
                "The provider accepted the job but sent no task id.", permanent=True
            )
        return task_id

    def fetch(self, task_id: str) -> TaskSnapshot:
        body = self._call("GET", RECORD_PATH, params={"taskId": task_id})
        try:
            return parse_record(body, task_id)
        except InvalidPayload as error:
            # The next poll reads it again; the give-up time ends a job that never reads.
            log.warning("unreadable record for task %s: %s", task_id, error)
            raise ProviderError(
                "The provider sent an answer that could not be read.", permanent=False
            ) from None

    def follow_up(self, request: FollowUpRequest) -> FollowUpSnapshot:
        """Ask for a follow-up (docs/api-contract.md, "Follow-ups"). Vocal removal and WAV
        are submitted once, like a mashup (each is charged; a timeout may have been
        accepted); a 409 on WAV means one exists already: its record is read instead."""
        body: dict[str, Any] = {"taskId": request.task_id, "audioId": request.audio_id}
        if request.kind == FollowUpKind.LYRICS:
            answer = self._call("POST", LYRICS_PATH, json=body)
            return self._parsed(parse_lyrics, answer, request.task_id)
        path, _ = FOLLOW_UP_PATHS[FollowUpKind(request.kind)]
        if request.kind == FollowUpKind.STEMS:
            body["type"] = "separate_vocal"
        body["callBackUrl"] = request.callback_url
        try:
            answer = self._call("POST", path, json=body, once=True)
        except ProviderError as error:
            if error.code != 409 or request.kind != FollowUpKind.WAV:
                raise
            data = error.body.get("data")
            existing = data.get("taskId") if isinstance(data, Mapping) else None
            task_id = existing if isinstance(existing, str) and existing else request.task_id
            return self.fetch_follow_up(request.kind, task_id)
        data = answer.get("data")
        try:
            task_id = _text(data, "taskId", "task_id", limit="task_id")  # type: ignore[arg-type]
        except (InvalidPayload, AttributeError):
            task_id = ""
        if not task_id:
            raise ProviderError("The provider accepted it but sent no task id.", permanent=True)
        return FollowUpSnapshot(task_id, Status.SUBMITTED, word="submitted", raw=answer)

    def fetch_follow_up(self, kind: str, task_id: str) -> FollowUpSnapshot:
        _, record = FOLLOW_UP_PATHS[FollowUpKind(kind)]
        body = self._call("GET", record, params={"taskId": task_id})
        return self._parsed(partial(parse_follow_up_record, kind), body, task_id)

    def _parsed(
        self, parse: Callable[[Mapping[str, Any], str], FollowUpSnapshot], body: Any, task_id: str
    ) -> FollowUpSnapshot:
        try:
            return parse(body, task_id)
        except InvalidPayload as error:
            log.warning("unreadable follow-up answer for task %s: %s", task_id, error)
            raise ProviderError(
                "The provider sent an answer that could not be read.", permanent=False
            ) from None

    def credits(self) -> int:
        data = self._call("GET", CREDIT_PATH).get("data")
        try:
            return int(data)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ProviderError(
                "The provider sent an unreadable credit balance.", permanent=True
            ) from None

    # --- the upload service ---------------------------------------------------------------

    def upload_file(self, opener: Callable[[], IO[bytes]], *, file_name: str) -> str:
        """Stream a stored song to the upload service (``file-stream-upload``, multipart:
        httpx reads the file in 64 KiB chunks, never whole); its ``downloadUrl``.

        The base64 upload is not used: it holds the whole file in memory, a third larger,
        and the stream upload works for every size, so one path serves all songs."""

        def send() -> httpx.Response:
            with opener() as handle:
                return self._uploads.post(
                    STREAM_UPLOAD_PATH,
                    data={"uploadPath": UPLOAD_FOLDER, "fileName": file_name},
                    files={"file": (file_name, handle, "application/octet-stream")},
                )

        return self._retrying("upload", STREAM_UPLOAD_PATH, lambda: self._upload_once(send))

    def upload_url(self, url: str, *, file_name: str) -> str:
        """Have the upload service fetch a link itself (``file-url-upload``): for a link the
        generation endpoint refused to fetch; its ``downloadUrl``."""

        def send() -> httpx.Response:
            body = {"fileUrl": url, "uploadPath": UPLOAD_FOLDER, "fileName": file_name}
            return self._uploads.post(URL_UPLOAD_PATH, json=body)

        return self._retrying("upload", URL_UPLOAD_PATH, lambda: self._upload_once(send))

    def _upload_once(self, send: Callable[[], httpx.Response]) -> str:
        try:
            response = send()
        except httpx.TimeoutException:
            raise ProviderError(UPLOAD_TIMEOUT, permanent=False, code=408) from None
        except httpx.HTTPError as error:
            raise ProviderError(
                upload_message(None, retryable=True),
                permanent=False,
                detail=type(error).__name__,
            ) from None
        except OSError as error:  # our own stored song could not be read
            log.error("could not read a song for the upload service: %s", error)
            raise ProviderError(UPLOAD_UNREAD_SOURCE, permanent=True) from None
        body = _json(response)
        code, message = _outcome(response, body)
        if code != 200:
            retryable = code in UPLOAD_RETRYABLE
            raise ProviderError(
                upload_message(code, retryable=retryable),
                permanent=not retryable,
                code=code,
                retry_after=_retry_after(response),
                detail=message,
            )
        data = body.get("data")
        try:
            url = _url(data, "downloadUrl", "download_url") if isinstance(data, Mapping) else ""
        except InvalidPayload:
            url = ""
        if not url:
            raise ProviderError(UPLOAD_UNREADABLE, permanent=False)
        return url

    # --- every call ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, once: bool = False, **kwargs: Any) -> dict[str, Any]:
        return self._retrying(method, path, lambda: self._once(method, path, once=once, **kwargs))

    def _retrying[T](self, method: str, path: str, attempt_once: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return attempt_once()
            except ProviderError as error:
                if error.permanent or error.maybe_accepted or attempt >= self.max_retries:
                    raise
                delay = self._delay(error, attempt)
                log.warning(
                    "provider %s %s failed (%s); retry %d in %.1f s",
                    method,
                    path,
                    error.code or error,
                    attempt + 1,
                    delay,
                )
                self.sleep(delay)
                attempt += 1

    def _delay(self, error: ProviderError, attempt: int) -> float:
        """Retry-After when the provider gave one, else exponential; never above max_delay."""
        wanted = error.retry_after if error.retry_after is not None else self.backoff * 2**attempt
        return min(wanted, self.max_delay)

    def _once(self, method: str, path: str, *, once: bool, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # Nothing reached the provider: safe to retry, even a submit.
            raise ProviderError(
                f"The provider could not be reached ({type(error).__name__}).", permanent=False
            ) from None
        except httpx.TimeoutException:
            raise ProviderError(
                "The provider did not answer in time.",
                permanent=False,
                code=408,
                maybe_accepted=once,
            ) from None
        except httpx.HTTPError as error:
            raise ProviderError(
                f"The provider's answer was cut off ({type(error).__name__}).",
                permanent=False,
                maybe_accepted=once,
            ) from None
        body = _json(response)
        code, message = _outcome(response, body)
        if code != 200:
            raise ProviderError(
                user_message(code, message),
                permanent=code not in RETRYABLE,
                code=code,
                retry_after=_retry_after(response),
                detail=message,
                body=body,
            )
        return body


def _outcome(response: httpx.Response, body: Mapping[str, Any]) -> tuple[int, str]:
    """The answer's code, 200 only when both the HTTP status and the body's ``code`` say
    so (the contract answers some errors as HTTP 200 with an error code), and its words."""
    try:
        code = _code(body.get("code")) or response.status_code
        message = _message(body.get("msg"))
    except InvalidPayload:
        code, message = (response.status_code if response.status_code != 200 else 500), ""
    if response.status_code != 200 and code == 200:
        code = response.status_code
    return code, message


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = loads(response.content)
    except InvalidPayload:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def client_from_settings(*, store: SlotStore | None = None, max_retries: int = 3) -> Client:
    """The client as configured; ``store`` shares the submission window between processes."""
    from django.conf import settings

    return Client(
        base_url=settings.MASHUP_API_BASE_URL,
        api_key=settings.MASHUP_API_KEY,
        upload_base_url=settings.MASHUP_UPLOAD_BASE_URL,
        timeout=settings.MASHUP_API_TIMEOUT,
        max_retries=max_retries,
        throttle=Throttle(settings.MASHUP_SUBMIT_RATE, settings.MASHUP_SUBMIT_WINDOW, store=store),
    )


# --- the provider -----------------------------------------------------------------------------


class RemoteProvider:
    """The Suno mashup API as a ``Provider``: ``start`` submits once, ``poll`` reads the
    record; callbacks (``parse_callback``) carry the fast path."""

    runs_inline = False
    min_seconds = 0.0

    def __init__(self, *, slots: SlotStore | None = None) -> None:
        self.slots = slots

    def start(self, job: Job, report: Reporter) -> str:
        """Deliver the songs (``deliver``), then submit once. When the generation endpoint
        refuses to fetch a link the person gave ("File fetch failed", 451), that link goes
        through the upload service (``file-url-upload``) and the job is submitted again,
        once: a refusal is an answer, so the provider has no job to bill twice."""
        with client_from_settings(store=self.slots) as client:
            urls = [deliver(client, job, song) for song in job.songs]
            try:
                return client.submit(
                    {**job.payload, "uploadUrlList": urls}, callback_url=job.callback_url
                )
            except ProviderError as error:
                refused = [
                    song
                    for song, url in zip(job.songs, urls, strict=True)
                    if song.link and url == song.link
                ]
                if not (refused and refused_fetch(error)):
                    raise
                log.warning("job %s: the provider refused a link (%s); uploading it", job.pk, error)
            hosted = {song.position: host_link(client, job, song) for song in refused}
            urls = [
                hosted.get(song.position, url) for song, url in zip(job.songs, urls, strict=True)
            ]
            return client.submit(
                {**job.payload, "uploadUrlList": urls}, callback_url=job.callback_url
            )

    def poll(self, task_id: str) -> TaskSnapshot:
        with client_from_settings(store=self.slots) as client:
            return client.fetch(task_id)

    def follow_up_refusal(self, kind: str, *, instrumental: bool) -> str:
        if kind == FollowUpKind.LYRICS and instrumental:
            return NO_LYRICS_INSTRUMENTAL
        return ""

    def follow_up(self, request: FollowUpRequest) -> FollowUpSnapshot:
        with client_from_settings(store=self.slots) as client:
            return client.follow_up(request)

    def poll_follow_up(self, kind: str, task_id: str) -> FollowUpSnapshot:
        with client_from_settings(store=self.slots) as client:
            return client.fetch_follow_up(kind, task_id)

    def credits(self) -> int:
        """Asked once, without retries: a staff page must not wait out the back-off
        (docs/api-contract.md, "Credits")."""
        with client_from_settings(max_retries=0) as client:
            return client.credits()


def deliver(client: Client, job: Job, song: Song) -> str:
    """The URL the provider downloads ``song`` from: a copy made earlier on the upload
    service, the person's link, a new upload (``upload`` delivery) or our secret link."""
    if song.hosted_url:
        return song.hosted_url
    if song.link:
        return song.link
    if job.delivery != delivery.UPLOAD:
        return song.served_url
    if song.open is None:
        raise ProviderError(UPLOAD_UNREAD_SOURCE, permanent=True)
    url = client.upload_file(song.open, file_name=song.name)
    if job.hosted is not None:
        job.hosted(song.position, url)  # saved before the submit: a retry reuses it
    return url


def host_link(client: Client, job: Job, song: Song) -> str:
    url = client.upload_url(song.link, file_name=song.name)
    if job.hosted is not None:
        job.hosted(song.position, url)
    return url


def refused_fetch(error: ProviderError) -> bool:
    """The generation endpoint could not download a source (451, or "File fetch failed"
    in its words, whatever the code). Only a definite answer: a submit that may have been
    accepted is never sent again."""
    if error.maybe_accepted:
        return False
    return error.code == 451 or "fetch" in error.detail.lower()


def provider(*, slots: SlotStore | None = None, **options: Any) -> RemoteProvider:
    return RemoteProvider(slots=slots)
