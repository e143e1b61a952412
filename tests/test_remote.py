"""The remote client against the fake API over real HTTP on loopback (no sleeps: the client's
sleep is a recorder, the throttle's clock is fake)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from mashup_site.mashups.models import SubmitSlot
from mashup_site.providers import throttle
from mashup_site.providers.base import MESSAGES, ProviderError, Status
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
