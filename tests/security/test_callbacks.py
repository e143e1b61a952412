"""Door: the provider's callbacks. Whoever holds a job's callback URL can post anything to
it, so every field is untrusted: a final job ignores callbacks, malformed or out-of-range
values are a 400 (never a 500, never stored), result URLs are http(s) only, and a signed
callback (kie.ai signs only ``taskId.timestamp``) is a hint to re-read the provider's own
record, once per timestamp."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.urls import reverse
from django_q.conf import Conf

from mashup_site.mashups import tasks
from mashup_site.mashups.models import Mashup, Source, Status, Track
from mashup_site.providers import base
from tests.factories import finished_mashup
from tests.fakes.fake_api import sign
from tests.fakes.jobs import remote_job

pytestmark = pytest.mark.django_db


def track(**fields: object) -> dict:
    return {"id": "x-1", "audio_url": "https://cdn.example/1.mp3", "title": "T", **fields}


def body(kind: str = "complete", task_id: str = "t-1", tracks: list | None = None) -> dict:
    data = {
        "callbackType": kind,
        "task_id": task_id,
        "data": [track()] if tracks is None else tracks,
    }
    return {"code": 200, "msg": "ok", "data": data}


def post_raw(client: Client, mashup: Mashup, raw: str | bytes, **headers: str):
    url = reverse("mashups:callback", args=[mashup.callback_token])
    return client.post(url, raw, content_type="application/json", headers=headers)


def post(client: Client, mashup: Mashup, payload: object, **headers: str):
    return post_raw(client, mashup, json.dumps(payload), **headers)


@pytest.fixture
def job(owner) -> Mashup:
    mashup = remote_job(owner)
    Mashup.objects.filter(pk=mashup.pk).update(status=Status.SUBMITTED, provider_task_id="t-1")
    return Mashup.objects.get(pk=mashup.pk)


def state(mashup: Mashup) -> tuple:
    mashup = Mashup.objects.get(pk=mashup.pk)
    rows = list(mashup.tracks.values_list("title", "audio_url", "duration"))
    return (mashup.status, mashup.last_response, mashup.error_code, rows)


# --- final jobs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.COMPLETE, Status.FAILED])
def test_a_final_job_ignores_callbacks(client: Client, owner, status) -> None:
    mashup = finished_mashup(owner=owner, provider="remote", status=status)
    Mashup.objects.filter(pk=mashup.pk).update(provider_task_id="t-1")
    before = state(mashup)
    forged = body(tracks=[track(title="pwned", audio_url="https://evil.example/x.mp3")])
    response = post(client, mashup, forged)
    assert response.status_code == 200  # answered, so the provider stops retrying
    assert state(mashup) == before


# --- every field is validated ------------------------------------------------------------------

BAD_TRACKS = {
    "javascript url": track(audio_url="javascript:alert(1)"),
    "data url": track(image_url="data:text/html,<script>alert(1)</script>"),
    "stream url scheme": track(stream_audio_url="file:///etc/passwd"),
    "url too long": track(audio_url="https://cdn.example/" + "a" * 2000),
    "title too long": track(title="t" * 201),
    "id too long": track(id="i" * 129),
    "model too long": track(model_name="m" * 33),
    "title not text": track(title={"$gt": ""}),
    "tags not text": track(tags=["a", "b"]),
    "negative duration": track(duration=-5),
    "huge duration": track(duration=1e300),
    "duration not a number": track(duration="long"),
    "duration a boolean": track(duration=True),
}


@pytest.mark.parametrize("bad", list(BAD_TRACKS.values()), ids=list(BAD_TRACKS))
def test_a_bad_track_field_is_a_400_and_stores_nothing(client: Client, job, bad) -> None:
    before = state(job)
    response = post(client, job, body(tracks=[bad]))
    assert response.status_code == 400
    assert state(job) == before


RAW_BODIES = {
    "Infinity duration": '{"code":200,"data":{"callbackType":"complete","task_id":"t-1",'
    '"data":[{"id":"a","audio_url":"https://c.example/a.mp3","duration":Infinity}]}}',
    "1e999 duration": '{"code":200,"data":{"callbackType":"complete","task_id":"t-1",'
    '"data":[{"id":"a","audio_url":"https://c.example/a.mp3","duration":1e999}]}}',
    "1e999 code": '{"code":1e999,"msg":"x","data":{"callbackType":"error","task_id":"t-1"}}',
    "NaN code": '{"code":NaN,"msg":"x","data":{"callbackType":"error","task_id":"t-1"}}',
    "NaN elsewhere": '{"code":200,"msg":"x","extra":[NaN],"data":{"callbackType":"text",'
    '"task_id":"t-1"}}',
    "code not a number": '{"code":"soon","data":{"callbackType":"complete","task_id":"t-1"}}',
    "deep nesting": '{"code":200,"x":' + "[" * 200_000 + "]" * 200_000 + "}",
    "moderate nesting": '{"code":200,"x":' + "[" * 200 + "]" * 200 + "}",
    "task id too long": json.dumps(body(task_id="t" * 129)),
    "message too long": json.dumps({**body(), "msg": "m" * 5000}),
    "message not text": json.dumps({**body(), "msg": {"a": 1}}),
    "not json": "{",
    "not utf-8": b"\xff\xfe{}",
    "a list": "[]",
}


@pytest.mark.parametrize("raw", list(RAW_BODIES.values()), ids=list(RAW_BODIES))
def test_a_malformed_body_is_a_400_never_a_500(client: Client, job, raw) -> None:
    before = state(job)
    response = post_raw(client, job, raw)
    assert response.status_code == 400
    assert state(job) == before


def test_the_owners_pages_never_break_on_a_stored_duration(owner_client: Client, owner) -> None:
    mashup = remote_job(owner)
    Mashup.objects.filter(pk=mashup.pk).update(status=Status.SUBMITTED, provider_task_id="t-1")
    raw = RAW_BODIES["Infinity duration"]
    post_raw(Client(), mashup, raw)
    assert owner_client.get("/").status_code == 200
    assert owner_client.get(mashup.get_absolute_url()).status_code == 200


def test_the_limits_are_the_columns() -> None:
    """A value the column cannot hold is refused, not truncated by the database (PostgreSQL
    raises on a too-long value: a 500)."""
    fields = {f.name: f for f in Track._meta.get_fields() if hasattr(f, "max_length")}
    assert base.LIMITS["id"] == fields["provider_track_id"].max_length
    assert base.LIMITS["title"] == fields["title"].max_length
    assert base.LIMITS["model_name"] == fields["model_name"].max_length
    assert base.LIMITS["url"] == fields["audio_url"].max_length
    task_field = Mashup._meta.get_field("provider_task_id")
    assert base.LIMITS["task_id"] == task_field.max_length
    assert Source._meta.get_field("url").max_length == base.LIMITS["url"]


# --- signed callbacks: a hint, re-read from the provider, once per timestamp ---------------------

KEY = "webhook-secret"


def signed(task_id: str, stamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    return {
        "X-Webhook-Timestamp": str(stamp),
        "X-Webhook-Signature": sign(task_id, str(stamp), KEY),
    }


@pytest.fixture
def signing(settings, fake_api, monkeypatch):
    """The fake provider over loopback holds the job's real record; callbacks are signed."""
    settings.MASHUP_WEBHOOK_HMAC_KEY = KEY
    monkeypatch.setattr(Conf, "SYNC", True)  # the re-read runs at once, in this process
    return fake_api


def submitted_to(api, owner) -> Mashup:
    mashup = remote_job(owner)
    tasks.run_mashup(mashup.pk)
    return Mashup.objects.get(pk=mashup.pk)


def test_a_signed_callback_is_only_a_hint_the_record_is_re_read(
    client: Client, owner, signing
) -> None:
    mashup = submitted_to(signing, owner)
    task_id = mashup.provider_task_id
    reads = signing.count("record")
    forged = body(
        "complete",
        task_id,
        tracks=[track(title="forged", audio_url="https://evil.example/1.mp3")] * 2,
    )
    response = post(client, mashup, forged, **signed(task_id))
    assert response.status_code == 200
    assert signing.count("record") == reads + 1  # the provider's own record was read
    urls = list(Track.objects.filter(mashup=mashup).values_list("audio_url", flat=True))
    titles = list(Track.objects.filter(mashup=mashup).values_list("title", flat=True))
    assert "forged" not in titles
    assert all(not url.startswith("https://evil.example") for url in urls)


def test_a_replayed_signed_timestamp_is_refused(client: Client, owner, signing) -> None:
    mashup = submitted_to(signing, owner)
    headers = signed(mashup.provider_task_id)
    assert post(client, mashup, body("text", mashup.provider_task_id), **headers).status_code == 200
    reads = signing.count("record")
    again = post(client, mashup, body("complete", mashup.provider_task_id), **headers)
    assert again.status_code == 409
    assert signing.count("record") == reads  # nothing re-read for a replay


# --- follow-ups' callbacks: the same door, one token per follow-up ------------------------------


@pytest.fixture
def follow_up(owner):
    from mashup_site.mashups.models import FollowUp

    mashup = finished_mashup(owner=owner, provider="remote")
    track = mashup.tracks.get(position=1)
    return FollowUp.objects.create(
        track=track, kind="stems", status=Status.SUBMITTED, provider_task_id="vocal-1"
    )


def post_follow_up(client: Client, token: str, payload: object, **headers: str):
    url = reverse("mashups:follow_up_callback", args=[token])
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(url, raw, content_type="application/json", headers=headers)


def test_a_follow_up_callback_needs_its_own_token(client, follow_up, monkeypatch) -> None:
    polled: list[int] = []
    monkeypatch.setattr(tasks, "enqueue_follow_up_poll_now", polled.append)
    mashup_token = follow_up.track.mashup.callback_token
    ok = {"code": 200, "data": {"task_id": "vocal-1"}}
    assert post_follow_up(client, mashup_token, ok).status_code == 404
    assert post_follow_up(client, "x" * 43, ok).status_code == 404
    assert polled == []
    assert post_follow_up(client, follow_up.callback_token, ok).status_code == 200
    assert polled == [follow_up.pk]


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not json",
        "[]",
        '{"data": []}',
        '{"data": {"taskId": 5}}',
        '{"data": {"taskId": "' + "t" * 200 + '"}}',
        "1e999",
        '{"a":' * 40 + "1" + "}" * 40,
    ],
)
def test_a_malformed_follow_up_callback_is_a_400(client, follow_up, monkeypatch, raw) -> None:
    monkeypatch.setattr(tasks, "enqueue_follow_up_poll_now", lambda pk: None)
    assert post_follow_up(client, follow_up.callback_token, raw).status_code == 400


def test_a_signed_follow_up_callback_must_carry_a_valid_signature(
    client, follow_up, settings, monkeypatch
) -> None:
    polled: list[int] = []
    monkeypatch.setattr(tasks, "enqueue_follow_up_poll_now", polled.append)
    settings.MASHUP_WEBHOOK_HMAC_KEY = "webhook-key"
    ok = {"code": 200, "data": {"taskId": "vocal-1"}}
    assert post_follow_up(client, follow_up.callback_token, ok).status_code == 401
    stamp = str(int(time.time()))
    headers = {
        "X-Webhook-Timestamp": stamp,
        "X-Webhook-Signature": sign("vocal-1", stamp, "webhook-key"),
    }
    assert post_follow_up(client, follow_up.callback_token, ok, **headers).status_code == 200
    assert polled == [follow_up.pk]
