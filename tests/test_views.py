"""Views: login required, owners only, CSRF, the create flow by full posts and by htmx."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from mashup_site.mashups import quotas, storage
from mashup_site.mashups.models import (
    KEPT_PER_PERSON,
    KeptFile,
    Mashup,
    Source,
    Status,
    UploadLockQuerySet,
)
from tests.audiofiles import write_tone
from tests.factories import HTMX, finished_mashup, mashup_with_sources

pytestmark = pytest.mark.django_db

CREATE = reverse("mashups:create")


def url_sources() -> dict[str, str]:
    return {"url1": "https://example.com/one.mp3", "url2": "https://example.com/two.mp3"}


def upload(tmp_path: Path, name: str, fmt: str = "mp3", seconds: float = 6.0) -> SimpleUploadedFile:
    path = tmp_path / f"{name}.{fmt}"
    write_tone(path, fmt, seconds=seconds)
    return SimpleUploadedFile(path.name, path.read_bytes())


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mashups:gallery", "mashups:create"])
def test_it_sends_anonymous_people_to_sign_in(client: Client, name: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_sends_anonymous_people_to_sign_in_from_a_mashup(client: Client, owner) -> None:
    mashup = mashup_with_sources(owner=owner)
    response = client.get(mashup.get_absolute_url())
    assert response.status_code == 302


def test_the_sign_in_page_is_public(client: Client) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_a_person_signs_in_and_lands_on_the_gallery(client: Client, owner, password) -> None:
    response = client.post(reverse("login"), {"username": owner.username, "password": password})
    assert response.status_code == 302
    assert response.url == reverse("mashups:gallery")


def test_a_wrong_password_is_a_clear_message(client: Client, owner) -> None:
    response = client.post(reverse("login"), {"username": owner.username, "password": "nope"})
    assert response.status_code == 200
    assert b"enter a correct username and password" in response.content


def test_a_person_changes_their_password(owner_client: Client, password) -> None:
    response = owner_client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "a new tune 2026",
            "new_password2": "a new tune 2026",
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("password_change_done")


def test_the_password_rules_are_shown_as_help_like_every_other_fields(owner_client) -> None:
    # Django's rules are a list: inside a <p> the browser closed the paragraph before it,
    # and the rules fell out of the help's style.
    html = owner_client.get(reverse("password_change")).content.decode()
    assert '<div class="help" id="id_new_password1_helptext"><ul>' in html
    assert '<p class="help"' not in html


@pytest.mark.parametrize(
    "path",
    ["/accounts/password_reset/", "/accounts/reset/MQ/set-password/", "/accounts/reset/done/"],
)
def test_there_is_no_password_reset_by_email(client: Client, path: str) -> None:
    # No mail is sent from here (staff set a new password: the sign-in page says so), yet
    # Django's stock pages said "we've emailed you instructions".
    assert client.get(path).status_code == 404


def test_every_page_answers_head_as_it_answers_get(owner_client: Client, owner) -> None:
    # Uptime checks and download managers ask HEAD: every page answered 405.
    mashup = finished_mashup(owner=owner)
    for url in (
        reverse("mashups:healthz"),
        reverse("mashups:readyz"),
        reverse("mashups:gallery"),
        reverse("mashups:create"),
        mashup.get_absolute_url(),
        reverse("mashups:delete", args=[mashup.pk]),
        reverse("mashups:track_file", args=[mashup.pk, 1, "audio"]),
    ):
        got, head = owner_client.get(url), owner_client.head(url)
        assert head.status_code == got.status_code == 200, url
        body = b"".join(head.streaming_content) if head.streaming else head.content
        assert body == b"", url


def test_a_stranger_gets_404_for_someone_elses_mashup(stranger_client: Client, owner) -> None:
    mashup = mashup_with_sources(owner=owner)
    assert stranger_client.get(mashup.get_absolute_url()).status_code == 404


def test_the_owner_sees_what_was_asked(owner_client: Client, owner) -> None:
    mashup = mashup_with_sources(owner=owner, prompt="Disco meets folk")
    response = owner_client.get(mashup.get_absolute_url())
    assert response.status_code == 200
    assert b"Disco meets folk" in response.content
    assert b"https://example.com/song-" in response.content


def test_the_create_form_needs_a_csrf_token(owner) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(CREATE, {"model": "V5", "prompt": "idea", **url_sources()})
    assert response.status_code == 403
    assert not Mashup.objects.exists()


def test_the_page_carries_the_csrf_token_for_htmx_once(owner_client: Client) -> None:
    html = owner_client.get(CREATE).content.decode()
    assert html.count('hx-headers=\'{"X-CSRFToken"') == 1


# --- the create page --------------------------------------------------------------------


def test_it_starts_in_simple_mode_with_only_simple_fields(owner_client: Client) -> None:
    html = owner_client.get(CREATE).content.decode()
    assert 'name="prompt"' in html
    assert 'name="customMode"' in html
    assert 'name="instrumental"' in html
    for absent in ("style", "title", "vocalGender", "styleWeight", "audioWeight"):
        assert f'name="{absent}"' not in html


def test_it_shows_model_descriptions(owner_client: Client) -> None:
    html = owner_client.get(CREATE).content.decode()
    assert "V4 · max 4 min" in html
    assert "V4_5 · max 8 min" in html


def test_it_shows_the_counter_limit_of_the_mode(owner_client: Client) -> None:
    html = owner_client.get(CREATE).content.decode()
    assert '<span class="limit">500</span>' in html


def test_switching_by_htmx_returns_only_the_field_group(owner_client: Client) -> None:
    response = owner_client.post(
        CREATE,
        {"_switch": "1", "customMode": "on", "model": "V4", "prompt": "my words"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="mashup-fields"')
    assert "<html" not in html
    assert 'name="style"' in html
    assert '<span class="limit">200</span>' in html  # V4 style
    assert "my words" in html  # what was typed stays


def test_switching_to_instrumental_custom_removes_the_lyrics(owner_client: Client) -> None:
    data = {"_switch": "1", "customMode": "on", "instrumental": "on", "model": "V5", "prompt": "la"}
    html = owner_client.post(CREATE, data, headers=HTMX).content.decode()
    assert 'name="prompt"' not in html
    assert 'name="stash-prompt" value="la"' in html  # kept aside, not sent to the API


def test_switching_back_restores_what_the_hidden_fields_held(owner_client: Client) -> None:
    data = {"_switch": "1", "customMode": "on", "stash-style": "lofi", "stash-title": "T"}
    html = owner_client.post(CREATE, data, headers=HTMX).content.decode()
    assert "lofi</textarea>" in html
    assert 'value="T"' in html


def test_switching_without_javascript_renders_the_whole_page(owner_client: Client) -> None:
    response = owner_client.post(CREATE, {"_switch": "1", "customMode": "on", "model": "V5"})
    html = response.content.decode()
    assert "<html" in html
    assert 'name="style"' in html
    assert (
        "errors"
        not in html.split('id="mashup-fields"')[1].split("</form>")[0].replace("form-errors", "")
        or "This field is required" not in html
    )


def test_an_invalid_submit_shows_messages_next_to_fields(owner_client: Client) -> None:
    data = {"customMode": "on", "model": "V4", "style": "s" * 201, "title": "T", "prompt": "la"}
    response = owner_client.post(CREATE, {**data, **url_sources()})
    assert response.status_code == 422
    assert "At most 200 characters for V4 (this has 201)." in response.content.decode()
    assert not Mashup.objects.exists()


@pytest.mark.parametrize(
    ("provider", "says", "never"),
    [
        ("local", ["does not sing", "Nothing was started."], ["lyrics are written", "credit"]),
        ("remote", ["lyrics are written from it", "no credit was spent"], ["does not sing"]),
    ],
)
def test_the_form_says_what_the_provider_in_use_does_with_the_words(
    owner_client: Client, settings, provider: str, says: list[str], never: list[str]
) -> None:
    settings.MASHUP_PROVIDER = provider
    html = owner_client.post(CREATE, {"model": "V5", "prompt": ""}).content.decode()
    for words in says:
        assert words in html
    for words in never:
        assert words not in html


def test_it_requires_a_source_for_each_song(owner_client: Client) -> None:
    response = owner_client.post(CREATE, {"model": "V5", "prompt": "idea"})
    html = response.content.decode()
    assert "Choose an audio file or give a URL for song 1." in html
    assert "Choose an audio file or give a URL for song 2." in html


def test_it_refuses_a_file_and_a_url_for_the_same_song(owner_client: Client, tmp_path) -> None:
    data = {"model": "V5", "prompt": "idea", **url_sources(), "audio1": upload(tmp_path, "a")}
    response = owner_client.post(CREATE, data)
    assert "Give a file or a URL for this song, not both." in response.content.decode()


def test_the_same_file_for_both_songs_is_refused_before_anything_starts(
    owner_client: Client, tmp_path
) -> None:
    song = upload(tmp_path, "song").read()
    data = {
        "model": "V5",
        "prompt": "idea",
        "audio1": SimpleUploadedFile("song.mp3", song),
        "audio2": SimpleUploadedFile("song (copy).mp3", song),
    }
    response = owner_client.post(CREATE, data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "This is the same file as song 1: a mashup needs two different songs." in html
    assert 'name="kept1" value=' in html and 'name="kept2" value=' not in html  # chosen again
    assert not Mashup.objects.exists()


def test_a_kept_song_chosen_again_for_the_other_song_is_refused(
    owner_client: Client, tmp_path
) -> None:
    song = upload(tmp_path, "song").read()
    first = owner_client.post(
        CREATE, {"model": "V5", "prompt": "", "audio1": SimpleUploadedFile("song.mp3", song)}
    )
    token = first.content.decode().split('name="kept1" value="')[1].split('"')[0]
    second = owner_client.post(
        CREATE,
        {
            "model": "V5",
            "prompt": "idea",
            "kept1": token,
            "audio2": SimpleUploadedFile("again.mp3", song),
        },
    )
    assert second.status_code == 422
    assert "This is the same file as song 1" in second.content.decode()
    assert 'name="kept2" value=' not in second.content.decode()
    assert not Mashup.objects.exists()


@pytest.mark.parametrize(
    "again", ["HTTPS://Example.COM/one.mp3", "https://example.com:443/one.mp3#chorus"]
)
def test_the_same_link_for_both_songs_is_refused(owner_client: Client, again: str) -> None:
    data = {"model": "V5", "prompt": "idea", "url1": "https://example.com/one.mp3", "url2": again}
    response = owner_client.post(CREATE, data)
    assert response.status_code == 422
    assert "This is the same link as song 1: a mashup needs two different songs." in (
        response.content.decode()
    )
    assert not Mashup.objects.exists()


def test_two_songs_alike_but_not_the_same_file_are_taken(owner_client: Client, tmp_path) -> None:
    data = {
        "model": "V5",
        "prompt": "idea",
        "audio1": upload(tmp_path, "one", seconds=6.0),
        "audio2": upload(tmp_path, "two", seconds=6.5),
    }
    assert owner_client.post(CREATE, data).status_code == 302


def test_it_refuses_urls_that_are_not_http(owner_client: Client) -> None:
    data = {"model": "V5", "prompt": "idea", "url1": "ftp://example.com/a.mp3", "url2": "x"}
    response = owner_client.post(CREATE, data)
    assert response.status_code == 422
    assert not Mashup.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/song.mp3",
        "http://localhost/song.mp3",
        "http://10.1.2.3/song.mp3",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/song.mp3",
    ],
)
def test_it_refuses_a_link_to_a_local_or_private_address_at_once(
    owner_client: Client, url: str
) -> None:
    response = owner_client.post(
        CREATE, {"model": "V5", "prompt": "idea", **url_sources(), "url2": url}
    )
    assert response.status_code == 422
    assert "private or local address" in response.content.decode()
    assert "Give a public link, or upload the file." in response.content.decode()
    assert not Mashup.objects.exists()


def test_a_valid_simple_submit_saves_the_job_and_lands_on_its_page(
    owner_client: Client, owner
) -> None:
    response = owner_client.post(
        CREATE, {"model": "V5", "prompt": "Rock meets reggae", **url_sources()}
    )
    mashup = Mashup.objects.get()
    assert response.status_code == 302
    assert response.url == mashup.get_absolute_url()
    assert mashup.owner == owner
    assert mashup.status == Status.QUEUED
    assert mashup.payload == {
        "customMode": False,
        "model": "V5",
        "instrumental": False,
        "prompt": "Rock meets reggae",
    }
    assert [s.url for s in mashup.sources.all()] == list(url_sources().values())


def test_a_valid_custom_submit_saves_the_api_payload(owner_client: Client) -> None:
    data = {
        "customMode": "on",
        "model": "V4_5",
        "prompt": "Verse one",
        "style": "lofi",
        "title": "Late",
        "vocalGender": "f",
        "styleWeight": "0.65",
        "use_styleWeight": "on",
        "audioWeight": "0.2",  # slider not switched on: not sent
        **url_sources(),
    }
    owner_client.post(CREATE, data)
    assert Mashup.objects.get().payload == {
        "customMode": True,
        "model": "V4_5",
        "instrumental": False,
        "prompt": "Verse one",
        "style": "lofi",
        "title": "Late",
        "vocalGender": "f",
        "styleWeight": 0.65,
    }


def test_uploads_are_stored_under_content_addressed_names(owner_client: Client, tmp_path) -> None:
    data = {
        "model": "V5",
        "prompt": "idea",
        "audio1": upload(tmp_path, "a"),
        "audio2": upload(tmp_path, "b", "flac"),
    }
    response = owner_client.post(CREATE, data)
    assert response.status_code == 302
    first, second = Source.objects.order_by("position")
    assert first.file.name == f"sources/{first.sha256[:2]}/{first.sha256[2:4]}/{first.sha256}.mp3"
    assert first.original_name == "a.mp3"
    assert first.format_name == "MP3"
    assert second.format_name == "FLAC"
    assert first.duration == pytest.approx(6.0, abs=0.15)
    assert Path(first.file.path).exists()


def test_a_file_that_is_not_audio_is_named_for_what_it_is(owner_client: Client, tmp_path) -> None:
    from tests.audiofiles import write_png_as

    path = tmp_path / "song.mp3"
    write_png_as(path)
    data = {
        "model": "V5",
        "prompt": "idea",
        "audio1": SimpleUploadedFile("song.mp3", path.read_bytes()),
        "url2": "https://e.com/b.mp3",
    }
    html = owner_client.post(CREATE, data).content.decode()
    assert "PNG image, not audio" in html


def test_a_silent_file_is_refused_at_once_and_nothing_is_started(
    owner_client: Client, owner, tmp_path
) -> None:
    import numpy as np

    from tests.audiofiles import write_audio

    path = write_audio(tmp_path / "quiet.wav", "wav", np.zeros((2, 441000), np.float32), 44100)
    data = {
        "model": "V5",
        "prompt": "idea",
        "audio1": SimpleUploadedFile("quiet.wav", path.read_bytes()),
        "url2": "https://e.com/b.mp3",
    }
    response = owner_client.post(CREATE, data)
    assert "this WAV file is silent" in response.content.decode()
    assert not Mashup.objects.filter(owner=owner).exists()


def test_a_too_long_song_is_refused_with_both_durations(owner_client: Client, tmp_path) -> None:
    data = {
        "model": "V4",
        "prompt": "idea",
        "audio1": upload(tmp_path, "long", "wav", seconds=241),
        "url2": "https://e.com/b.mp3",
    }
    html = owner_client.post(CREATE, data).content.decode()
    assert "4:01 is longer than the 4:00 that V4 accepts." in html


def test_a_song_too_short_for_the_local_engine_is_refused_at_once(
    owner_client: Client, settings, tmp_path
) -> None:
    settings.MASHUP_PROVIDER = "local"
    data = {"model": "V5", "prompt": "idea", "url2": "https://e.com/b.mp3"}
    html = owner_client.post(CREATE, {**data, "audio1": upload(tmp_path, "a", seconds=3)})
    assert (
        "This song is 3.0 s long; a mashup needs at least 5 s of each song."
        in html.content.decode()
    )
    assert not Mashup.objects.exists()
    settings.MASHUP_PROVIDER = "remote"  # the remote API sets no such minimum
    response = owner_client.post(CREATE, {**data, "audio1": upload(tmp_path, "a", seconds=3)})
    assert response.status_code == 302


def test_a_file_over_the_size_limit_is_refused(owner_client: Client, settings, tmp_path) -> None:
    settings.UPLOAD_MAX_MB = 1
    big = SimpleUploadedFile("big.wav", b"\0" * (1024 * 1024 + 1))
    html = owner_client.post(
        CREATE, {"model": "V5", "prompt": "i", "audio1": big, "url2": "https://e.com/b.mp3"}
    ).content.decode()
    assert "the limit is 1 MB" in html


# Committed as the app commits (no test transaction around it): storing an upload holds its
# lock (storage.store_content_addressed), which only a transaction can.
@pytest.mark.django_db(transaction=True)
def test_a_good_upload_is_kept_when_another_field_is_wrong(owner_client: Client, tmp_path) -> None:
    first = owner_client.post(
        CREATE,
        {
            "model": "V5",
            "prompt": "",
            "audio1": upload(tmp_path, "keep"),
            "url2": "https://e.com/b.mp3",
        },
    )
    html = first.content.decode()
    assert first.status_code == 422
    assert "Keeping <strong>keep.mp3</strong>" in html
    token = html.split('name="kept1" value="')[1].split('"')[0]
    second = owner_client.post(
        CREATE,
        {
            "model": "V5",
            "prompt": "now with an idea",
            "kept1": token,
            "url2": "https://e.com/b.mp3",
        },
    )
    assert second.status_code == 302
    assert Source.objects.get(position=1).original_name == "keep.mp3"


def test_a_submit_takes_its_uploads_locks_in_the_order_of_their_content(
    owner_client: Client, tmp_path, monkeypatch
) -> None:
    # Each upload's lock is held until the job's rows commit; two submits of the same two
    # songs in swapped places, each taking its first song's lock first, would deadlock.
    held: list[str] = []
    hold = UploadLockQuerySet.hold

    def noted(queryset: UploadLockQuerySet, name: str) -> None:
        held.append(name)
        hold(queryset, name)

    monkeypatch.setattr(UploadLockQuerySet, "hold", noted)
    songs = [upload(tmp_path, "one", seconds=6.0), upload(tmp_path, "two", seconds=7.0)]
    for first, second in (songs, songs[::-1]):
        first.seek(0), second.seek(0)
        data = {"model": "V5", "prompt": "both ways", "audio1": first, "audio2": second}
        assert owner_client.post(CREATE, data).status_code == 302
    assert len(held) == 4 and len(set(held)) == 2
    assert held[:2] == sorted(held[:2]) and held[2:] == held[:2]


def refused_keeping(client: Client, tmp_path: Path, k: int) -> str:
    """A submit refused for want of an idea, with two new songs: their kept tokens."""
    html = client.post(
        CREATE,
        {
            "model": "V5",
            "prompt": "",
            "audio1": upload(tmp_path, f"a{k}", seconds=6.0 + 0.1 * k),
            "audio2": upload(tmp_path, f"b{k}", seconds=6.05 + 0.1 * k),
        },
    ).content.decode()
    return html.split('name="kept1" value="')[1].split('"')[0]


def test_refused_submits_keep_a_persons_newest_uploads_and_let_the_older_go(
    owner_client: Client, tmp_path, django_capture_on_commit_callbacks
) -> None:
    # Each refused submit stored its two songs for a day, with no limit: refused submits
    # of new songs could fill the disk, and counted against nothing.
    with django_capture_on_commit_callbacks(execute=True):
        tokens = [refused_keeping(owner_client, tmp_path, k) for k in range(5)]
    stored = set(storage.stored_files("sources"))
    assert len(stored) == KEPT_PER_PERSON
    assert KeptFile.objects.count() == KEPT_PER_PERSON
    # The newest form is whole; the oldest's song is no longer kept, and it says so.
    assert (
        owner_client.post(
            CREATE,
            {"model": "V5", "prompt": "now", "kept1": tokens[-1], "url2": "https://e.com/b.mp3"},
        ).status_code
        == 302
    )
    old = owner_client.post(
        CREATE, {"model": "V5", "prompt": "now", "kept1": tokens[0], "url2": "https://e.com/b.mp3"}
    )
    assert old.status_code == 422
    assert (
        "The file you chose for song 1 is no longer kept: choose it again." in old.content.decode()
    )
    assert Mashup.objects.count() == 1


def test_a_kept_song_let_go_while_the_form_is_sent_is_refused_before_anything_starts(
    owner_client: Client, tmp_path, monkeypatch
) -> None:
    # Between the form's check and the job's rows, a refused submit in another tab let the
    # person's oldest kept song go: the job was made with a song no longer stored, and failed.
    token = refused_keeping(owner_client, tmp_path, 0)
    start = quotas.start

    def let_go_first(user_id: int):
        for record in KeptFile.objects.all():
            record.delete()
            storage.release([record.name])
        return start(user_id)

    monkeypatch.setattr(quotas, "start", let_go_first)
    response = owner_client.post(
        CREATE, {"model": "V5", "prompt": "now", "kept1": token, "url2": "https://e.com/b.mp3"}
    )
    assert response.status_code == 422
    assert "The file you chose for song 1 is no longer kept: choose it again." in (
        response.content.decode()
    )
    assert not Mashup.objects.exists() and not Source.objects.exists()


def test_a_link_given_for_a_song_whose_upload_was_kept_is_the_song_used(
    owner_client: Client, tmp_path
) -> None:
    # The form checked the link, and the job took the kept file the person had replaced.
    token = refused_keeping(owner_client, tmp_path, 0)
    response = owner_client.post(
        CREATE,
        {
            "model": "V5",
            "prompt": "now",
            "kept1": token,
            "url1": "https://e.com/instead.mp3",
            "url2": "https://e.com/b.mp3",
        },
    )
    assert response.status_code == 302
    song = Source.objects.get(position=1)
    assert (song.url, song.file.name) == ("https://e.com/instead.mp3", "")


def test_a_persons_cap_on_kept_uploads_leaves_others_uploads_alone(
    owner_client: Client, stranger_client: Client, tmp_path
) -> None:
    theirs = refused_keeping(stranger_client, tmp_path, 99)
    for k in range(4):
        refused_keeping(owner_client, tmp_path, k)
    response = stranger_client.post(
        CREATE, {"model": "V5", "prompt": "idea", "kept1": theirs, "url2": "https://e.com/b.mp3"}
    )
    assert response.status_code == 302


def test_a_kept_upload_cannot_be_claimed_by_someone_else(
    owner_client: Client, stranger_client: Client, tmp_path
) -> None:
    html = owner_client.post(
        CREATE,
        {
            "model": "V5",
            "prompt": "",
            "audio1": upload(tmp_path, "mine"),
            "url2": "https://e.com/b.mp3",
        },
    ).content.decode()
    token = html.split('name="kept1" value="')[1].split('"')[0]
    response = stranger_client.post(
        CREATE, {"model": "V5", "prompt": "idea", "kept1": token, "url2": "https://e.com/b.mp3"}
    )
    assert response.status_code == 422
    assert not Mashup.objects.exists()


def test_the_gallery_lists_only_my_mashups(owner_client: Client, owner, stranger) -> None:
    mine = mashup_with_sources(owner=owner, prompt="Mine all mine")
    mashup_with_sources(owner=stranger, prompt="Not yours")
    html = owner_client.get(reverse("mashups:gallery")).content.decode()
    assert mine.display_title in html
    assert "Not yours" not in html


def test_a_first_time_person_sees_how_to_start(owner_client: Client) -> None:
    html = owner_client.get(reverse("mashups:gallery")).content.decode()
    assert "Make your first mashup" in html


# --- stored files, for staff -------------------------------------------------------------------


def test_staff_open_the_files_the_admin_links_to(owner_client: Client, owner, staff) -> None:
    mashup = finished_mashup(owner=owner)
    track = mashup.tracks.get(position=1)
    admin = Client()
    admin.force_login(staff)
    response = admin.get(track.audio.url)  # the link on the admin's page
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"ID3 fake"
    assert owner_client.get(track.audio.url).status_code == 404  # owners use their pages
    assert admin.get("/media/tracks/missing.mp3").status_code == 404
    assert admin.get("/media/../settings.py").status_code == 400  # outside the storage: refused
