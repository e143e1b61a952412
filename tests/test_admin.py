"""The admin, as the staff persona: lists, filters, read-only fields, actions, credits."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task

from mashup_site.mashups import admin, retention
from mashup_site.mashups.admin import MashupAdmin
from mashup_site.mashups.models import FollowUp, Level, Mashup, Status, expiry_of
from tests.factories import MashupFactory, UserFactory, finished_mashup, mashup_with_sources

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:mashups_mashup_changelist")
CREDITS = reverse("admin:mashups_mashup_credits")
FOLLOW_UPS = reverse("admin:mashups_followup_changelist")


def act(client: Client, action: str, *mashups: Mashup, capture=None) -> str:
    data = {"action": action, "_selected_action": [m.pk for m in mashups]}
    if capture is None:
        return client.post(CHANGELIST, data, follow=True).content.decode()
    with capture(execute=True):
        return client.post(CHANGELIST, data, follow=True).content.decode()


def test_only_staff_reach_the_admin(owner_client: Client) -> None:
    response = owner_client.get(CHANGELIST)
    assert response.status_code == 302
    assert reverse("admin:login") in response.url


def test_the_list_shows_owner_title_provider_model_status_and_expiry(
    staff_client: Client, owner
) -> None:
    MashupFactory(
        owner=owner,
        custom_mode=True,
        title="Night Drive",
        model="V4_5",
        status=Status.COMPLETE,
        expires_at=timezone.now() + timedelta(days=5, hours=1),
    )
    html = staff_client.get(CHANGELIST).content.decode()
    for text in ("Night Drive", "olivia", "Local engine", "V4_5", "Complete", "expires in 5 days"):
        assert text in html
    for column in ("owner", "made_with", "status", "created_at", "expires"):
        assert f"column-{column}" in html


def test_the_list_says_why_a_mashup_failed_in_a_few_words(staff_client: Client, owner) -> None:
    why = "“quiet.wav” is silent. " + "It says more after that. " * 10
    MashupFactory(owner=owner, status=Status.FAILED, error_message=why)
    MashupFactory(owner=owner, status=Status.COMPLETE, error_message="busy; retrying")
    html = staff_client.get(CHANGELIST).content.decode()
    assert "column-failure" in html
    assert "“quiet.wav” is silent." in html and why not in html  # cut short, whole on its page
    assert "busy; retrying" not in html  # a finished job's old notice is no failure


@pytest.mark.parametrize(
    "query",
    ["status__exact=failed", "provider__exact=local", "model__exact=V4", "custom_mode__exact=1"],
)
def test_the_list_filters_by_status_provider_model_and_mode(
    staff_client: Client, owner, query: str
) -> None:
    match = MashupFactory(
        owner=owner, status=Status.FAILED, model="V4", custom_mode=True, title="Match"
    )
    MashupFactory(owner=owner, status=Status.COMPLETE, model="V5", provider="remote")
    response = staff_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert match in shown
    assert len(shown) == 1 or query == "provider__exact=local"


def test_the_list_searches_titles_prompts_and_owners(staff_client: Client, owner, stranger) -> None:
    mine = MashupFactory(owner=owner, prompt="a tango for robots")
    theirs = MashupFactory(owner=stranger, prompt="polka")
    for term, expected in (("tango", mine), ("sam", theirs)):
        response = staff_client.get(f"{CHANGELIST}?q={term}")
        assert list(response.context["cl"].result_list) == [expected]


def test_the_list_finds_a_mashup_by_its_songs_names_and_links(staff_client: Client, owner) -> None:
    wanted = mashup_with_sources(owner=owner)
    wanted.sources.filter(position=1).update(original_name="Silent night (demo).wav")
    wanted.sources.filter(position=2).update(url="https://music.example/track-77.mp3")
    mashup_with_sources(owner=owner)
    for term in ("silent", "track-77"):
        response = staff_client.get(f"{CHANGELIST}?q={term}")
        assert list(response.context["cl"].result_list) == [wanted]


def test_the_admin_is_named_for_the_app(staff_client: Client) -> None:
    html = staff_client.get(CHANGELIST).content.decode()
    assert "Mashup Studio administration" in html and "Django administration" not in html


def test_the_change_page_shows_the_payload_task_stages_and_response_read_only(
    staff_client: Client, owner
) -> None:
    mashup = finished_mashup(
        owner=owner,
        provider_task_id="task-42",
        last_response={"code": 200, "msg": "success"},
        completed_at=timezone.now(),
    )
    html = staff_client.get(
        reverse("admin:mashups_mashup_change", args=[mashup.pk])
    ).content.decode()
    assert "task-42" in html
    assert "&quot;msg&quot;: &quot;success&quot;" in html or "success" in html
    for field in ("payload", "provider_task_id", "last_response", "completed_at", "first_at"):
        assert f'name="{field}"' not in html  # shown, not editable
        assert f"field-{field}" in html
    assert 'name="expires_at_0"' in html and 'name="keep_forever"' in html  # staff may edit
    assert "tracks-TOTAL_FORMS" in html  # the tracks inline


def test_staff_see_which_delivery_a_job_used_and_filter_by_it(staff_client: Client, owner) -> None:
    uploaded = finished_mashup(owner=owner, provider="remote", source_delivery="upload")
    uploaded.sources.filter(position=1).update(
        hosted_url="https://files.example.org/song-1.mp3", hosted_at=timezone.now()
    )
    linked = finished_mashup(owner=owner, provider="remote", source_delivery="link")
    html = staff_client.get(
        reverse("admin:mashups_mashup_change", args=[uploaded.pk])
    ).content.decode()
    assert "field-source_delivery" in html and 'name="source_delivery"' not in html
    assert "Upload service" in html
    assert "https://files.example.org/song-1.mp3" in html  # the song's copy, in the inline
    for value, expected in (("upload", uploaded), ("link", linked)):
        response = staff_client.get(f"{CHANGELIST}?source_delivery__exact={value}")
        assert list(response.context["cl"].result_list) == [expected]
    assert "By source delivery" in staff_client.get(CHANGELIST).content.decode()


@pytest.mark.parametrize(
    ("provider", "base_url", "said"),
    [
        ("remote", "http://127.0.0.1:8000", True),
        ("remote", "http://nas.local:8000", True),
        ("remote", "https://mashups.example.com", False),
        ("local", "http://127.0.0.1:8000", False),  # the local engine needs no callbacks
    ],
)
def test_the_jobs_list_says_when_callbacks_cannot_reach_us(
    staff_client: Client, settings, provider, base_url, said
) -> None:
    settings.MASHUP_PROVIDER, settings.PUBLIC_BASE_URL = provider, base_url
    html = staff_client.get(CHANGELIST).content.decode()
    assert ("callbacks will not arrive" in html) is said
    if said:
        assert "polling" in html and "upload service" in html


def test_what_was_asked_and_the_status_are_records_staff_cannot_rewrite(
    staff_client: Client, owner
) -> None:
    mashup = finished_mashup(owner=owner, title="As asked", style="dub", custom_mode=True)
    change = reverse("admin:mashups_mashup_change", args=[mashup.pk])
    html = staff_client.get(change).content.decode()
    for field in ("owner", "status", "provider", "model", "title", "style", "prompt"):
        assert f'name="{field}"' not in html, field
        assert f"field-{field}" in html, field  # shown
    for inline in ("sources", "tracks"):  # songs and tracks come from the pipeline alone
        assert f'name="{inline}-MAX_NUM_FORMS" value="0"' in html

    forged = {"title": "Rewritten", "status": Status.QUEUED, "owner": "", "prompt": ""}
    data = {**forged, "expires_at_0": "2031-01-02", "expires_at_1": "10:00:00", "_save": "Save"}
    for prefix, rows in (("sources", mashup.sources.all()), ("tracks", mashup.tracks.all())):
        data |= {f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": len(rows)}
        for n, row in enumerate(rows):
            data |= {f"{prefix}-{n}-id": row.pk, f"{prefix}-{n}-mashup": mashup.pk}
    assert staff_client.post(change, data).status_code == 302
    mashup.refresh_from_db()
    assert (mashup.title, mashup.status) == ("As asked", Status.COMPLETE)
    assert mashup.expires_at.year == 2031  # what retention needs stays editable


def test_mashups_and_songs_are_not_added_or_edited_by_hand(staff_client: Client, owner) -> None:
    song = finished_mashup(owner=owner).sources.first()
    assert staff_client.get(reverse("admin:mashups_mashup_add")).status_code == 403
    assert staff_client.get(reverse("admin:mashups_source_add")).status_code == 403
    page = staff_client.get(reverse("admin:mashups_source_change", args=[song.pk]))
    assert page.status_code == 200 and 'name="url"' not in page.content.decode()  # view only
    assert (
        staff_client.get(reverse("admin:mashups_source_delete", args=[song.pk])).status_code == 403
    )


def test_the_repoll_action_enqueues_a_poll_for_remote_jobs_in_progress(
    staff_client: Client, owner
) -> None:
    later = timezone.now() + timedelta(minutes=5)
    polled = MashupFactory(
        owner=owner,
        provider="remote",
        status=Status.ANALYSED,
        provider_task_id="t1",
        next_poll_at=later,
    )
    done = MashupFactory(
        owner=owner, provider="remote", status=Status.COMPLETE, provider_task_id="t2"
    )
    local = MashupFactory(owner=owner, status=Status.ANALYSED)
    html = act(staff_client, "repoll", polled, done, local)
    assert "1 of 3 mashups re-poll queued." in html
    queued = [task.task["func"] for task in OrmQ.objects.all()]
    assert queued == ["mashup_site.mashups.tasks.poll_mashup"]
    assert OrmQ.objects.get().task["args"] == (polled.pk,)
    polled.refresh_from_db()
    assert polled.next_poll_at is None  # so the poll is not skipped as early


def test_the_retry_action_requeues_failed_jobs_only(
    staff_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    failed = MashupFactory(owner=owner, status=Status.FAILED, error_message="no")
    fine = MashupFactory(owner=owner, status=Status.COMPLETE)
    html = act(staff_client, "retry", failed, fine, capture=django_capture_on_commit_callbacks)
    assert "1 of 2 mashups queued again." in html
    failed.refresh_from_db()
    fine.refresh_from_db()
    assert (failed.status, fine.status) == (Status.QUEUED, Status.COMPLETE)
    assert [task.task["func"] for task in OrmQ.objects.all()] == [
        "mashup_site.mashups.tasks.run_mashup"
    ]


def test_staff_may_retry_a_failure_its_owner_is_told_would_repeat(
    staff_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    # e.g. once the engine is mended: the new run starts with a clean slate
    failed = MashupFactory(owner=owner, status=Status.FAILED, error_final=True)
    html = act(staff_client, "retry", failed, capture=django_capture_on_commit_callbacks)
    assert "1 of 1 mashup queued again." in html
    failed.refresh_from_db()
    assert (failed.status, failed.error_final) == (Status.QUEUED, False)


def test_the_extend_and_keep_forever_actions(staff_client: Client, owner, settings) -> None:
    settings.RETENTION_DAYS = 14
    soon = timezone.now() + timedelta(hours=2)
    extended = MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=soon)
    kept = MashupFactory(owner=owner, status=Status.COMPLETE, expires_at=soon)
    act(staff_client, "extend_expiry", extended)
    act(staff_client, "keep_forever", kept)
    extended.refresh_from_db()
    kept.refresh_from_db()
    assert extended.expires_at - soon == timedelta(days=14)
    assert kept.keep_forever
    assert expiry_of(kept).level == Level.KEPT


def test_the_purge_action_deletes_files_and_marks_expired(
    staff_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    mashup = finished_mashup(owner=owner, expires_at=timezone.now() + timedelta(days=9))
    names = [n for t in mashup.tracks.all() for n in (t.audio.name, t.image.name)]
    with django_capture_on_commit_callbacks(execute=True):  # files go on commit
        act(staff_client, "purge_files", mashup)
    mashup.refresh_from_db()
    assert mashup.status == Status.EXPIRED
    assert not any(default_storage.exists(name) for name in names)


MASHUP_ACTIONS = tuple(MashupAdmin.actions)  # every one of them, as it grows


def offered(client: Client, changelist: str) -> list[str]:
    """The actions the list's menu offers (none at all when the list is empty)."""
    html = client.get(changelist).content.decode()
    return re.findall(
        r'<option value="(\w+)"', html.split('name="action"', 1)[-1].split("</select>")[0]
    )


def every_kind_of_job(owner) -> list[Mashup]:
    """A finished mashup with files, a failed one and a remote one in progress: something
    for each action to change."""
    return [
        finished_mashup(owner=owner, expires_at=timezone.now() + timedelta(days=9)),
        MashupFactory(owner=owner, status=Status.FAILED, error_message="no"),
        MashupFactory(
            owner=owner, provider="remote", status=Status.ANALYSED, provider_task_id="t1"
        ),
    ]


def in_progress_follow_up(owner) -> FollowUp:
    track = finished_mashup(owner=owner, provider="remote").tracks.first()
    return FollowUp.objects.create(
        track=track, kind="wav", status=Status.SUBMITTED, provider_task_id="f1"
    )


def test_staff_who_may_only_view_jobs_are_offered_no_action(viewer_client: Client, owner) -> None:
    every_kind_of_job(owner)
    in_progress_follow_up(owner)
    assert offered(viewer_client, CHANGELIST) == []
    assert offered(viewer_client, FOLLOW_UPS) == []


def test_staff_who_may_change_jobs_are_offered_every_action(staff_client: Client, owner) -> None:
    every_kind_of_job(owner)
    in_progress_follow_up(owner)
    assert set(MASHUP_ACTIONS) <= set(offered(staff_client, CHANGELIST))
    assert "repoll_follow_ups" in offered(staff_client, FOLLOW_UPS)


@pytest.mark.parametrize("action", MASHUP_ACTIONS)
def test_staff_who_may_only_view_jobs_cannot_run_an_action_by_hand(
    viewer_client: Client, owner, action: str, django_capture_on_commit_callbacks
) -> None:
    # A view-only staff member purged another user's mashup with a crafted POST.
    jobs = every_kind_of_job(owner)
    names = [n for t in jobs[0].tracks.all() for n in (t.audio.name, t.image.name)]
    before = list(Mashup.objects.order_by("pk").values())
    act(viewer_client, action, *jobs, capture=django_capture_on_commit_callbacks)
    assert list(Mashup.objects.order_by("pk").values()) == before
    assert all(default_storage.exists(name) for name in names)
    assert not OrmQ.objects.exists()  # nothing queued: no poll, retry or follow-up
    assert not FollowUp.objects.exists()


def test_staff_who_may_only_view_follow_ups_cannot_have_them_polled(
    viewer_client: Client, owner
) -> None:
    follow_up = in_progress_follow_up(owner)
    data = {"action": "repoll_follow_ups", "_selected_action": [follow_up.pk]}
    viewer_client.post(FOLLOW_UPS, data)
    assert not OrmQ.objects.exists()


def test_deleting_in_the_admin_takes_the_files_along(
    staff_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    mashup = finished_mashup(owner=owner)
    names = [n for t in mashup.tracks.all() for n in (t.audio.name, t.image.name)]
    data = {"action": "delete_selected", "_selected_action": [mashup.pk], "post": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(CHANGELIST, data)
    assert not Mashup.objects.filter(pk=mashup.pk).exists()
    assert not any(default_storage.exists(name) for name in names)


def test_sources_users_and_the_queue_have_their_admin(staff_client: Client) -> None:
    retention.ensure_schedule()
    for name in (
        "admin:mashups_source_changelist",
        "admin:auth_user_changelist",
        "admin:django_q_schedule_changelist",
        "admin:django_q_success_changelist",
        "admin:django_q_failure_changelist",
    ):
        assert staff_client.get(reverse(name)).status_code == 200, name
    schedules = staff_client.get(reverse("admin:django_q_schedule_changelist")).content.decode()
    assert retention.SCHEDULE_NAME in schedules
    assert Schedule.objects.filter(name=retention.SCHEDULE_NAME).exists()


@pytest.mark.parametrize(
    "changelist",
    [
        CHANGELIST,
        FOLLOW_UPS,
        reverse("admin:mashups_source_changelist"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:django_q_failure_changelist"),
    ],
)
def test_a_search_of_a_thousand_words_searches_the_first_and_says_so(
    staff_client: Client, owner, changelist: str
) -> None:
    # SQLite refused the query ("Expression tree is too large") and the page said the
    # storage could not be reached.
    mashup_with_sources(owner=owner, prompt="night drive")
    response = staff_client.get(changelist, {"q": " ".join(["night"] * 1000)}, follow=True)
    assert response.status_code == 200
    assert f"Searched for the first {admin.SEARCH_WORDS} words only." in response.content.decode()


def queue_record(*, success: bool):
    """A task django-q2 ran: a job run, done or failed."""
    return Task.objects.create(
        id=("a" if success else "b") * 32,
        name="a-job",
        func="mashup_site.mashups.tasks.run_mashup",
        args=(1,),
        started=timezone.now(),
        stopped=timezone.now(),
        success=success,
    )


@pytest.mark.parametrize("model", ["success", "failure"])
def test_staff_who_may_only_view_the_queues_records_cannot_resubmit_a_task(
    client: Client, model: str
) -> None:
    # django-q2's own "Resubmit selected tasks" runs a job again for anyone who may look.
    from django.contrib.auth.models import Permission

    looker = UserFactory(username="quinn", is_staff=True)
    looker.user_permissions.set(Permission.objects.filter(codename=f"view_{model}"))
    client.force_login(looker)
    task = queue_record(success=model == "success")
    changelist = reverse(f"admin:django_q_{model}_changelist")
    assert client.get(changelist).status_code == 200
    assert offered(client, changelist) == []
    client.post(changelist, {"action": "resubmit_task", "_selected_action": [task.pk]})
    assert not OrmQ.objects.exists()
    assert Task.objects.filter(pk=task.pk).exists()


def test_staff_who_may_change_the_queues_records_resubmit_a_failed_task(
    staff_client: Client,
) -> None:
    task = queue_record(success=False)
    changelist = reverse("admin:django_q_failure_changelist")
    assert "resubmit_task" in offered(staff_client, changelist)
    staff_client.post(changelist, {"action": "resubmit_task", "_selected_action": [task.pk]})
    assert [q.task["func"] for q in OrmQ.objects.all()] == ["mashup_site.mashups.tasks.run_mashup"]


# --- credits ----------------------------------------------------------------------------------


def test_credits_are_not_needed_with_the_local_engine_and_nothing_is_logged(
    staff_client: Client, settings, caplog
) -> None:
    settings.MASHUP_PROVIDER = "local"
    html = staff_client.get(CREDITS).content.decode()
    assert "none needed: the local engine makes the mashups on this server" in html
    assert "unavailable" not in html
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_credits_come_from_the_remote_provider(staff_client: Client, settings, fake_api) -> None:
    settings.MASHUP_PROVIDER = "remote"
    fake_api.credits = 1234
    html = staff_client.get(CREDITS).content.decode()
    assert "1,234 credits left" in html
    fragment = staff_client.get(CREDITS, HTTP_HX_REQUEST="true").content.decode()
    assert fragment == "Provider: 1,234 credits left"


def test_credits_say_unavailable_when_the_provider_refuses(
    staff_client: Client, settings, fake_api
) -> None:
    settings.MASHUP_PROVIDER = "remote"
    settings.MASHUP_API_KEY = "wrong-key"
    response = staff_client.get(CREDITS)
    assert response.status_code == 200
    assert "unavailable:" in response.content.decode()


def test_the_list_links_to_the_credits_and_loads_them_lazily(staff_client: Client) -> None:
    html = staff_client.get(CHANGELIST).content.decode()
    assert f'href="{CREDITS}" hx-get="{CREDITS}" hx-trigger="load"' in html


def test_only_staff_see_the_credits(owner_client: Client) -> None:
    assert owner_client.get(CREDITS).status_code == 302


def test_the_follow_up_actions_ask_for_both_tracks_uncounted(
    staff_client: Client, owner, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from django_q.conf import Conf

    from mashup_site.mashups.models import FollowUp, Start

    monkeypatch.setattr(Conf, "SYNC", True)
    local = finished_mashup(owner=owner, provider="local")
    for track in local.tracks.all():
        track.wav.save("w.wav", ContentFile(b"RIFF"), save=True)
    page = act(staff_client, "ask_wav", local, capture=django_capture_on_commit_callbacks)
    assert "WAV: asked for 2 tracks." in page
    asked = FollowUp.objects.filter(kind="wav", track__mashup=local)
    assert asked.count() == 2 and {f.status for f in asked} == {Status.COMPLETE}
    assert not Start.objects.exists()  # staff's are not counted
    page = act(staff_client, "ask_lyrics", local)
    assert "does not sing" in page
    assert not FollowUp.objects.filter(kind="lyrics").exists()  # the engine does not sing
    page = staff_client.get(reverse("admin:mashups_followup_changelist")).content.decode()
    assert "Cost credits" in page or "cost credits" in page.lower()
