"""Callbacks from the provider, and the files we serve: trusted only for the job they name."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from mashup_site.mashups.models import Mashup, Status
from tests.factories import finished_mashup
from tests.fakes.fake_api import sign
from tests.fakes.jobs import remote_job

pytestmark = pytest.mark.django_db


def body(kind: str, task_id: str, *, code: int = 200, key: str = "task_id") -> dict:
    tracks = [
        {"id": f"{task_id}-{n}", "audio_url": f"https://cdn.example/{n}.mp3", "title": f"T{n}"}
        for n in (1, 2)
    ]
    data = {"callbackType": kind, key: task_id, "data": tracks if code == 200 else None}
    return {"code": code, "msg": "ok" if code == 200 else "failed", "data": data}


def post(client: Client, mashup: Mashup, payload: object, **headers: str):
    url = reverse("mashups:callback", args=[mashup.callback_token])
    return client.post(url, json.dumps(payload), content_type="application/json", headers=headers)


@pytest.fixture
def job(owner) -> Mashup:
    mashup = remote_job(owner)
    Mashup.objects.filter(pk=mashup.pk).update(status=Status.SUBMITTED, provider_task_id="t-1")
    return Mashup.objects.get(pk=mashup.pk)


def snapshot(mashup: Mashup) -> tuple:
    mashup = Mashup.objects.get(pk=mashup.pk)
    return (mashup.status, mashup.provider_task_id, mashup.last_response, mashup.tracks.count())


def test_a_callback_moves_its_job_forward(client: Client, job) -> None:
    response = post(client, job, body("complete", "t-1"))
    assert response.status_code == 200
    done = Mashup.objects.get(pk=job.pk)
    assert done.status == Status.COMPLETE
    assert done.last_response["data"]["callbackType"] == "complete"
    assert [t.audio_url for t in done.tracks.all()] == [
        "https://cdn.example/1.mp3",
        "https://cdn.example/2.mp3",
    ]


def test_it_answers_at_once_and_leaves_the_copying_to_the_worker(
    client: Client, job, fake_api, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post(client, job, body("complete", "t-1", key="taskId"))
    assert fake_api.requests == [] and fake_api.file_requests == 0  # no provider call inline
    assert OrmQ.objects.count() == 1  # the copy task, queued


def test_a_wrong_token_changes_nothing(client: Client, job) -> None:
    before = snapshot(job)
    url = reverse("mashups:callback", args=["not-a-real-token"])
    response = client.post(url, json.dumps(body("complete", "t-1")), "application/json")
    assert response.status_code == 404
    assert snapshot(job) == before


def test_another_jobs_token_changes_neither_job(client: Client, job, owner) -> None:
    other = remote_job(owner)
    Mashup.objects.filter(pk=other.pk).update(status=Status.SUBMITTED, provider_task_id="t-2")
    before = (snapshot(job), snapshot(other))
    response = post(client, job, body("complete", "t-2"))  # job's URL, other's task
    assert response.status_code == 409
    assert (snapshot(job), snapshot(other)) == before


def test_a_body_that_is_not_a_callback_changes_nothing(client: Client, job) -> None:
    before = snapshot(job)
    url = reverse("mashups:callback", args=[job.callback_token])
    assert client.post(url, "{not json", content_type="application/json").status_code == 400
    assert post(client, job, ["a", "list"]).status_code == 400
    assert snapshot(job) == before


def test_only_post_is_accepted(client: Client, job) -> None:
    assert client.get(reverse("mashups:callback", args=[job.callback_token])).status_code == 405


class TestSignatures:
    KEY = "webhook-secret"

    @pytest.fixture(autouse=True)
    def _key(self, settings) -> None:
        settings.MASHUP_WEBHOOK_HMAC_KEY = self.KEY

    def signed(self, task_id: str, stamp: int, key: str | None = None) -> dict[str, str]:
        return {
            "X-Webhook-Timestamp": str(stamp),
            "X-Webhook-Signature": sign(task_id, str(stamp), key or self.KEY),
        }

    def test_a_good_signature_is_accepted_as_a_hint_to_re_read_the_record(
        self, client: Client, job
    ) -> None:
        headers = self.signed("t-1", int(time.time()))
        assert post(client, job, body("complete", "t-1"), **headers).status_code == 200
        # The body is not signed: the provider's record is read (a re-poll is queued).
        assert Mashup.objects.get(pk=job.pk).status == Status.SUBMITTED
        assert OrmQ.objects.count() == 1

    @pytest.mark.parametrize(
        "headers",
        [
            {},  # unsigned
            {"X-Webhook-Timestamp": str(int(time.time())), "X-Webhook-Signature": "AAAA"},
            "wrong key",
            "stale",
            "other task",
        ],
    )
    def test_a_bad_signature_changes_nothing(self, client: Client, job, headers) -> None:
        now = int(time.time())
        if headers == "wrong key":
            headers = self.signed("t-1", now, key="guess")
        elif headers == "stale":
            headers = self.signed("t-1", now - 3600)
        elif headers == "other task":
            headers = self.signed("t-2", now)
        before = snapshot(job)
        response = post(client, job, body("complete", "t-1"), **headers)
        assert response.status_code == 401
        assert snapshot(job) == before


# --- source files for the remote provider ------------------------------------------------------


def source_url(mashup: Mashup, position: int = 1) -> str:
    source = mashup.sources.get(position=position)
    return reverse("mashups:source_file", args=[source.access_token])


def test_the_provider_downloads_an_uploaded_source_without_signing_in(owner) -> None:
    mashup = remote_job(owner, uploaded=True)
    response = Client().get(source_url(mashup))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"ID3 source"


def test_a_source_link_dies_when_the_job_is_final(owner) -> None:
    mashup = remote_job(owner, uploaded=True)
    Mashup.objects.filter(pk=mashup.pk).update(status=Status.COMPLETE)
    assert Client().get(source_url(mashup)).status_code == 404


def test_a_source_link_expires(owner, settings) -> None:
    settings.MASHUP_SOURCE_URL_HOURS = 24
    mashup = remote_job(owner, uploaded=True)
    Mashup.objects.filter(pk=mashup.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert Client().get(source_url(mashup)).status_code == 404


def test_local_jobs_never_serve_their_sources(owner) -> None:
    mashup = remote_job(owner, uploaded=True)
    Mashup.objects.filter(pk=mashup.pk).update(provider="local")
    assert Client().get(source_url(mashup)).status_code == 404


def test_songs_sent_to_the_upload_service_are_not_served_at_our_links(owner) -> None:
    """Nobody needs our link once the provider has the song from its upload service."""
    mashup = remote_job(owner, uploaded=True)
    Mashup.objects.filter(pk=mashup.pk).update(source_delivery="upload")
    assert Client().get(source_url(mashup)).status_code == 404


def test_a_guessed_source_token_is_404(owner) -> None:
    remote_job(owner, uploaded=True)
    url = reverse("mashups:source_file", args=["guess"])
    assert Client().get(url).status_code == 404


# --- result files ------------------------------------------------------------------------------


def test_a_stranger_cannot_fetch_anothers_results(owner, stranger_client, owner_client) -> None:
    mashup = finished_mashup(owner=owner)
    for kind in ("audio", "image"):
        url = reverse("mashups:track_file", args=[mashup.pk, 1, kind])
        assert owner_client.get(url).status_code == 200
        assert stranger_client.get(url).status_code == 404
        assert Client().get(url).status_code == 302  # to sign in


def test_a_track_downloads_under_its_own_title_which_tells_the_two_apart(
    owner, owner_client
) -> None:
    # our engine names each track by its layers: which song's voice over which song
    mashup = finished_mashup(owner=owner, prompt="make it bounce all night long please")
    for track, title in zip(mashup.tracks.order_by("position"), ("a × b", "b × a"), strict=True):
        track.title = title
        track.save()
    names = [
        owner_client.get(
            reverse("mashups:track_file", args=[mashup.pk, position, "audio"]) + "?download=1"
        )["Content-Disposition"]
        for position in (1, 2)
    ]
    assert names == [
        "attachment; filename*=utf-8''a%20%C3%97%20b.mp3",  # "a × b.mp3"
        "attachment; filename*=utf-8''b%20%C3%97%20a.mp3",
    ]


@pytest.mark.parametrize(
    ("titles", "saved"),
    [
        (("Night Drive", "Night Drive"), "Night Drive (2).mp3"),  # the service's, alike
        (("Song", "Song "), "Song (2).mp3"),  # alike once trimmed
        (("   ", ""), "Make it bounce (2).mp3"),  # none: the mashup's, numbered
    ],
)
def test_tracks_without_a_title_of_their_own_download_numbered(
    owner, owner_client, titles: tuple[str, str], saved: str
) -> None:
    mashup = finished_mashup(owner=owner, prompt="Make it bounce")
    for track, title in zip(mashup.tracks.order_by("position"), titles, strict=True):
        track.title = title
        track.save()
    url = reverse("mashups:track_file", args=[mashup.pk, 2, "audio"]) + "?download=1"
    assert f'filename="{saved}"' in owner_client.get(url)["Content-Disposition"]


@pytest.mark.parametrize(
    ("title", "saved"),
    [
        ("Back in Black/Around the World", "Back in Black-Around the World (1).mp3"),
        ("Mix 1\\2", "Mix 1-2 (1).mp3"),
        ("Side A\nSide B\tlive", "Side A Side B live (1).mp3"),
        ("Side A\u2029Side B\x07", "Side A Side B (1).mp3"),
    ],
)
def test_a_downloads_name_is_its_title_whatever_the_title_holds(
    owner, owner_client, title: str, saved: str
) -> None:
    # A browser saves "a/b.mp3" as "b.mp3": everything before the slash was lost.
    mashup = finished_mashup(owner=owner)
    mashup.tracks.update(title=title)
    url = reverse("mashups:track_file", args=[mashup.pk, 1, "audio"]) + "?download=1"
    assert f'filename="{saved}"' in owner_client.get(url)["Content-Disposition"]


def test_stored_files_have_no_public_url(owner, stranger_client) -> None:
    mashup = finished_mashup(owner=owner)
    track = mashup.tracks.get(position=1)
    assert stranger_client.get(f"/media/{track.audio.name}").status_code == 404
    assert Client().get(f"/media/{track.audio.name}").status_code in (302, 404)


def test_the_owner_downloads_a_track_under_its_title(owner, owner_client) -> None:
    mashup = finished_mashup(owner=owner, title="Night Drive")
    url = reverse("mashups:track_file", args=[mashup.pk, 2, "audio"]) + "?download=1"
    response = owner_client.get(url)
    assert response.status_code == 200
    assert 'attachment; filename="Night Drive (2).mp3"' in response["Content-Disposition"]
