"""A fake of the remote mashup API (docs/api-contract.md), over real HTTP on loopback.

It speaks the contract: submit, record-info and credit behind a Bearer key, and it calls
back over real HTTP to the job's ``callBackUrl`` (text → first → complete). It serves small
real MP3 and JPEG files as the tracks' URLs, so copying results works for real.

Knobs (attributes; set them before the request they should affect):

- ``callbacks``: the callback types sent by ``deliver()``, in order; repeat one for
  duplicates, reorder for out-of-order, drop text/first to skip them, empty for none.
- ``auto_callbacks``: deliver from a thread right after submit (for end-to-end runs).
- ``fail_code``: the job fails with this contract code (error callback, failed record).
- ``script(endpoint, status, body, headers)``: canned answers served first, in order
  (HTTP 200 with body code 422, 429 with Retry-After, 455, 500...).
- ``delay``: seconds every API answer waits (to run past the client's timeout).
- ``naming``: force "camel" or "snake" track fields everywhere (default: the contract's,
  camelCase in record-info, snake_case in callbacks); ``create_time``: "string" or "epoch".
- ``task_key``: "task_id" or "taskId" in callbacks; ``signing_key``: kie.ai-style signature.
- ``fetch_sources``: download the two source URLs on submit, like the real provider.
- ``stuck``: polls never see the job progress (to reach the give-up time).
- ``timeline``: seconds after submit at which text, first and complete happen, on
  ``clock``; polls then read the state by time instead of one step per poll.

The upload service (docs/api-contract.md, "Upload service") runs on a host of its own
(``upload_url``, another loopback port), behind the same key: ``stream-upload``
(multipart), ``base64-upload`` and ``url-upload``; each answer's ``downloadUrl`` is served
by the fake. ``uploads`` records what it received. Its knobs:

- ``script("stream-upload" | "base64-upload" | "url-upload", ...)``: failure codes.
- ``upload_delay``: seconds every upload answer waits (past the client's timeout).
- ``refuse_links``: the submit answers 451 "File fetch failed" while an ``uploadUrlList``
  URL is not on the upload service (a third-party link the provider would not fetch).

What the fake asks of others is recorded in ``outgoing`` (every URL it requested: source
downloads, callbacks); ``requests_to(base)`` and ``assert_never_requested(base)`` say
whether it ever reached our server.
Follow-ups (docs/api-contract.md, "Follow-ups": vocal removal, WAV, timestamped lyrics):

- ``follow_up_failure``: (successFlag, errorCode) every follow-up record ends with, e.g.
  ("GENERATE_AUDIO_FAILED", 501) or ("CREATE_TASK_FAILED", 400).
- ``wav_exists``: a WAV was made before: WAV generate answers 409 naming its record.
- ``missing_stems``: the stems a separation leaves null ("vocalUrl", "instrumentalUrl").
- ``follow_up_slow_polls``: records stay PENDING for this many reads (slow answers).
- ``follow_up_callbacks``: call the follow-up's callBackUrl from a thread once it is made.
- ``lyrics_words``: the aligned words answered (empty: an instrumental track).
- ``prices``: credits each follow-up costs (taken from ``credits`` when it is asked).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


def sign(task_id: str, timestamp: str, key: str) -> str:
    """A kie.ai-style callback signature (docs/api-contract.md, "Callback"), as the provider
    makes it: base64(HMAC-SHA256(key, taskId + "." + timestamp))."""
    digest = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


SUBMIT = "/api/v1/generate/mashup"
RECORD = "/api/v1/generate/record-info"
CREDIT = "/api/v1/generate/credit"
UPLOAD_ENDPOINTS = {
    "/api/file-stream-upload": "stream-upload",
    "/api/file-base64-upload": "base64-upload",
    "/api/file-url-upload": "url-upload",
}
VOCAL = "/api/v1/vocal-removal/generate"
VOCAL_RECORD = "/api/v1/vocal-removal/record-info"
WAV = "/api/v1/wav/generate"
WAV_RECORD = "/api/v1/wav/record-info"
LYRICS = "/api/v1/generate/get-timestamped-lyrics"
ENDPOINTS = {
    SUBMIT: "submit",
    RECORD: "record",
    CREDIT: "credit",
    VOCAL: "vocal",
    VOCAL_RECORD: "vocal_record",
    WAV: "wav",
    WAV_RECORD: "wav_record",
    LYRICS: "lyrics",
}
# Sung words as the API aligns them: a section tag and line breaks inside the words.
LYRICS_WORDS = (
    ("[Verse]\nHello ", 0.2, 0.6),
    ("little ", 0.6, 0.9),
    ("world\n", 0.9, 1.3),
    ("Sing ", 1.4, 1.6),
    ("along\n", 1.6, 1.9),
)
STEPS = ("PENDING", "TEXT_SUCCESS", "FIRST_SUCCESS", "SUCCESS")
CALLBACK_STEP = {"text": 1, "first": 2, "complete": 3}


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Upload:
    """One file the upload service took."""

    endpoint: str  # "stream-upload", "base64-upload" or "url-upload"
    upload_path: str
    file_name: str
    data: bytes = b""
    file_url: str = ""  # url-upload: the link it was asked to fetch
    download_url: str = ""


@dataclass
class FakeFollowUp:
    task_id: str
    kind: str  # "vocal" or "wav"
    payload: dict[str, Any]
    reads: int = 0


@dataclass
class FakeTask:
    task_id: str
    payload: dict[str, Any]
    step: int = 0  # index into STEPS
    created: float = 0.0  # on the fake's clock
    failed: bool = False
    source_statuses: list[int] = field(default_factory=list)


class FakeApi:
    def __init__(self, audio: bytes, image: bytes) -> None:
        self.key = "sk-fake-" + secrets.token_hex(12)
        self.audio, self.image = audio, image
        self.callbacks: tuple[str, ...] = ("text", "first", "complete")
        self.auto_callbacks = False
        self.fail_code: int | None = None
        self.delay = 0.0
        self.naming: str | None = None
        self.create_time = "string"
        self.task_key = "task_id"
        self.signing_key = ""
        self.fetch_sources = False
        self.stuck = False  # polls never see progress
        self.timeline: tuple[float, float, float] | None = None
        self.clock: Callable[[], float] = time.time
        self.credits = 100
        self.follow_up_failure: tuple[str, int] | None = None
        self.wav_exists = False
        self.missing_stems: tuple[str, ...] = ()
        self.follow_up_slow_polls = 0
        self.follow_up_callbacks = False
        self.lyrics_words: tuple[tuple[str, float, float], ...] = LYRICS_WORDS
        self.prices = {"vocal": 10, "wav": 2, "lyrics": 0}
        self.follow_ups: dict[str, FakeFollowUp] = {}
        self.wav = _wav_bytes()
        self.tasks: dict[str, FakeTask] = {}
        self.requests: list[tuple[str, str]] = []  # (endpoint, authorization header)
        self.arrivals: list[tuple[str, float]] = []  # (endpoint, time.perf_counter())
        self.callback_answers: list[int] = []
        self.file_requests = 0
        self.upload_delay = 0.0
        self.refuse_links = False
        self.uploads: list[Upload] = []
        self.outgoing: list[str] = []  # every URL the fake itself requested
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._task_made = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._upload_server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, uploads=True))
        self._upload_server.daemon_threads = True
        self.upload_url = f"http://127.0.0.1:{self._upload_server.server_address[1]}"

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeApi:
        for server in (self._server, self._upload_server):
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
            ).start()
        return self

    def stop(self) -> None:
        for server in (self._server, self._upload_server):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)

    # --- knobs and records ----------------------------------------------------------------------

    def script(
        self, endpoint: str, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        """Serve this answer at ``endpoint`` ("submit", "record", "credit") before any other."""
        self._scripts[endpoint].append(Reply(status, body, headers or {}))

    def count(self, endpoint: str) -> int:
        return sum(1 for name, _ in self.requests if name == endpoint)

    def requests_to(self, base_url: str) -> list[str]:
        """The URLs under ``base_url`` (our server) that the fake requested."""
        base = base_url.rstrip("/")
        return [url for url in self.outgoing if url == base or url.startswith(base + "/")]

    def assert_never_requested(self, base_url: str) -> None:
        """What a provider on the internet could not do to a server behind NAT."""
        made = self.requests_to(base_url)
        if made:
            raise AssertionError(f"the fake requested our server {len(made)} times: {made}")

    def fetch(self, url: str) -> int:
        """GET ``url`` as the provider would (recorded in ``outgoing``); its HTTP status."""
        self.outgoing.append(url)
        return _status_of(url)

    def wait_for_task(self, timeout: float = 10) -> FakeTask:
        """The only task, once a (slow) submit has made it."""
        if not self._task_made.wait(timeout):
            raise AssertionError("the fake never received a submission")
        return self.task

    @property
    def task(self) -> FakeTask:
        """The only task (most tests make one)."""
        (task,) = self.tasks.values()
        return task

    # --- callbacks ------------------------------------------------------------------------------

    def deliver(self, task_id: str | None = None, kinds: tuple[str, ...] | None = None) -> None:
        """POST the callbacks of ``task_id`` (default: the only task) to its callBackUrl."""
        task = self.tasks[task_id] if task_id else self.task
        for kind in self.callbacks if kinds is None else kinds:
            body = self.callback_body(task, kind)
            self.post_callback(task, body)

    def post_callback(self, task: FakeTask, body: dict[str, Any]) -> int:
        headers = {}
        if self.signing_key:
            stamp = str(int(time.time()))
            headers["X-Webhook-Timestamp"] = stamp
            headers["X-Webhook-Signature"] = sign(task.task_id, stamp, self.signing_key)
        self.outgoing.append(task.payload["callBackUrl"])
        try:
            answer = httpx.post(task.payload["callBackUrl"], json=body, headers=headers, timeout=15)
            status = answer.status_code
        except httpx.HTTPError:
            status = 0
        self.callback_answers.append(status)
        return status

    def callback_body(self, task: FakeTask, kind: str) -> dict[str, Any]:
        if self.fail_code is not None:
            task.failed = True
            data = {"callbackType": "error", self.task_key: task.task_id, "data": None}
            return {"code": self.fail_code, "msg": f"failed with {self.fail_code}", "data": data}
        task.step = max(task.step, CALLBACK_STEP[kind])
        tracks = self.tracks(task, CALLBACK_STEP[kind], self.naming or "snake")
        data = {"callbackType": kind, self.task_key: task.task_id, "data": tracks}
        return {"code": 200, "msg": "All generated successfully.", "data": data}

    # --- the API's answers ----------------------------------------------------------------------

    def tracks(self, task: FakeTask, step: int, naming: str) -> list[dict[str, Any]]:
        """Two tracks: streams from "text" on, audio for the first at "first", both at the end."""
        made = {1: 0, 2: 1, 3: 2}.get(step, 0)
        out = []
        for n in (1, 2):
            base = f"{self.url}/files/{task.task_id}-{n}"
            track = {
                "id": f"{task.task_id}-track-{n}",
                "audio_url": f"{base}.mp3" if n <= made else "",
                "stream_audio_url": f"{base}-stream.mp3",
                "image_url": f"{base}.jpeg",
                "prompt": str(task.payload.get("prompt", "")),
                "model_name": str(task.payload.get("model", "")).lower(),
                "title": f"Fake mashup {n}",
                "tags": "fake, test",
                "createTime": 1_767_225_600_000
                if self.create_time == "epoch"
                else "2026-01-01 00:00:00",
                "duration": 2.0,
            }
            out.append(_camel(track) if naming == "camel" else track)
        return out

    def record(self, task: FakeTask) -> dict[str, Any]:
        if self.stuck:
            pass
        elif self.timeline and self.fail_code is None:
            elapsed = self.clock() - task.created
            task.step = max(task.step, sum(1 for t in self.timeline if elapsed >= t))
        elif not task.failed and self.fail_code is None:
            task.step = min(task.step + 1, len(STEPS) - 1)  # each poll, one step further
        else:
            task.failed = True
        status = "GENERATE_AUDIO_FAILED" if task.failed else STEPS[task.step]
        data = {
            "taskId": task.task_id,
            "param": json.dumps(task.payload),
            "response": {
                "taskId": task.task_id,
                "sunoData": self.tracks(task, task.step, self.naming or "camel"),
            },
            "status": status,
            "type": "mashup",
            "errorCode": self.fail_code if task.failed else None,
            "errorMessage": f"failed with {self.fail_code}" if task.failed else None,
        }
        return {"code": 200, "msg": "success", "data": data}

    def submit(self, payload: dict[str, Any]) -> Reply:
        missing = [k for k in ("uploadUrlList", "customMode", "model") if k not in payload]
        if not payload.get("callBackUrl"):
            return Reply(200, {"code": 400, "msg": "Please enter callBackUrl.", "data": None})
        if missing or len(payload["uploadUrlList"]) != 2:
            return Reply(200, {"code": 422, "msg": f"invalid: {missing}", "data": None})
        hosted = f"{self.upload_url}/uploads/"
        if self.refuse_links and not all(
            str(url).startswith(hosted) for url in payload["uploadUrlList"]
        ):
            return Reply(200, {"code": 451, "msg": "File fetch failed", "data": None})
        task = FakeTask("fake-" + secrets.token_hex(6), payload, created=self.clock())
        with self._lock:
            self.tasks[task.task_id] = task
        self._task_made.set()
        if self.fetch_sources:
            task.source_statuses = [self.fetch(url) for url in payload["uploadUrlList"]]
        if self.auto_callbacks:
            thread = threading.Thread(target=self.deliver, args=(task.task_id,), daemon=True)
            self._threads.append(thread)
            thread.start()
        return Reply(200, {"code": 200, "msg": "success", "data": {"taskId": task.task_id}})

    def upload(self, endpoint: str, fields: dict[str, Any]) -> Reply:
        """The upload service: keep the file, answer its ``downloadUrl``."""
        path = str(fields.get("uploadPath") or "")
        if not path:
            return Reply(200, {"code": 400, "msg": "uploadPath is required", "data": None})
        if endpoint == "url-upload":
            if not str(fields.get("fileUrl") or "").startswith(("http://", "https://")):
                return Reply(200, {"code": 400, "msg": "fileUrl is required", "data": None})
            # The real service fetches the link; the fake keeps its own audio (the links in
            # tests lead nowhere offline) and records which link it was given.
            data, url = self.audio, str(fields["fileUrl"])
        elif endpoint == "base64-upload":
            raw = str(fields.get("base64Data") or "")
            try:
                data, url = base64.b64decode(raw.split(",", 1)[-1], validate=True), ""
            except ValueError:
                return Reply(200, {"code": 400, "msg": "base64Data is not base64", "data": None})
        else:
            data, url = fields.get("file") or b"", ""
            if not data:
                return Reply(200, {"code": 400, "msg": "file is required", "data": None})
        name = re.sub(r"[^\w.-]", "_", str(fields.get("fileName") or "")) or secrets.token_hex(4)
        download = f"{self.upload_url}/uploads/{secrets.token_hex(6)}/{name}"
        record = Upload(endpoint, path, name, data, url, download)
        with self._lock:
            self.uploads.append(record)
        answer = {
            "fileName": name,
            "filePath": f"{path}/{name}",
            "downloadUrl": download,
            "fileSize": len(data),
            "mimeType": "audio/mpeg",
            "uploadedAt": "2026-01-01T00:00:00Z",
        }
        return Reply(200, {"code": 200, "msg": "File uploaded successfully", "data": answer})

    def uploaded(self, path: str) -> bytes | None:
        url = self.upload_url + path
        return next((u.data for u in self.uploads if u.download_url == url), None)

    # --- follow-ups -----------------------------------------------------------------------------

    def follow_up_submit(self, kind: str, body: dict[str, Any]) -> Reply:
        missing = [k for k in ("taskId", "audioId", "callBackUrl") if not body.get(k)]
        if kind == "vocal" and body.get("type") not in ("separate_vocal", "split_stem"):
            missing.append("type")
        if missing:
            return Reply(200, {"code": 422, "msg": f"invalid: {missing}", "data": None})
        if kind == "wav" and self.wav_exists:
            existing = self._new_follow_up(kind, body, charge=False)
            existing.reads = self.follow_up_slow_polls  # made long ago: ready
            msg = "WAV already exists for this track"
            return Reply(200, {"code": 409, "msg": msg, "data": {"taskId": existing.task_id}})
        follow_up = self._new_follow_up(kind, body, charge=True)
        if self.follow_up_callbacks:
            thread = threading.Thread(target=self.follow_up_callback, args=(follow_up,))
            thread.daemon = True
            self._threads.append(thread)
            thread.start()
        return Reply(200, {"code": 200, "msg": "success", "data": {"taskId": follow_up.task_id}})

    def _new_follow_up(self, kind: str, body: dict[str, Any], *, charge: bool) -> FakeFollowUp:
        follow_up = FakeFollowUp(f"{kind}-" + secrets.token_hex(6), kind, body)
        with self._lock:
            self.follow_ups[follow_up.task_id] = follow_up
            if charge:
                self.credits -= self.prices.get(kind, 0)
        return follow_up

    def follow_up_record(self, kind: str, task_id: str) -> Reply:
        follow_up = self.follow_ups.get(task_id)
        if follow_up is None or follow_up.kind != kind:
            return Reply(200, {"code": 422, "msg": "record not found", "data": None})
        follow_up.reads += 1
        if self.follow_up_failure:
            flag, code = self.follow_up_failure
            data = {"taskId": task_id, "successFlag": flag, "response": None}
            data |= {"errorCode": code, "errorMessage": f"failed with {code}"}
            return Reply(200, {"code": 200, "msg": "success", "data": data})
        if follow_up.reads <= self.follow_up_slow_polls:
            data = {"taskId": task_id, "successFlag": "PENDING", "response": None}
            return Reply(200, {"code": 200, "msg": "success", "data": data})
        base = f"{self.url}/files/{task_id}"
        if kind == "vocal":
            response = {
                "vocalUrl": f"{base}-vocals.mp3",
                "instrumentalUrl": f"{base}-instrumental.mp3",
            }
            response |= dict.fromkeys(self.missing_stems)
        else:
            response = {"audioWavUrl": f"{base}.wav"}
        data = {"taskId": task_id, "successFlag": "SUCCESS", "response": response}
        return Reply(200, {"code": 200, "msg": "success", "data": data})

    def follow_up_callback(self, follow_up: FakeFollowUp) -> int:
        body = {"code": 200, "msg": "success", "data": {"task_id": follow_up.task_id}}
        try:
            status = httpx.post(follow_up.payload["callBackUrl"], json=body, timeout=15).status_code
        except httpx.HTTPError:
            status = 0
        self.callback_answers.append(status)
        return status

    def lyrics(self, body: dict[str, Any]) -> Reply:
        if not body.get("taskId") or not body.get("audioId"):
            return Reply(200, {"code": 422, "msg": "taskId and audioId are required"})
        self.credits -= self.prices.get("lyrics", 0)
        words = [
            {"word": w, "success": True, "startS": a, "endS": b, "palign": 0}
            for w, a, b in self.lyrics_words
        ]
        waveform = [round(abs(((i * 37) % 100) - 50) / 50, 2) for i in range(400)]
        data = {
            "alignedWords": words,
            "waveformData": waveform,
            "hootCer": 0.1,
            "isStreamed": False,
        }
        return Reply(200, {"code": 200, "msg": "success", "data": data})

    def answer(self, endpoint: str, query: dict[str, list[str]], body: Any) -> Reply:
        with self._lock:
            scripted = self._scripts[endpoint].popleft() if self._scripts[endpoint] else None
        if scripted:
            return scripted
        if endpoint in UPLOAD_ENDPOINTS.values():
            return self.upload(endpoint, body if isinstance(body, dict) else {})
        body_dict = body if isinstance(body, dict) else {}
        task_id = (query.get("taskId") or [""])[0]
        if endpoint in ("vocal", "wav"):
            return self.follow_up_submit(endpoint, body_dict)
        if endpoint in ("vocal_record", "wav_record"):
            return self.follow_up_record(endpoint.removesuffix("_record"), task_id)
        if endpoint == "lyrics":
            return self.lyrics(body_dict)
        if endpoint == "submit":
            return self.submit(body if isinstance(body, dict) else {})
        if endpoint == "credit":
            return Reply(200, {"code": 200, "msg": "success", "data": self.credits})
        task = self.tasks.get((query.get("taskId") or [""])[0])
        if task is None:
            return Reply(200, {"code": 422, "msg": "record not found", "data": None})
        return Reply(200, self.record(task))


def _wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A short real 16-bit WAV (a quiet tone), for the WAV follow-up's file."""
    import io
    import math
    import struct
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        samples = (
            int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate))
        )
        handle.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return out.getvalue()


def _status_of(url: str) -> int:
    try:
        return httpx.get(url, timeout=10).status_code
    except httpx.HTTPError:
        return 0


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart form's fields: text as str, the file part as bytes."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        fields[str(name)] = payload if part.get_filename() else payload.decode()
    return fields


def _camel(track: dict[str, Any]) -> dict[str, Any]:
    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(part.title() for part in rest)

    return {camel(key): value for key, value in track.items()}


def _handler(api: FakeApi, *, uploads: bool = False) -> type[BaseHTTPRequestHandler]:
    """The API's server, or (``uploads``) the upload service's, on a port of its own."""
    endpoints = UPLOAD_ENDPOINTS if uploads else ENDPOINTS

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            self._api_or_file()

        def do_POST(self) -> None:
            self._api_or_file()

        def _api_or_file(self) -> None:
            parts = urlsplit(self.path)
            if parts.path.startswith("/files/") and not uploads:
                self._file(parts.path)
                return
            if parts.path.startswith("/uploads/") and uploads:
                self._uploaded(parts.path)
                return
            endpoint = endpoints.get(parts.path)
            if endpoint is None:
                self._send(Reply(404, {"code": 404, "msg": "not found"}))
                return
            authorization = self.headers.get("Authorization", "")
            with api._lock:
                api.requests.append((endpoint, authorization))
                api.arrivals.append((endpoint, time.perf_counter()))
            delay = api.upload_delay if uploads else api.delay
            if delay:
                time.sleep(delay)  # the server is slow; the client's timeout must fire
            if authorization != f"Bearer {api.key}":
                self._send(Reply(401, {"code": 401, "msg": "Invalid API key"}))
                return
            raw = self._body()
            kind = self.headers.get("Content-Type", "")
            if kind.startswith("multipart/form-data"):
                body: Any = _multipart(kind, raw)
            else:
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
            self._send(api.answer(endpoint, parse_qs(parts.query), body))

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _uploaded(self, path: str) -> None:
            data = api.uploaded(path)
            if data is None:
                self._send(Reply(404, {"code": 404, "msg": "no such file"}))
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _file(self, path: str) -> None:
            api.file_requests += 1
            if path.endswith(".jpeg"):
                data, kind = api.image, "image/jpeg"
            elif path.endswith(".wav"):
                data, kind = api.wav, "audio/wav"
            else:
                data, kind = api.audio, "audio/mpeg"

            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send(self, reply: Reply) -> None:
            data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout); nothing to answer

    return Handler


def make_files(folder: Path) -> tuple[bytes, bytes]:
    """A short real MP3 and a real JPEG, for the tracks the fake serves."""
    from PIL import Image

    from tests.audiofiles import write_tone

    mp3 = write_tone(folder / "fake-track.mp3", "mp3", seconds=1.0, freq=330.0)
    jpeg = folder / "fake-cover.jpeg"
    Image.new("RGB", (32, 32), (30, 120, 200)).save(jpeg, format="JPEG")
    return mp3.read_bytes(), jpeg.read_bytes()
