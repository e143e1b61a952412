"""The remote client against the fake API over real HTTP on loopback (no sleeps: the client's
sleep is a recorder, the throttle's clock is fake)."""

from __future__ import annotations

import base64
import io
import logging
from datetime import UTC, datetime

import httpx
import pytest

from mashup_site.mashups.models import SubmitSlot
from mashup_site.providers import throttle
from mashup_site.providers.base import (
    MESSAGES,
    UPLOAD_UNREADABLE,
    Job,
    ProviderError,
    Song,
    Status,
)
from mashup_site.providers.remote import (
    Client,
    RemoteProvider,
    parse_callback,
    parse_record,
    parse_time,
)

PAYLOAD = {
    "customMode": False,
    "model": "V5",
    "instrumental": False,
    "prompt": "a summer dance floor",
    "uploadUrlList": ["https://example.com/a.mp3", "https://example.com/b.mp3"],
}
CALLBACK = "http://127.0.0.1:9/callbacks/token/"


@pytest.fixture
def client(fake_api, fake_clock):
    provider = Client(
        base_url=fake_api.url, api_key=fake_api.key, timeout=2, sleep=fake_clock.sleep
    )
    yield provider
    provider.close()


def test_it_submits_with_the_bearer_key_and_reads_the_task_id(client, fake_api) -> None:
    task_id = client.submit(PAYLOAD, callback_url=CALLBACK)
    assert task_id == fake_api.task.task_id
    assert fake_api.requests == [("submit", f"Bearer {fake_api.key}")]
    assert fake_api.task.payload["callBackUrl"] == CALLBACK


def test_it_reads_the_record_through_every_stage(client, fake_api) -> None:
    task_id = client.submit(PAYLOAD, callback_url=CALLBACK)
    stages = [client.fetch(task_id).status for _ in range(3)]
    assert stages == [Status.ANALYSED, Status.FIRST, Status.COMPLETE]
    final = client.fetch(task_id)
    assert [t.audio_url for t in final.tracks] == [
        f"{fake_api.url}/files/{task_id}-1.mp3",
        f"{fake_api.url}/files/{task_id}-2.mp3",
    ]
    assert final.tracks[0].stream_audio_url.endswith("-1-stream.mp3")
    assert final.tracks[0].created_at == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("naming", ["camel", "snake"])
@pytest.mark.parametrize("create_time", ["string", "epoch"])
def test_it_reads_tracks_in_either_naming_style(client, fake_api, naming, create_time) -> None:
    fake_api.naming, fake_api.create_time = naming, create_time
    task_id = client.submit(PAYLOAD, callback_url=CALLBACK)
    fake_api.task.step = 2
    track = client.fetch(task_id).tracks[0]
    assert track.audio_url.endswith("-1.mp3")
    assert track.image_url.endswith("-1.jpeg")
    assert track.model_name == "v5"
    assert track.duration == 2.0
    assert track.created_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_wrong_key_is_permanent_and_never_shows_the_key(fake_api, fake_clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-wrong-" + "x" * 20
    provider = Client(base_url=fake_api.url, api_key=secret, sleep=fake_clock.sleep)
    with pytest.raises(ProviderError) as caught:
        provider.submit(PAYLOAD, callback_url=CALLBACK)
    assert caught.value.permanent and caught.value.code == 401
    assert str(caught.value) == MESSAGES[401]
    assert secret not in repr(provider)
    assert all(secret not in record.getMessage() for record in caplog.records)
    assert fake_api.count("submit") == 1  # never retried


def test_the_key_is_not_logged_while_retrying(client, fake_api, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    fake_api.script("submit", 500, {"code": 500, "msg": "boom"})
    client.submit(PAYLOAD, callback_url=CALLBACK)
    assert fake_api.count("submit") == 2
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "retry 1" in text
    assert fake_api.key not in text


def test_http_200_with_body_code_422_is_a_permanent_error(client, fake_api) -> None:
    fake_api.script("submit", 200, {"code": 422, "msg": "validation error", "data": None})
    with pytest.raises(ProviderError) as caught:
        client.submit(PAYLOAD, callback_url=CALLBACK)
    assert caught.value.permanent and caught.value.code == 422
    assert fake_api.count("submit") == 1


def test_http_200_with_body_code_429_is_retried(client, fake_api, fake_clock) -> None:
    fake_api.script("submit", 200, {"code": 429, "msg": "insufficient credits"})
    assert client.submit(PAYLOAD, callback_url=CALLBACK)
    assert fake_clock.slept == [1.0]


def test_it_honours_retry_after(client, fake_api, fake_clock) -> None:
    fake_api.script("submit", 429, {"code": 429, "msg": "busy"}, {"Retry-After": "7"})
    fake_api.script("submit", 429, {"code": 429, "msg": "busy"}, {"Retry-After": "3"})
    assert client.submit(PAYLOAD, callback_url=CALLBACK)
    assert fake_clock.slept == [7.0, 3.0]
    assert fake_api.count("submit") == 3


def test_a_huge_retry_after_is_capped(client, fake_api, fake_clock) -> None:
    task_id = client.submit(PAYLOAD, callback_url=CALLBACK)
    fake_api.script("record", 455, {"code": 455, "msg": "maintenance"}, {"Retry-After": "86400"})
    client.fetch(task_id)
    assert fake_clock.slept == [60.0]


def test_back_off_grows_and_then_gives_up(client, fake_api, fake_clock) -> None:
    for _ in range(4):
        fake_api.script("record", 455, {"code": 455, "msg": "maintenance"})
    with pytest.raises(ProviderError) as caught:
        client.fetch("any")
    assert not caught.value.permanent
    assert str(caught.value) == MESSAGES[455]
    assert fake_clock.slept == [1.0, 2.0, 4.0]
    assert fake_api.count("record") == 4


@pytest.mark.parametrize("code", [405, 408, 429, 430, 455, 500])
def test_retryable_codes_are_retried(client, fake_api, code) -> None:
    fake_api.script("submit", code, {"code": code, "msg": "transient"})
    assert client.submit(PAYLOAD, callback_url=CALLBACK)
    assert fake_api.count("submit") == 2


@pytest.mark.parametrize("code", [400, 401, 402, 404, 409, 413, 422, 451, 501, 505, 531])
def test_other_codes_are_permanent(client, fake_api, code) -> None:
    fake_api.script("submit", code, {"code": code, "msg": "no"})
    with pytest.raises(ProviderError) as caught:
        client.submit(PAYLOAD, callback_url=CALLBACK)
    assert caught.value.permanent and caught.value.code == code
    assert fake_api.count("submit") == 1


def test_a_body_that_is_not_json_still_reads_the_http_status(client, fake_api) -> None:
    fake_api.script("record", 502, b"<html>bad gateway</html>")
    with pytest.raises(ProviderError) as caught:
        client.fetch("any")
    assert caught.value.code == 502 and caught.value.permanent


def test_a_slow_poll_times_out_and_is_retried(fake_api, fake_clock) -> None:
    provider = Client(
        base_url=fake_api.url,
        api_key=fake_api.key,
        timeout=0.2,
        max_retries=1,
        sleep=fake_clock.sleep,
    )
    fake_api.delay = 0.5
    with pytest.raises(ProviderError) as caught:
        provider.fetch("any")
    assert caught.value.code == 408 and not caught.value.permanent
    assert str(caught.value) == "The provider did not answer in time."
    assert fake_api.count("record") == 2


def test_a_slow_submit_is_not_sent_twice(fake_api, fake_clock) -> None:
    """After a timeout the provider may have the job: a second submit would bill twice."""
    provider = Client(
        base_url=fake_api.url, api_key=fake_api.key, timeout=0.2, sleep=fake_clock.sleep
    )
    fake_api.delay = 0.5
    with pytest.raises(ProviderError) as caught:
        provider.submit(PAYLOAD, callback_url=CALLBACK)
    assert caught.value.maybe_accepted and not caught.value.permanent
    assert fake_api.count("submit") == 1


def test_an_unreachable_provider_is_retried_then_transient(fake_clock) -> None:
    provider = Client(  # nobody listens on port 9
        base_url="http://127.0.0.1:9", api_key="k", timeout=1, sleep=fake_clock.sleep
    )
    with pytest.raises(ProviderError) as caught:
        provider.submit(PAYLOAD, callback_url=CALLBACK)
    assert not caught.value.permanent and not caught.value.maybe_accepted
    assert len(fake_clock.slept) == 3


def test_an_unknown_status_stays_pending_and_is_logged(client, fake_api, caplog) -> None:
    fake_api.script(
        "record", 200, {"code": 200, "data": {"taskId": "t1", "status": "BRAND_NEW_STATE"}}
    )
    snapshot = client.fetch("t1")
    assert snapshot.status == Status.SUBMITTED
    assert "BRAND_NEW_STATE" in caplog.text


def test_a_failed_record_carries_its_code(client, fake_api) -> None:
    fake_api.fail_code = 413
    task_id = client.submit(PAYLOAD, callback_url=CALLBACK)
    snapshot = client.fetch(task_id)
    assert snapshot.status == Status.FAILED and snapshot.error_code == 413


def test_callback_exception_is_read_from_the_tracks() -> None:
    body = {
        "code": 200,
        "data": {
            "status": "CALLBACK_EXCEPTION",
            "response": {
                "sunoData": [{"audioUrl": "https://x/1.mp3"}, {"audioUrl": "https://x/2"}]
            },
        },
    }
    assert parse_record(body, "t").status == Status.COMPLETE


def test_callbacks_accept_both_task_id_spellings() -> None:
    for key in ("task_id", "taskId"):
        body = {"code": 200, "data": {"callbackType": "first", key: "t9", "data": []}}
        snapshot = parse_callback(body)
        assert (snapshot.task_id, snapshot.status) == ("t9", Status.FIRST)


def test_an_error_callback_with_code_200_fails_with_the_providers_words() -> None:
    body = {"code": 200, "msg": "Lyrics rejected", "data": {"callbackType": "error", "data": None}}
    snapshot = parse_callback(body)
    assert snapshot.status == Status.FAILED
    assert (snapshot.error_code, snapshot.error_message) == (None, "Lyrics rejected")


def test_create_time_is_read_as_text_or_epoch_milliseconds() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_time("2026-01-01 00:00:00") == moment
    assert parse_time(1_767_225_600_000) == moment
    assert parse_time("1767225600000") == moment
    assert parse_time("not a time") is None


@pytest.mark.django_db
def test_credits_reads_the_balance(fake_api) -> None:
    fake_api.credits = 42
    assert RemoteProvider().credits() == 42
    assert fake_api.requests == [("credit", f"Bearer {fake_api.key}")]


@pytest.mark.django_db
def test_credits_does_not_wait_out_a_busy_provider(fake_api, fake_clock, monkeypatch) -> None:
    from mashup_site.providers import remote

    monkeypatch.setattr(remote, "default_sleep", fake_clock.sleep)  # the client's back-off
    fake_api.script("credit", 429, {"code": 429, "msg": "busy"}, {"Retry-After": "30"})
    with pytest.raises(ProviderError) as caught:
        RemoteProvider().credits()
    assert str(caught.value) == MESSAGES[429]
    assert fake_clock.slept == [] and fake_api.count("credit") == 1


@pytest.mark.django_db
def test_submissions_through_the_app_are_throttled(
    fake_api, fake_clock, settings, monkeypatch
) -> None:
    from mashup_site.providers import remote

    settings.MASHUP_SUBMIT_RATE, settings.MASHUP_SUBMIT_WINDOW = 2, 10
    monkeypatch.setattr(throttle, "default_clock", fake_clock)
    monkeypatch.setattr(throttle, "default_sleep", fake_clock.sleep)
    for _ in range(3):
        with remote.client_from_settings(store=SubmitSlot.objects) as client:
            client.submit(PAYLOAD, callback_url=CALLBACK)
    assert fake_api.count("submit") == 3
    assert fake_clock.slept == [10.0]


# --- the upload service (docs/api-contract.md, "Upload service") --------------------------------

SONG = bytes(range(256)) * 4096  # 1 MiB


class ReadRecorder(io.BytesIO):
    """A stored song that remembers how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


@pytest.fixture
def uploads(fake_api, fake_clock):
    provider = Client(
        base_url=fake_api.url,
        api_key=fake_api.key,
        upload_base_url=fake_api.upload_url,
        timeout=2,
        sleep=fake_clock.sleep,
    )
    yield provider
    provider.close()


def test_a_song_is_streamed_to_the_upload_service_in_chunks(uploads, fake_api) -> None:
    handles: list[ReadRecorder] = []

    def opener() -> ReadRecorder:
        handles.append(ReadRecorder(SONG))
        return handles[-1]

    url = uploads.upload_file(opener, file_name="First song.mp3")
    (upload,) = fake_api.uploads
    assert url == upload.download_url and url.startswith(fake_api.upload_url + "/uploads/")
    assert (upload.endpoint, upload.upload_path, upload.data) == (
        "stream-upload",
        "mashup-sources",
        SONG,
    )
    assert upload.file_name == "First_song.mp3"
    assert fake_api.requests == [("stream-upload", f"Bearer {fake_api.key}")]
    (handle,) = handles
    assert handle.closed
    assert max(handle.reads) <= 64 * 1024 and -1 not in handle.reads  # never read whole


def test_uploads_go_to_the_upload_services_own_host(fake_api, fake_clock) -> None:
    provider = Client(base_url=fake_api.url, api_key=fake_api.key, sleep=fake_clock.sleep)
    with pytest.raises(ProviderError) as caught:  # the API's host has no upload service
        provider.upload_file(lambda: io.BytesIO(b"ID3"), file_name="a.mp3")
    assert caught.value.code == 404 and caught.value.permanent
    assert fake_api.uploads == []


def test_a_link_is_handed_to_the_url_upload(uploads, fake_api) -> None:
    url = uploads.upload_url("https://example.com/song.mp3", file_name="song.mp3")
    (upload,) = fake_api.uploads
    assert (upload.endpoint, upload.file_url, upload.download_url) == (
        "url-upload",
        "https://example.com/song.mp3",
        url,
    )


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (401, MESSAGES[401]),
        (402, MESSAGES[402]),
        (413, "One of the songs is too large for the provider's upload service."),
        (400, "The provider's upload service refused one of the songs."),
    ],
)
@pytest.mark.parametrize("endpoint", ["stream-upload", "url-upload"])
def test_upload_refusals_are_permanent_in_plain_words(uploads, fake_api, code, message, endpoint):
    fake_api.script(endpoint, code, {"code": code, "msg": "no"})
    with pytest.raises(ProviderError) as caught:
        if endpoint == "url-upload":
            uploads.upload_url("https://example.com/a.mp3", file_name="a.mp3")
        else:
            uploads.upload_file(lambda: io.BytesIO(b"ID3"), file_name="a.mp3")
    assert caught.value.permanent and caught.value.code == code
    assert str(caught.value) == message
    assert fake_api.count(endpoint) == 1 and fake_api.uploads == []


@pytest.mark.parametrize("code", [429, 455, 500, 502, 503, 504])
def test_upload_errors_of_the_moment_are_retried(uploads, fake_api, fake_clock, code) -> None:
    fake_api.script("stream-upload", code, {"code": code, "msg": "busy"})
    assert uploads.upload_file(lambda: io.BytesIO(SONG), file_name="a.mp3")
    assert fake_api.count("stream-upload") == 2 and fake_clock.slept == [1.0]
    assert fake_api.uploads[0].data == SONG  # the file was read again from its start


def test_an_upload_busy_for_long_is_retryable_in_plain_words(uploads, fake_api) -> None:
    for _ in range(4):
        fake_api.script("stream-upload", 503, b"<html>unavailable</html>")
    with pytest.raises(ProviderError) as caught:
        uploads.upload_file(lambda: io.BytesIO(b"ID3"), file_name="a.mp3")
    assert not caught.value.permanent and not caught.value.maybe_accepted
    assert str(caught.value) == "The provider's upload service is busy or down; retrying."


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        {"code": 200, "msg": "success", "data": None},
        {"code": 200, "msg": "success", "data": {"downloadUrl": "javascript:alert(1)"}},
    ],
)
def test_an_unreadable_upload_answer_is_retried_then_said_plainly(uploads, fake_api, body):
    for _ in range(4):
        fake_api.script("stream-upload", 200, body)
    with pytest.raises(ProviderError) as caught:
        uploads.upload_file(lambda: io.BytesIO(b"ID3"), file_name="a.mp3")
    assert not caught.value.permanent
    assert str(caught.value) == UPLOAD_UNREADABLE
    assert fake_api.count("stream-upload") == 4


def test_a_slow_upload_times_out_and_may_be_sent_again(fake_api, fake_clock) -> None:
    """Unlike a submit, an upload that timed out is safe to send again: it bills nothing."""
    provider = Client(
        base_url=fake_api.url,
        api_key=fake_api.key,
        upload_base_url=fake_api.upload_url,
        timeout=0.2,
        max_retries=1,
        sleep=fake_clock.sleep,
    )
    fake_api.upload_delay = 0.5
    with pytest.raises(ProviderError) as caught:
        provider.upload_file(lambda: io.BytesIO(b"ID3"), file_name="a.mp3")
    assert caught.value.code == 408 and not caught.value.permanent
    assert not caught.value.maybe_accepted
    assert str(caught.value) == "The provider's upload service did not answer in time; retrying."
    assert fake_api.count("stream-upload") == 2


def test_a_song_that_cannot_be_read_from_storage_is_a_permanent_error(uploads, fake_api):
    def missing() -> io.BytesIO:
        raise FileNotFoundError("sources/ab/cd/gone.mp3")

    with pytest.raises(ProviderError) as caught:
        uploads.upload_file(missing, file_name="a.mp3")
    assert caught.value.permanent and fake_api.uploads == []


def test_the_fakes_base64_upload_speaks_the_contract(fake_api) -> None:
    """The app streams every song (one path for every size); the fake still answers the
    base64 upload as documented, data URL or bare base64."""
    for data in ("data:audio/mpeg;base64," + base64.b64encode(b"ID3 a").decode(), "SUQzIGI="):
        answer = httpx.post(
            fake_api.upload_url + "/api/file-base64-upload",
            json={"base64Data": data, "uploadPath": "p", "fileName": "x.mp3"},
            headers={"Authorization": f"Bearer {fake_api.key}"},
        ).json()
        assert answer["code"] == 200
        assert httpx.get(answer["data"]["downloadUrl"]).content in (b"ID3 a", b"ID3 b")
    assert [u.endpoint for u in fake_api.uploads] == ["base64-upload"] * 2


# --- the provider delivers the songs ----------------------------------------------------------


def job_of(*songs: Song, delivery: str = "upload", hosted: list | None = None) -> Job:
    payload = {k: v for k, v in PAYLOAD.items() if k != "uploadUrlList"}
    return Job(
        pk=1,
        payload=payload,
        songs=songs,
        callback_url=CALLBACK,
        delivery=delivery,
        hosted=(lambda position, url: hosted.append((position, url)))
        if hosted is not None
        else None,
    )


def uploaded(position: int, served: str = "") -> Song:
    return Song(
        position=position,
        name=f"song-{position}.mp3",
        served_url=served or f"http://127.0.0.1:8000/sources/token-{position}/",
        open=lambda: io.BytesIO(b"ID3 song %d" % position),
    )


@pytest.fixture
def remote_settings(fake_api, settings):
    settings.MASHUP_UPLOAD_BASE_URL = fake_api.upload_url
    return fake_api


@pytest.mark.django_db
def test_upload_delivery_submits_the_upload_services_urls(remote_settings) -> None:
    api, hosted = remote_settings, []
    task_id = RemoteProvider().start(job_of(uploaded(1), uploaded(2), hosted=hosted), print)
    urls = [u.download_url for u in api.uploads]
    assert task_id == api.task.task_id
    assert api.task.payload["uploadUrlList"] == urls
    assert hosted == [(1, urls[0]), (2, urls[1])]  # told before the submit
    assert [u.data for u in api.uploads] == [b"ID3 song 1", b"ID3 song 2"]


@pytest.mark.django_db
def test_a_song_already_on_the_upload_service_is_not_uploaded_again(remote_settings) -> None:
    api = remote_settings
    earlier = Song(position=1, name="a.mp3", hosted_url="https://cdn.example.org/a.mp3")
    RemoteProvider().start(job_of(earlier, uploaded(2)), print)
    assert api.task.payload["uploadUrlList"][0] == "https://cdn.example.org/a.mp3"
    assert len(api.uploads) == 1


@pytest.mark.django_db
def test_link_delivery_submits_our_secret_links(remote_settings) -> None:
    api = remote_settings
    RemoteProvider().start(job_of(uploaded(1), uploaded(2), delivery="link"), print)
    assert api.task.payload["uploadUrlList"] == [
        "http://127.0.0.1:8000/sources/token-1/",
        "http://127.0.0.1:8000/sources/token-2/",
    ]
    assert api.uploads == []


@pytest.mark.django_db
def test_a_refused_link_goes_through_the_url_upload_and_is_submitted_once_more(remote_settings):
    api, hosted = remote_settings, []
    api.refuse_links = True
    link = Song(position=1, name="mine.mp3", link="https://example.com/mine.mp3")
    RemoteProvider().start(job_of(link, uploaded(2), hosted=hosted), print)
    assert api.count("submit") == 2
    assert [u.endpoint for u in api.uploads] == ["stream-upload", "url-upload"]
    assert api.uploads[1].file_url == "https://example.com/mine.mp3"
    assert api.task.payload["uploadUrlList"] == [
        api.uploads[1].download_url,
        api.uploads[0].download_url,
    ]
    assert [position for position, _ in hosted] == [2, 1]


@pytest.mark.django_db
def test_a_refusal_of_our_own_links_is_not_retried(remote_settings) -> None:
    api = remote_settings
    api.refuse_links = True
    with pytest.raises(ProviderError) as caught:
        RemoteProvider().start(job_of(uploaded(1), uploaded(2), delivery="link"), print)
    assert caught.value.code == 451 and str(caught.value) == MESSAGES[451]
    assert api.count("submit") == 1 and api.uploads == []


@pytest.mark.django_db
def test_links_refused_again_after_their_upload_fail_for_good(remote_settings) -> None:
    api = remote_settings
    api.refuse_links = True
    api.script("submit", 200, {"code": 451, "msg": "File fetch failed"})
    api.script("submit", 200, {"code": 451, "msg": "File fetch failed"})
    link = Song(position=1, name="mine.mp3", link="https://example.com/mine.mp3")
    with pytest.raises(ProviderError) as caught:
        RemoteProvider().start(job_of(link, uploaded(2)), print)
    assert caught.value.code == 451
    assert api.count("submit") == 2 and api.count("url-upload") == 1  # once, no more


# --- what the fake asked of others --------------------------------------------------------------


def test_the_fake_records_every_request_it_makes_to_our_server(fake_api) -> None:
    ours = "http://127.0.0.1:9"  # nobody listens: the attempt counts all the same
    fake_api.fetch_sources = True
    client = Client(base_url=fake_api.url, api_key=fake_api.key, timeout=2)
    client.submit(
        {**PAYLOAD, "uploadUrlList": [f"{ours}/sources/a/", f"{ours}/sources/b/"]},
        callback_url=f"{ours}/callbacks/t/",
    )
    fake_api.deliver(kinds=("text",))
    assert fake_api.task.source_statuses == [0, 0]
    assert fake_api.requests_to(ours) == [
        f"{ours}/sources/a/",
        f"{ours}/sources/b/",
        f"{ours}/callbacks/t/",
    ]
    with pytest.raises(AssertionError, match="requested our server 3 times"):
        fake_api.assert_never_requested(ours)
    fake_api.assert_never_requested("http://127.0.0.1:8")  # another server: never asked


# --- follow-ups (docs/api-contract.md, "Follow-ups") ------------------------------------------


def _record(flag: str, response: object) -> dict:
    return {"code": 200, "data": {"taskId": "t1", "successFlag": flag, "response": response}}


def test_a_wav_record_is_read_liberally() -> None:
    from mashup_site.providers.remote import parse_follow_up_record

    for response in (
        {"audioWavUrl": "https://cdn.example/a.wav"},
        {"audio_wav_url": "https://cdn.example/a.wav"},
        {"wavFileUrl": "https://cdn.example/a.wav"},
        "https://cdn.example/a.wav",
    ):
        snapshot = parse_follow_up_record("wav", _record("SUCCESS", response), "t1")
        assert snapshot.status == Status.COMPLETE
        assert snapshot.files == {"wav": "https://cdn.example/a.wav"}


def test_follow_up_records_map_their_flags() -> None:
    from mashup_site.providers.remote import parse_follow_up_record

    stems = {"vocalUrl": "https://cdn.example/v.mp3", "instrumentalUrl": None}
    done = parse_follow_up_record("stems", _record("SUCCESS", stems), "t1")
    assert done.files == {"vocals": "https://cdn.example/v.mp3"}  # a null stem is left out
    assert parse_follow_up_record("stems", _record("PENDING", None), "t1").status == (
        Status.SUBMITTED
    )
    late = parse_follow_up_record("stems", _record("CALLBACK_EXCEPTION", stems), "t1")
    assert late.status == Status.COMPLETE  # it could not call us; the files exist
    assert parse_follow_up_record("stems", _record("NEW_WORD", None), "t1").status == (
        Status.SUBMITTED
    )
    failed = _record("GENERATE_AUDIO_FAILED", None)
    failed["data"] |= {"errorCode": 501, "errorMessage": "no"}
    snapshot = parse_follow_up_record("stems", failed, "t1")
    assert snapshot.status == Status.FAILED and snapshot.error_code == 501


def test_a_follow_up_record_with_a_script_url_is_refused() -> None:
    from mashup_site.providers.base import InvalidPayload
    from mashup_site.providers.remote import parse_follow_up_record

    with pytest.raises(InvalidPayload):
        parse_follow_up_record("stems", _record("SUCCESS", {"vocalUrl": "javascript:x"}), "t1")


def test_timestamped_lyrics_are_checked_and_the_waveform_bounded() -> None:
    from mashup_site.providers.base import InvalidPayload
    from mashup_site.providers.remote import MAX_WAVEFORM, parse_lyrics

    words = [{"word": "Hi ", "success": True, "startS": 0.5, "endS": 0.9, "palign": 0}]
    body = {"code": 200, "data": {"alignedWords": words, "waveformData": [1.5, -1, 0.25] * 2000}}
    snapshot = parse_lyrics(body, "t1")
    assert snapshot.status == Status.COMPLETE
    assert snapshot.words[0].text == "Hi " and snapshot.words[0].start == 0.5
    assert len(snapshot.waveform) == MAX_WAVEFORM
    assert min(snapshot.waveform) >= 0 and max(snapshot.waveform) == 1.0
    for bad in (
        {"alignedWords": [{"word": 3, "startS": 0, "endS": 1}]},
        {"alignedWords": [{"word": "x", "startS": "soon", "endS": 1}]},
        {"alignedWords": [{"word": "x", "startS": -1, "endS": 1}]},
        {"alignedWords": [], "waveformData": ["loud"]},
        {"alignedWords": "la la"},
    ):
        with pytest.raises(InvalidPayload):
            parse_lyrics({"code": 200, "data": bad}, "t1")
