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
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from .base import ProviderError, Stage, TaskSnapshot, Track, user_message

log = logging.getLogger(__name__)

SUBMIT_PATH = "/api/v1/generate/mashup"
RECORD_PATH = "/api/v1/generate/record-info"
CREDIT_PATH = "/api/v1/generate/credit"

# docs/api-contract.md, "Response and error codes": retry these, nothing else.
RETRYABLE = frozenset({405, 408, 429, 430, 455, 500})

# docs/api-contract.md, "Poll": status words -> our stages.
STATUSES = {
    "PENDING": Stage.PENDING,
    "TEXT_SUCCESS": Stage.TEXT,
    "FIRST_SUCCESS": Stage.FIRST,
    "SUCCESS": Stage.COMPLETE,
    "CREATE_TASK_FAILED": Stage.FAILED,
    "GENERATE_AUDIO_FAILED": Stage.FAILED,
    "SENSITIVE_WORD_ERROR": Stage.FAILED,
}
CALLBACK_TYPES = {
    "text": Stage.TEXT,
    "first": Stage.FIRST,
    "complete": Stage.COMPLETE,
    "error": Stage.FAILED,
}


# --- parsing (module level: the callback view uses it too) -------------------------------------


def _pick(data: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = data.get(name)
        if value not in (None, ""):
            return value
    return None


def _text(data: Mapping[str, Any], *names: str) -> str:
    value = _pick(data, *names)
    return str(value) if value is not None else ""


def parse_time(value: object) -> datetime | None:
    """``createTime`` as "YYYY-MM-DD HH:MM:SS" (taken as UTC) or epoch milliseconds."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(float(value) / 1000, tz=UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _duration(value: object) -> float | None:
    try:
        return float(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def parse_track(data: Mapping[str, Any]) -> Track:
    """A track from either naming style: camelCase (poll) or snake_case (callbacks)."""
    return Track(
        id=_text(data, "id"),
        audio_url=_text(data, "audioUrl", "audio_url"),
        stream_audio_url=_text(data, "streamAudioUrl", "stream_audio_url"),
        image_url=_text(data, "imageUrl", "image_url"),
        title=_text(data, "title"),
        tags=_text(data, "tags"),
        prompt=_text(data, "prompt"),
        model_name=_text(data, "modelName", "model_name"),
        duration=_duration(_pick(data, "duration")),
        created_at=parse_time(_pick(data, "createTime", "create_time")),
        source_audio_url=_text(data, "sourceAudioUrl", "source_audio_url"),
        source_stream_audio_url=_text(data, "sourceStreamAudioUrl", "source_stream_audio_url"),
        source_image_url=_text(data, "sourceImageUrl", "source_image_url"),
    )


def _tracks(items: object) -> tuple[Track, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(parse_track(item) for item in items if isinstance(item, Mapping))


def _code(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def parse_callback(body: Mapping[str, Any]) -> TaskSnapshot:
    """A callback body (docs/api-contract.md, "Callback") as a snapshot."""
    if not isinstance(body, Mapping):
        raise TypeError("callback body must be a JSON object")
    data = body.get("data") or {}
    if not isinstance(data, Mapping):
        raise TypeError("callback data must be an object")
    code = _code(body.get("code"))
    kind = str(data.get("callbackType") or data.get("callback_type") or "").lower()
    stage = CALLBACK_TYPES.get(kind, Stage.PENDING)
    if code not in (None, 200):
        stage = Stage.FAILED
    failed = stage == Stage.FAILED
    return TaskSnapshot(
        task_id=_text(data, "task_id", "taskId"),
        stage=stage,
        tracks=_tracks(data.get("data")),
        status=kind,
        error_code=code if failed and code != 200 else None,
        error_message=str(body.get("msg") or "") if failed else "",
        raw=dict(body),
    )


def parse_record(body: Mapping[str, Any], task_id: str) -> TaskSnapshot:
    """A record-info answer (docs/api-contract.md, "Poll") as a snapshot."""
    data = body.get("data") or {}
    response = data.get("response") or {}
    tracks = _tracks(response.get("sunoData") if isinstance(response, Mapping) else None)
    status = str(data.get("status") or "")
    if status == "CALLBACK_EXCEPTION":
        # The provider could not call us back; the audio may exist all the same.
        stage = _stage_from_tracks(tracks)
    elif status in STATUSES:
        stage = STATUSES[status]
    else:
        log.warning("unknown provider status %r for task %s; keeping it pending", status, task_id)
        stage = Stage.PENDING
    failed = stage == Stage.FAILED
    return TaskSnapshot(
        task_id=_text(data, "taskId", "task_id") or task_id,
        stage=stage,
        tracks=tracks,
        status=status,
        error_code=_code(data.get("errorCode")) if failed else None,
        error_message=str(data.get("errorMessage") or "") if failed else "",
        raw=dict(body),
    )


def _stage_from_tracks(tracks: tuple[Track, ...]) -> Stage:
    finished = sum(1 for track in tracks if track.audio_url)
    return Stage.COMPLETE if finished >= 2 else Stage.FIRST if finished == 1 else Stage.PENDING


def verify_signature(
    task_id: str, timestamp: str, signature: str, key: str, *, now: float, max_skew: float = 300
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


def sign(task_id: str, timestamp: str, key: str) -> str:
    digest = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# --- throttle ---------------------------------------------------------------------------------


class SlotStore(Protocol):
    """Where the throttle keeps its window; the app's store is the database (shared by
    every worker process), see ``mashups.pipeline.DatabaseSlots``."""

    def take(self, now: float, per: float, rate: int) -> float:
        """Take a slot at ``now``: 0 when taken, else seconds until one is free."""
        ...


class MemorySlots:
    """A window in this process only (for one-process use and tests)."""

    def __init__(self) -> None:
        self.taken: deque[float] = deque()

    def take(self, now: float, per: float, rate: int) -> float:
        while self.taken and self.taken[0] <= now - per:
            self.taken.popleft()
        if len(self.taken) >= rate:
            return self.taken[0] + per - now
        self.taken.append(now)
        return 0.0


class Throttle:
    """At most ``rate`` submissions per ``per`` seconds (docs/api-contract.md, "Rate
    limits": excess requests are rejected, not queued). It waits instead of failing."""

    def __init__(
        self,
        rate: int,
        per: float,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        store: SlotStore | None = None,
    ) -> None:
        self.rate, self.per = rate, per
        self.clock = clock or default_clock
        self.sleep = sleep or default_sleep
        self.store = store or MemorySlots()

    def wait(self) -> float:
        """Block until a submission may go; returns the seconds waited."""
        waited = 0.0
        while (delay := self.store.take(self.clock(), self.per, self.rate)) > 0:
            self.sleep(delay)
            waited += delay
        return waited


# --- the client -------------------------------------------------------------------------------


def default_sleep(seconds: float) -> None:
    """The one place the client waits (tests replace it: no test sleeps)."""
    time.sleep(seconds)


def default_clock() -> float:
    """The throttle's clock (tests replace it with a fake one)."""
    return time.time()


class RemoteProvider:
    name = "remote"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
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
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            transport=transport,
        )

    def __repr__(self) -> str:  # never the key
        return f"RemoteProvider(base_url={self.base_url!r})"

    def __enter__(self) -> RemoteProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

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
        task_id = _text(data, "taskId", "task_id") if isinstance(data, Mapping) else ""
        if not task_id:
            raise ProviderError(
                "The provider accepted the job but sent no task id.", permanent=True
            )
        return task_id

    def fetch(self, task_id: str) -> TaskSnapshot:
        return parse_record(self._call("GET", RECORD_PATH, params={"taskId": task_id}), task_id)

    def credits(self) -> int:
        data = self._call("GET", CREDIT_PATH).get("data")
        try:
            return int(data)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ProviderError(
                "The provider sent an unreadable credit balance.", permanent=True
            ) from None

    def _call(self, method: str, path: str, *, once: bool = False, **kwargs: Any) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return self._once(method, path, once=once, **kwargs)
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
        code = _code(body.get("code")) or response.status_code
        if response.status_code != 200 or code != 200:
            code = code if code != 200 else response.status_code
            raise ProviderError(
                user_message(code, str(body.get("msg") or "")),
                permanent=code not in RETRYABLE,
                code=code,
                retry_after=_retry_after(response),
            )
        return body


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
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


def provider_from_settings(
    *, store: SlotStore | None = None, max_retries: int = 3
) -> RemoteProvider:
    """The client as configured; ``store`` shares the submission window between processes."""
    from django.conf import settings

    return RemoteProvider(
        base_url=settings.MASHUP_API_BASE_URL,
        api_key=settings.MASHUP_API_KEY,
        timeout=settings.MASHUP_API_TIMEOUT,
        max_retries=max_retries,
        throttle=Throttle(settings.MASHUP_SUBMIT_RATE, settings.MASHUP_SUBMIT_WINDOW, store=store),
    )


def get_credits() -> int:
    """The account's credit balance, for staff (docs/api-contract.md, "Credits").
    Asked once, without retries: a staff page must not wait out the provider's back-off."""
    with provider_from_settings(max_retries=0) as provider:
        return provider.credits()
