"""The gallery and its actions: cards, expiry, search, pages, live cards, delete, retry."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from mashup_site.mashups import views
from mashup_site.mashups.models import Mashup, Source, Start, Status, Track
from tests.factories import HTMX, MashupFactory, TrackFactory, finished_mashup, mashup_with_sources

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


GALLERY = reverse("mashups:gallery")


def html_of(client: Client, url: str = GALLERY, **kwargs: object) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code == 200
    return response.content.decode()


def card_of(html: str, mashup: Mashup) -> str:
    """The HTML of one card (up to the next card or the end of the list)."""
    start = html.index(f'id="mashup-{mashup.pk}"')
    end = html.find('<li class="card mashup-card', start)
    return html[start : end if end != -1 else len(html)]


def expires_in(delta: timedelta) -> timezone.datetime:
    return timezone.now() + delta


def test_the_mashups_address_a_person_types_leads_to_the_gallery(owner_client: Client) -> None:
    # /mashups/1/ is a mashup and /mashups/new/ makes one: /mashups/ was a "Not found".
    response = owner_client.get("/mashups/")
    assert response.status_code == 302
    assert response.headers["Location"] == GALLERY
    assert owner_client.get("/mashups/?q=rain").headers["Location"] == GALLERY + "?q=rain"


def test_the_mashups_address_takes_a_stranger_to_sign_in(client: Client) -> None:
    response = client.get("/mashups/", follow=True)
    # Signed in, they come back to /mashups/, which leads to the gallery.
    assert response.redirect_chain[-1][0] == reverse("login") + "?next=/mashups/"
    assert response.status_code == 200
    assert b'name="password"' in response.content


# --- what a card shows ------------------------------------------------------------------------


def test_it_lists_the_persons_mashups_newest_first(owner_client: Client, owner) -> None:
    first = MashupFactory(owner=owner, title="First one", custom_mode=True)
    second = MashupFactory(owner=owner, title="Second one", custom_mode=True)
    html = html_of(owner_client)
    assert html.index(second.display_title) < html.index(first.display_title)


def test_a_complete_card_has_everything_a_person_needs(owner_client: Client, owner) -> None:
    mashup = finished_mashup(
        owner=owner,
        prompt="A sunny reggae take on a rainy folk song with horns",
        model="V4_5",
        expires_at=expires_in(timedelta(days=5, hours=1)),
    )
    card = card_of(html_of(owner_client), mashup)
    assert "A sunny reggae take on a rainy folk…" in card  # the idea's first words
    assert "V4_5" in card and "Simple" in card and "Complete" in card
    assert mashup.created_at.strftime("%Y") in card
    for track in mashup.tracks.all():
        assert f'src="{track.play_url}"' in card
        assert f'href="{track.download_url}"' in card
    assert f'src="{mashup.tracks.first().cover_url}"' in card
    assert "expires in 5 days" in card
    assert "download it now" not in card
    assert "hx-get" not in card  # a finished card does not poll


def test_a_card_warns_within_three_days_and_urges_within_a_day(owner_client: Client, owner) -> None:
    warned = finished_mashup(owner=owner, expires_at=expires_in(timedelta(days=2, hours=1)))
    urgent = finished_mashup(owner=owner, expires_at=expires_in(timedelta(hours=7, minutes=30)))
    html = html_of(owner_client)
    assert 'class="expiry expiry-warning">expires in 2 days<' in card_of(html, warned)
    assert "expires in 7 hours: download it now" in card_of(html, urgent)
    assert "expiry-urgent" in card_of(html, urgent)


def test_an_expired_card_keeps_its_details_but_no_audio(owner_client: Client, owner) -> None:
    swept = finished_mashup(owner=owner, files=False, status=Status.EXPIRED, title="Old one")
    overdue = finished_mashup(owner=owner, expires_at=expires_in(-timedelta(minutes=1)))
    html = html_of(owner_client)
    for mashup in (swept, overdue):
        card = card_of(html, mashup)
        assert mashup.display_title in card
        assert "expired: its audio has been deleted" in card
        assert "<audio" not in card and "Download" not in card


def test_an_expired_mashups_page_says_its_tracks_were_deleted_not_being_made(
    owner_client: Client, owner
) -> None:
    swept = finished_mashup(owner=owner, files=False, status=Status.EXPIRED)
    Track.objects.filter(mashup=swept).update(audio="", image="", audio_url="")
    html = html_of(owner_client, swept.get_absolute_url())
    assert "Being made" not in html
    assert html.count("Deleted when the mashup expired.") == 2


def test_a_failed_job_that_expired_still_says_why_it_failed(owner_client: Client, owner) -> None:
    mashup = MashupFactory(
        owner=owner,
        status=Status.EXPIRED,
        failed_at=timezone.now() - timedelta(days=15),
        error_message="The provider could not download the source files.",
    )
    card = card_of(html_of(owner_client), mashup)
    assert "It did not work (The provider could not download the source files.)" in card
    assert "uploaded songs have since been deleted" in card
    assert "Try again" not in card  # nothing left to try it with
    page = owner_client.get(mashup.get_absolute_url()).content.decode()
    assert "This mashup failed" in page and "could not download the source files" in page
    assert "expired: its uploaded songs have been deleted" in page
    assert "Try again" not in page


def test_the_gallery_warns_once_at_the_top_about_what_expires_within_a_day(
    owner_client: Client, owner
) -> None:
    soon = finished_mashup(
        owner=owner, title="Soon gone", custom_mode=True, expires_at=expires_in(timedelta(hours=20))
    )
    finished_mashup(
        owner=owner, title="Not yet", custom_mode=True, expires_at=expires_in(timedelta(days=2))
    )
    html = html_of(owner_client)
    banner = html.split('class="notice notice-urgent expiring-banner"')[1].split("</section>")[0]
    assert html.count("expiring-banner") == 1
    assert "1 mashup expires within a day: download it now" in banner
    assert soon.get_absolute_url() in banner and "Soon gone" in banner
    assert "Not yet" not in banner


def test_no_banner_when_nothing_expires_within_a_day(owner_client: Client, owner) -> None:
    finished_mashup(owner=owner, expires_at=expires_in(timedelta(days=2)))
    assert "expiring-banner" not in html_of(owner_client)


def test_a_failed_card_shows_its_reason_and_a_retry_button(owner_client: Client, owner) -> None:
    mashup = MashupFactory(
        owner=owner, status=Status.FAILED, error_message="The provider timed out."
    )
    card = card_of(html_of(owner_client), mashup)
    assert "The provider timed out." in card
    assert f'action="{reverse("mashups:retry", args=[mashup.pk])}"' in card
    assert 'method="post"' in card


def test_a_failed_card_that_would_fail_the_same_way_offers_a_new_mashup_not_a_retry(
    owner_client: Client, owner
) -> None:
    mashup = MashupFactory(
        owner=owner, status=Status.FAILED, error_message="“quiet.wav” is silent", error_final=True
    )
    card = card_of(html_of(owner_client), mashup)
    assert "“quiet.wav” is silent" in card
    assert reverse("mashups:retry", args=[mashup.pk]) not in card
    assert "would fail the same way" in card
    assert f'href="{reverse("mashups:create")}"' in card


def test_a_first_time_person_sees_how_to_make_a_first_mashup(owner_client: Client) -> None:
    html = html_of(owner_client)
    assert "Make your first mashup" in html
    assert f'href="{reverse("mashups:create")}"' in html


# --- live cards -------------------------------------------------------------------------------


def test_an_in_progress_card_polls_a_url_that_works_without_htmx(
    owner_client: Client, owner
) -> None:
    mashup = MashupFactory(owner=owner, status=Status.ANALYSED)
    card_url = reverse("mashups:card", args=[mashup.pk])
    card = card_of(html_of(owner_client), mashup)
    assert f'hx-get="{card_url}"' in card and 'hx-trigger="every 3s"' in card
    assert f'href="{mashup.get_absolute_url()}"' in card
    response = owner_client.get(card_url)  # a plain visit: the mashup's own page
    assert response.status_code == 302
    assert response.url == mashup.get_absolute_url()


def test_the_card_keeps_polling_while_in_progress_and_stops_when_final(
    owner_client: Client, owner
) -> None:
    mashup = MashupFactory(owner=owner, status=Status.FIRST)
    url = reverse("mashups:card", args=[mashup.pk])
    response = owner_client.get(url, headers=HTMX)
    assert response.status_code == 200
    assert 'hx-trigger="every 3s"' in response.content.decode()
    assert "<html" not in response.content.decode()

    Mashup.objects.filter(pk=mashup.pk).update(status=Status.COMPLETE)
    response = owner_client.get(url, headers=HTMX)
    assert response.status_code == 286  # htmx: stop polling
    assert "hx-get" not in response.content.decode()
    assert "Complete" in response.content.decode()


@pytest.mark.parametrize("whose", ["deleted", "someone else's"])
def test_a_polled_mashup_that_is_gone_stops_the_polling_and_says_so(
    owner_client: Client, owner, stranger, whose: str
) -> None:
    # A page left open on a mashup deleted in another tab polled it every 2-3 s, for ever,
    # each poll a 404 that htmx does not swap, the page still saying "working on it".
    if whose == "deleted":
        mashup = MashupFactory(owner=owner, status=Status.FIRST)
        TrackFactory(mashup=mashup, position=1)
        pk = mashup.pk
        mashup.delete()
    else:  # the same answer: a poll tells no one whether someone else's mashup exists
        mashup = MashupFactory(owner=stranger, status=Status.FIRST)
        TrackFactory(mashup=mashup, position=1)
        pk = mashup.pk
    progress = owner_client.get(reverse("mashups:detail", args=[pk]), headers=HTMX)
    assert progress.status_code == 286
    assert 'id="progress"' in progress.content.decode()
    assert "This mashup is no longer here" in progress.content.decode()
    card = owner_client.get(reverse("mashups:card", args=[pk]), headers=HTMX)
    assert (card.status_code, card.content) == (286, b"")  # the card leaves the gallery
    row = owner_client.get(reverse("mashups:follow_ups", args=[pk, 1]), headers=HTMX)
    assert row.status_code == 286
    assert 'id="follow-ups-1"' in row.content.decode()
    assert "This mashup is no longer here" in row.content.decode()
    # A visit, not a poll, is the page's 404 as before.
    assert owner_client.get(reverse("mashups:detail", args=[pk])).status_code == 404


# --- search, filter, pages --------------------------------------------------------------------


def test_it_searches_titles_styles_and_prompts(owner_client: Client, owner) -> None:
    by_title = MashupFactory(owner=owner, custom_mode=True, title="Midnight Tango", style="x")
    by_style = MashupFactory(owner=owner, custom_mode=True, title="B", style="tango noir")
    by_idea = MashupFactory(owner=owner, prompt="a tango for robots")
    other = MashupFactory(owner=owner, custom_mode=True, title="Polka", style="brass")
    html = html_of(owner_client, GALLERY + "?q=TANGO")
    for mashup in (by_title, by_style, by_idea):
        assert f'id="mashup-{mashup.pk}"' in html
    assert f'id="mashup-{other.pk}"' not in html
    assert "3 mashups found" in html


@pytest.mark.parametrize("junk", ["page=0", "page=abc", "status=bogus"])
def test_a_junk_page_or_status_in_the_address_keeps_the_search(
    owner_client: Client, owner, junk: str
) -> None:
    # One bad field threw the whole filter away: every mashup shown under "zzz".
    MashupFactory(owner=owner, prompt="a tango for robots")
    html = html_of(owner_client, GALLERY + f"?q=zzz&{junk}")
    assert "Nothing matches" in html


def test_every_search_word_must_match(owner_client: Client, owner) -> None:
    both = MashupFactory(owner=owner, prompt="jazz meets metal")
    one = MashupFactory(owner=owner, prompt="jazz meets folk")
    html = html_of(owner_client, GALLERY + "?q=jazz+metal")
    assert f'id="mashup-{both.pk}"' in html and f'id="mashup-{one.pk}"' not in html


@pytest.mark.parametrize(
    ("status", "shown"),
    [("complete", {"complete"}), ("failed", {"failed"}), ("active", {"queued", "first"})],
)
def test_it_filters_by_status(owner_client: Client, owner, status: str, shown: set[str]) -> None:
    made = {
        s: MashupFactory(owner=owner, status=s) for s in ("queued", "first", "complete", "failed")
    }
    html = html_of(owner_client, f"{GALLERY}?status={status}")
    assert {s for s, m in made.items() if f'id="mashup-{m.pk}"' in html} == shown


def test_a_search_without_hits_says_so(owner_client: Client, owner) -> None:
    MashupFactory(owner=owner)
    html = html_of(owner_client, GALLERY + "?q=nothing-like-this")
    assert "Nothing matches" in html
    assert "Make your first mashup" not in html


def test_a_bad_filter_value_is_ignored_not_an_error(owner_client: Client, owner) -> None:
    mashup = MashupFactory(owner=owner)
    html = html_of(owner_client, GALLERY + "?status=nonsense&page=abc")
    assert f'id="mashup-{mashup.pk}"' in html


def test_htmx_search_swaps_only_the_results(owner_client: Client, owner) -> None:
    MashupFactory(owner=owner, prompt="a tango for robots")
    html = html_of(owner_client, GALLERY + "?q=tango", headers=HTMX)
    assert html.lstrip().startswith('<div id="results">')
    assert "<html" not in html and "expiring-banner" not in html


def test_it_pages_through_many_mashups_keeping_the_search(owner_client: Client, owner) -> None:
    made = MashupFactory.create_batch(views.PER_PAGE + 3, owner=owner, prompt="tango")
    page_one = html_of(owner_client, GALLERY + "?q=tango")
    assert "Page 1 of 2" in page_one
    assert 'href="?q=tango&amp;page=2"' in page_one
    page_two = html_of(owner_client, GALLERY + "?q=tango&page=2")
    oldest = made[0]
    assert f'id="mashup-{oldest.pk}"' in page_two
    assert f'id="mashup-{oldest.pk}"' not in page_one
    assert page_two.count('class="card mashup-card') == 3


def make_many(owner, count: int) -> None:
    """``count`` finished mashups with two tracks each, in two bulk inserts."""
    mashups = Mashup.objects.bulk_create(
        MashupFactory.build(
            owner=owner, status=Status.COMPLETE, expires_at=expires_in(timedelta(hours=5 + n))
        )
        for n in range(count)
    )
    Track.objects.bulk_create(
        TrackFactory.build(
            mashup=mashup,
            position=position,
            title="t",
            image_url="https://e/c.jpg",
            audio_url="https://e/a.mp3",
        )
        for mashup in mashups
        for position in (1, 2)
    )


@pytest.mark.parametrize("count", [3, 300])
def test_the_query_count_does_not_grow_with_the_number_of_mashups(
    owner_client: Client, owner, count: int, django_assert_num_queries
) -> None:
    make_many(owner, count)
    owner_client.get(GALLERY)  # warm the session
    cache.clear()
    # session, user, the cache key's aggregate, count, page, the page's tracks, the banner
    with django_assert_num_queries(7):
        html = html_of(owner_client)
    assert html.count('class="card mashup-card') == min(count, views.PER_PAGE)
    with django_assert_num_queries(3):  # the same page again: cached
        again = html_of(owner_client)
    assert again.split('id="results"')[1] == html.split('id="results"')[1]
    with django_assert_num_queries(5):  # an htmx search: no banner, no cache
        html_of(owner_client, GALLERY + "?q=idea&status=complete", headers=HTMX)


def test_a_cached_page_shows_a_change_at_once(owner_client: Client, owner) -> None:
    mashup = MashupFactory(owner=owner, status=Status.FIRST, title="Before", custom_mode=True)
    assert "Before" in html_of(owner_client)
    mashup.title = "After"
    mashup.status = Status.COMPLETE
    mashup.save()
    html = html_of(owner_client)
    assert "After" in html and "Before" not in html
    MashupFactory(owner=owner, title="Newest", custom_mode=True)
    assert "Newest" in html_of(owner_client)
    Mashup.objects.filter(pk=mashup.pk).delete()
    assert "After" not in html_of(owner_client)


def test_a_cached_page_is_never_shown_to_another_person(
    owner_client: Client, stranger_client: Client, owner
) -> None:
    MashupFactory(owner=owner, title="Private", custom_mode=True)
    assert "Private" in html_of(owner_client)
    assert "Private" not in html_of(stranger_client)


# --- strangers --------------------------------------------------------------------------------


def test_a_stranger_never_sees_another_persons_mashups_or_search_hits(
    stranger_client: Client, owner
) -> None:
    mashup = finished_mashup(
        owner=owner, prompt="secret tango idea", expires_at=expires_in(timedelta(hours=3))
    )
    for url in (GALLERY, GALLERY + "?q=secret", GALLERY + "?status=complete"):
        html = html_of(stranger_client, url)
        assert "secret tango" not in html
        assert f"mashup-{mashup.pk}" not in html
        assert "expiring-banner" not in html


def test_a_stranger_cannot_reach_another_persons_card_files_or_actions(
    stranger_client: Client, owner
) -> None:
    mashup = finished_mashup(owner=owner)
    pk = mashup.pk
    for url in (
        reverse("mashups:card", args=[pk]),
        reverse("mashups:delete", args=[pk]),
        reverse("mashups:track_file", args=[pk, 1, "audio"]),
        reverse("mashups:track_file", args=[pk, 1, "image"]),
    ):
        assert stranger_client.get(url).status_code == 404, url
    # A poll of it learns nothing either: the answer to a mashup that is not there.
    polled = stranger_client.get(reverse("mashups:card", args=[pk]), headers=HTMX)
    assert (polled.status_code, polled.content) == (286, b"")
    assert stranger_client.post(reverse("mashups:delete", args=[pk])).status_code == 404
    assert stranger_client.post(reverse("mashups:retry", args=[pk])).status_code == 404
    assert Mashup.objects.filter(pk=pk).exists()


# --- delete -----------------------------------------------------------------------------------


def test_delete_asks_to_confirm_on_a_real_page(owner_client: Client, owner) -> None:
    mashup = finished_mashup(owner=owner, title="Keep me?", custom_mode=True)
    url = reverse("mashups:delete", args=[mashup.pk])
    assert f'href="{url}"' in card_of(html_of(owner_client), mashup)
    html = html_of(owner_client, url)
    assert "Delete “Keep me?”?" in html
    assert 'method="post"' in html and "csrfmiddlewaretoken" in html
    assert Mashup.objects.filter(pk=mashup.pk).exists()  # asking deletes nothing


def test_deleting_removes_the_mashup_and_its_files(
    owner_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    mashup = finished_mashup(owner=owner)
    names = [n for t in mashup.tracks.all() for n in (t.audio.name, t.image.name)]
    assert all(default_storage.exists(name) for name in names)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("mashups:delete", args=[mashup.pk]))
    assert response.status_code == 302 and response.url == GALLERY
    assert not Mashup.objects.filter(pk=mashup.pk).exists()
    assert not Track.objects.filter(mashup_id=mashup.pk).exists()
    assert not any(default_storage.exists(name) for name in names)
    assert "were deleted" in html_of(owner_client)


def test_delete_is_not_possible_by_other_methods(owner_client: Client, owner) -> None:
    mashup = MashupFactory(owner=owner)
    response = owner_client.put(reverse("mashups:delete", args=[mashup.pk]))
    assert response.status_code == 405
    assert Mashup.objects.filter(pk=mashup.pk).exists()


# --- retry ------------------------------------------------------------------------------------


def test_retry_queues_a_failed_job_from_the_start(
    owner_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    mashup = finished_mashup(
        owner=owner,
        status=Status.FAILED,
        error_message="Boom",
        provider_task_id="task-1",
        error_code=500,
    )
    old_token = mashup.callback_token
    old_files = [t.audio.name for t in mashup.tracks.all()]
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("mashups:retry", args=[mashup.pk]))
    assert response.status_code == 302 and response.url == mashup.get_absolute_url()
    mashup.refresh_from_db()
    assert mashup.status == Status.QUEUED
    assert (mashup.error_message, mashup.error_code, mashup.provider_task_id) == ("", None, "")
    assert mashup.callback_token != old_token  # late callbacks of the failed try are refused
    assert not mashup.tracks.exists()
    assert not any(default_storage.exists(name) for name in old_files)
    assert OrmQ.objects.count() == 1  # tasks.run_mashup enqueued once


def test_retry_only_retries_failed_jobs(owner_client: Client, owner) -> None:
    mashup = MashupFactory(owner=owner, status=Status.COMPLETE)
    owner_client.post(reverse("mashups:retry", args=[mashup.pk]))
    mashup.refresh_from_db()
    assert mashup.status == Status.COMPLETE
    assert OrmQ.objects.count() == 0


def test_retry_is_post_only(owner_client: Client, owner) -> None:
    mashup = MashupFactory(owner=owner, status=Status.FAILED)
    assert owner_client.get(reverse("mashups:retry", args=[mashup.pk])).status_code == 405


def test_retry_respects_the_active_limit(owner_client: Client, owner, settings) -> None:
    settings.MASHUP_MAX_ACTIVE_PER_USER = 1
    MashupFactory(owner=owner, status=Status.ANALYSED)
    mashup = MashupFactory(owner=owner, status=Status.FAILED)
    response = owner_client.post(reverse("mashups:retry", args=[mashup.pk]), follow=True)
    mashup.refresh_from_db()
    assert mashup.status == Status.FAILED
    assert "the most you can run at once" in response.content.decode()


# --- made again with the backing half a beat over -------------------------------------------


def offbeat(client: Client, mashup: Mashup, **kwargs: object):
    return client.post(reverse("mashups:offbeat", args=[mashup.pk]), **kwargs)


def test_offbeat_makes_a_new_mashup_of_the_same_songs_and_request(
    owner_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    with django_capture_on_commit_callbacks(execute=True):
        response = offbeat(owner_client, mashup)
    remade = Mashup.objects.exclude(pk=mashup.pk).get()
    assert response.status_code == 302 and response.url == remade.get_absolute_url()
    assert remade.backing_offbeat and remade.status == Status.QUEUED
    assert remade.remade_from == mashup
    assert (remade.owner, remade.payload, remade.provider) == (owner, mashup.payload, "local")
    assert [(s.position, s.url) for s in remade.sources.all()] == [
        (s.position, s.url) for s in mashup.sources.all()
    ]
    assert OrmQ.objects.count() == 1  # tasks.run_mashup enqueued once
    mashup.refresh_from_db()
    assert mashup.status == Status.COMPLETE and mashup.tracks.count() == 2  # the first stays
    assert Start.objects.filter(owner=owner, mashup=remade).count() == 1  # a new start


def test_offbeat_twice_follows_the_one_being_made_and_counts_it_once(
    owner_client: Client, owner
) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    first, again = (offbeat(owner_client, mashup, follow=True) for _ in range(2))
    remade = Mashup.objects.get(remade_from=mashup)  # one, not two
    assert first.redirect_chain[-1][0] == again.redirect_chain[-1][0] == remade.get_absolute_url()
    assert "It is already being made again" in again.content.decode()
    assert Start.objects.filter(owner=owner).count() == 1
    # Once that one has failed, asking again makes another (finished: the test below).
    Mashup.objects.filter(pk=remade.pk).update(status=Status.FAILED)
    offbeat(owner_client, mashup)
    assert Mashup.objects.filter(remade_from=mashup).count() == 2


def test_offbeat_twice_at_the_limit_follows_the_remake_instead_of_refusing(
    owner_client: Client, owner, settings
) -> None:
    settings.MASHUP_MAX_ACTIVE_PER_USER = 2
    MashupFactory(owner=owner, status=Status.ANALYSED)
    mashup = finished_mashup(owner=owner, provider="local")
    offbeat(owner_client, mashup)  # takes the last place
    again = offbeat(owner_client, mashup, follow=True)
    remade = Mashup.objects.get(remade_from=mashup)
    assert again.redirect_chain[-1][0] == remade.get_absolute_url()
    assert "It is already being made again" in again.content.decode()


def test_offbeat_refuses_a_mashup_past_its_expiry_not_yet_swept(
    owner_client: Client, owner
) -> None:
    mashup = finished_mashup(
        owner=owner, provider="local", expires_at=expires_in(-timedelta(minutes=5))
    )
    assert "half a beat over" not in html_of(owner_client, mashup.get_absolute_url())
    response = offbeat(owner_client, mashup, follow=True)
    assert "Only a finished mashup can be made again." in response.content.decode()
    assert Mashup.objects.count() == 1


def test_offbeat_on_a_remade_mashup_goes_back_to_the_first_grid(
    owner_client: Client, owner
) -> None:
    mashup = finished_mashup(owner=owner, provider="local", backing_offbeat=True)
    response = offbeat(owner_client, mashup, follow=True)
    assert not Mashup.objects.exclude(pk=mashup.pk).get().backing_offbeat
    assert "Making it again with the backing back on its beat" in response.content.decode()


def test_offbeat_back_on_the_first_grid_shows_the_first_mashup_and_makes_no_copy(
    owner_client: Client, owner
) -> None:
    # Half a beat over, then back: the second remake was the first mashup made again, byte
    # for byte, a new start counted each time, for as long as one clicked.
    first = finished_mashup(owner=owner, provider="local")
    over = finished_mashup(owner=owner, provider="local", backing_offbeat=True, remade_from=first)
    response = offbeat(owner_client, over, follow=True)
    assert response.redirect_chain[-1][0] == first.get_absolute_url()
    assert "You made this version already: here it is." in response.content.decode()
    assert Mashup.objects.count() == 2 and not Start.objects.exists()


def test_a_version_made_from_another_branch_is_shown_not_made_again(
    owner_client: Client, owner
) -> None:
    # The first mashup, made again at a tempo (a) and half a beat over (b); b at a's tempo
    # is a's tempo half a beat over: asking it from a, or from b, is one version.
    first = finished_mashup(owner=owner, provider="local")
    at_tempo = finished_mashup(owner=owner, provider="local", remade_from=first)
    Source.objects.filter(mashup=at_tempo, position=1).update(tempo_given=172.5)
    over = finished_mashup(owner=owner, provider="local", backing_offbeat=True, remade_from=first)
    tempo(owner_client, over, {"tempo_1": "172.5"})
    both = Mashup.objects.get(remade_from=over)
    response = offbeat(owner_client, at_tempo, follow=True)
    assert "It is already being made again" in response.content.decode()
    assert response.redirect_chain[-1][0] == both.get_absolute_url()
    assert Mashup.objects.count() == 4 and Start.objects.count() == 1


def test_a_remote_mashup_is_no_version_of_its_local_remakes(owner_client: Client, owner) -> None:
    # Made by the remote service, it is not what the local engine would make back on the
    # first grid: that is made.
    first = finished_mashup(owner=owner, provider="remote")
    over = finished_mashup(owner=owner, provider="local", backing_offbeat=True, remade_from=first)
    offbeat(owner_client, over)
    assert Mashup.objects.filter(remade_from=over, backing_offbeat=False).count() == 1


@pytest.mark.parametrize(
    ("status", "provider", "message"),
    [
        (Status.FIRST, "local", "Only a finished mashup can be made again."),
        (Status.EXPIRED, "local", "Only a finished mashup can be made again."),
        (Status.COMPLETE, "remote", "the mashup service has no such option"),
    ],
)
@pytest.mark.parametrize(
    ("asked", "offer"),
    [
        (lambda client, mashup: offbeat(client, mashup, follow=True), "half a beat over"),
        (
            # a refusal comes first, whatever was typed: no form that could not be sent
            lambda client, mashup: tempo(client, mashup, {"tempo_1": "fast"}, follow=True),
            "A beat or a key heard wrong?",
        ),
    ],
    ids=["half a beat over", "at a tempo given"],
)
def test_a_remake_refuses_what_it_cannot_remake_and_says_why(
    owner_client: Client, owner, status: str, provider: str, message: str, asked, offer: str
) -> None:
    mashup = finished_mashup(owner=owner, provider=provider, status=status)
    assert offer not in html_of(owner_client, mashup.get_absolute_url())  # not offered
    response = asked(owner_client, mashup)
    assert message in response.content.decode()
    assert Mashup.objects.count() == 1 and OrmQ.objects.count() == 0


def test_no_half_beat_remake_is_offered_when_a_song_was_heard_without_a_beat(
    owner_client: Client, owner
) -> None:
    # Such a song is laid by its own timing: half a beat over is no place on it. Giving its
    # tempo is what lays it on a beat, and that stays offered.
    mashup = finished_mashup(owner=owner, provider="local")
    Source.objects.filter(mashup=mashup, position=2).update(tempo_heard=None, beat_heard=False)
    label = mashup.sources.get(position=2).label
    page = html_of(owner_client, mashup.get_absolute_url())
    assert "Backing half a beat off?" not in page
    assert "A beat or a key heard wrong?" in page
    assert 'placeholder="no beat heard"' in page  # where its tempo may be given
    response = offbeat(owner_client, mashup, follow=True)
    assert f"no steady beat was heard in song 2 ({label})" in response.content.decode()
    assert Mashup.objects.count() == 1 and OrmQ.objects.count() == 0


def test_a_half_beat_remake_is_offered_when_the_songs_beats_were_not_kept(
    owner_client: Client, owner
) -> None:
    # Made before the engine's hearing of them was kept: nothing says a song had no beat.
    mashup = finished_mashup(owner=owner, provider="local")
    mashup.sources.update(tempo_heard=None, beat_heard=None)
    page = html_of(owner_client, mashup.get_absolute_url())
    assert "Backing half a beat off?" in page
    offbeat(owner_client, mashup)
    assert Mashup.objects.exclude(pk=mashup.pk).get().backing_offbeat


def test_a_half_beat_remake_with_a_song_without_a_beat_can_go_back_on_its_grid(
    owner_client: Client, owner
) -> None:
    mashup = finished_mashup(owner=owner, provider="local", backing_offbeat=True)
    Source.objects.filter(mashup=mashup, position=1).update(tempo_heard=None, beat_heard=False)
    page = html_of(owner_client, mashup.get_absolute_url())
    assert "Make it again, backing back on its beat" in page
    offbeat(owner_client, mashup)
    assert not Mashup.objects.exclude(pk=mashup.pk).get().backing_offbeat


def test_offbeat_says_which_upload_is_gone(owner_client: Client, owner) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    source = mashup.sources.get(position=1)
    source.file.name, source.url, source.original_name = "sources/gone.wav", "", "Summer.wav"
    source.save()
    response = offbeat(owner_client, mashup, follow=True)
    assert "Summer.wav is no longer stored" in response.content.decode()
    assert Mashup.objects.count() == 1


def test_offbeat_respects_the_active_limit(owner_client: Client, owner, settings) -> None:
    settings.MASHUP_MAX_ACTIVE_PER_USER = 1
    MashupFactory(owner=owner, status=Status.ANALYSED)
    mashup = finished_mashup(owner=owner, provider="local")
    response = offbeat(owner_client, mashup, follow=True)
    assert "the most you can run at once" in response.content.decode()
    assert Mashup.objects.count() == 2


def test_offbeat_is_post_only_and_the_owners_only(
    owner_client: Client, stranger_client: Client, owner
) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    assert owner_client.get(reverse("mashups:offbeat", args=[mashup.pk])).status_code == 405
    assert offbeat(stranger_client, mashup).status_code == 404
    assert Mashup.objects.count() == 1


def test_a_finished_local_mashup_offers_the_backing_half_a_beat_over(
    owner_client: Client, owner
) -> None:
    offered = html_of(
        owner_client, finished_mashup(owner=owner, provider="local").get_absolute_url()
    )
    assert "Make it again, backing half a beat over" in offered
    remade = finished_mashup(owner=owner, provider="local", backing_offbeat=True)
    html = html_of(owner_client, remade.get_absolute_url())
    assert "Make it again, backing back on its beat" in html
    assert "Half a beat over (made again)" in html
    assert card_of(html_of(owner_client), remade).count("backing ½ beat over") == 1
    assert "½ beat" not in card_of(html_of(owner_client), Mashup.objects.earliest("pk"))
    for other in (
        finished_mashup(owner=owner, provider="remote"),
        MashupFactory(owner=owner, provider="local", status=Status.FIRST),
    ):
        assert "half a beat" not in html_of(owner_client, other.get_absolute_url())


def test_the_analysis_lists_each_mashups_notes_under_its_line(owner_client: Client, owner) -> None:
    text = (
        "a.mp3: 120.0 BPM, C major (8B), -14.0 LUFS, 30 s\n"
        "Mashup 1: vocals of a.mp3 over b.mp3; note: the keys are only loosely compatible"
        "; note: the lead counts four beats a bar and the backing three"
    )
    mashup = finished_mashup(owner=owner, provider="local", analysis_text=text)
    html = html_of(owner_client, mashup.get_absolute_url())
    assert "<li>a.mp3: 120.0 BPM, C major (8B), -14.0 LUFS, 30 s</li>" in html
    assert '<li>Mashup 1: vocals of a.mp3 over b.mp3<ul class="analysis-notes">' in html
    assert "<li>The keys are only loosely compatible</li>" in html
    assert "<li>The lead counts four beats a bar and the backing three</li>" in html
    assert "; note:" not in html


# --- made again at the tempo its owner gives -------------------------------------------------


def tempo(client: Client, mashup: Mashup, data: dict[str, str], **kwargs: object):
    return client.post(reverse("mashups:given", args=[mashup.pk]), data, **kwargs)


def test_a_page_opened_before_the_form_was_renamed_still_makes_it_again(
    owner_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    # The form posted to /mashups/<pk>/tempo/ until it took keys too (now .../given/).
    mashup = finished_mashup(owner=owner, provider="local")
    assert reverse("mashups:given", args=[mashup.pk]) == f"/mashups/{mashup.pk}/given/"
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/mashups/{mashup.pk}/tempo/", {"tempo_2": "180"})
    remade = Mashup.objects.exclude(pk=mashup.pk).get()
    assert response.status_code == 302 and response.url == remade.get_absolute_url()


def test_tempo_makes_a_new_mashup_with_each_songs_beat_read_at_the_tempo_given(
    owner_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    mashup = finished_mashup(owner=owner, provider="local", backing_offbeat=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = tempo(owner_client, mashup, {"tempo_1": "", "tempo_2": "180"})
    remade = Mashup.objects.exclude(pk=mashup.pk).get()
    assert response.status_code == 302 and response.url == remade.get_absolute_url()
    assert remade.remade_from == mashup and remade.status == Status.QUEUED
    assert remade.backing_offbeat  # laid as the one it is made from
    assert [(s.position, s.url, s.tempo_given) for s in remade.sources.all()] == [
        (1, mashup.sources.get(position=1).url, None),
        (2, mashup.sources.get(position=2).url, 180.0),
    ]
    assert OrmQ.objects.count() == 1 and Start.objects.filter(mashup=remade).count() == 1
    html = html_of(owner_client, remade.get_absolute_url())
    assert "Making it again with song 2 at 180 BPM." in html
    assert "tempo given: 180 BPM" in html  # what was asked: the analysis says what was done
    assert card_of(html_of(owner_client), remade).count("tempo given") == 1
    assert "tempo given" not in card_of(html_of(owner_client), mashup)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tempo_1": "", "tempo_2": ""}, "Give the tempo or the key of at least one song"),
        ({"tempo_1": "30", "tempo_2": ""}, "greater than or equal to 40"),
        ({"tempo_1": "", "tempo_2": "300"}, "less than or equal to 250"),
        ({"tempo_1": "fast", "tempo_2": ""}, "Enter a number."),
        ({"tempo_1": "nan", "tempo_2": ""}, "Enter a number."),
    ],
    ids=["none", "too slow", "too fast", "a word", "not a number"],
)
def test_tempo_refuses_what_is_no_tempo_next_to_its_field_and_makes_nothing(
    owner_client: Client, owner, data: dict[str, str], message: str
) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    response = tempo(owner_client, mashup, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Nothing was made again: see the tempi and keys below." in response.content.decode()
    for name in (name for name, value in data.items() if value):  # tied to its field
        assert f'aria-describedby="id_{name}_helptext id_{name}_error"' in response.content.decode()
        assert f'id="id_{name}_error"' in response.content.decode()
    assert Mashup.objects.count() == 1 and OrmQ.objects.count() == 0


def test_a_polled_card_reads_its_tracks_once_and_says_a_tempo_was_given(
    owner_client: Client, owner, django_assert_num_queries
) -> None:
    mashup = finished_mashup(owner=owner, provider="local", status=Status.FIRST)
    Source.objects.filter(mashup=mashup, position=1).update(tempo_given=90.0)
    url = reverse("mashups:card", args=[mashup.pk])
    owner_client.get(url, headers=HTMX)  # warm: what a first request reads once
    with django_assert_num_queries(4):  # session, user, the mashup with tempo_given, its tracks
        html = owner_client.get(url, headers=HTMX).content.decode()
    assert "tempo given" in html


def test_no_remake_is_offered_while_the_page_still_updates_itself(
    owner_client: Client, owner
) -> None:
    # Complete, but our copies of its tracks not yet made: the page polls, and a poll
    # would wipe what was typed in a form in it.
    mashup = finished_mashup(
        owner=owner, provider="local", files=False, completed_at=timezone.now()
    )
    Track.objects.filter(mashup=mashup).update(audio_url="https://cdn.example/t.mp3")
    html = html_of(owner_client, mashup.get_absolute_url())
    assert "A beat or a key heard wrong?" not in html and "Backing half a beat" not in html


def test_a_mashup_without_both_its_songs_is_not_made_again(owner_client: Client, owner) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    mashup.sources.filter(position=2).delete()
    assert "A beat or a key heard wrong?" not in html_of(owner_client, mashup.get_absolute_url())
    for response in (
        tempo(owner_client, mashup, {"tempo_1": "120"}, follow=True),
        offbeat(owner_client, mashup, follow=True),
    ):
        assert "it does not hold both its songs" in response.content.decode()
    assert Mashup.objects.count() == 1


def test_the_tempo_form_shows_the_tempo_each_song_was_heard_at(owner_client, owner) -> None:
    # A musician types a tempo against the one heard: "heard 92.3", not a bare "as heard".
    mashup = finished_mashup(owner=owner, provider="local")
    Source.objects.filter(mashup=mashup, position=1).update(tempo_heard=92.3)
    Source.objects.filter(mashup=mashup, position=2).update(tempo_heard=None)
    page = html_of(owner_client, mashup.get_absolute_url())
    assert 'name="tempo_1"' in page and 'placeholder="heard 92.3"' in page
    assert 'placeholder="as heard"' in page  # song 2: not heard yet (or by a remote engine)
    # its relatives are offered to pick (the field still takes any tempo)
    assert '<option value="184.6" label="double the tempo heard">' in page
    assert '<option value="46.1" label="half the tempo heard">' in page
    assert page.count("<datalist") == 1  # none for song 2: no tempo to relate
    assert "40 to 250 (its list suggests 46.1, 61.5, 138.4 or 184.6 BPM)." in page


def test_tempo_again_at_the_tempi_it_was_made_at_is_refused(owner_client: Client, owner) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    Source.objects.filter(mashup=mashup, position=1).update(tempo_given=90.0)
    page = html_of(owner_client, mashup.get_absolute_url())
    assert 'name="tempo_1" value="90.0"' in page  # the form starts from the tempi given
    assert '<option value="45" label="half the tempo given">' in page  # its relatives
    response = tempo(owner_client, mashup, {"tempo_1": "90", "tempo_2": ""})
    assert "This mashup was made with these tempi and keys already." in response.content.decode()
    assert response.content.decode().count("<datalist") == 2  # shown again, lists and all
    assert Mashup.objects.count() == 1


def test_tempo_refused_at_the_limit_keeps_the_tempi_typed(
    owner_client: Client, owner, settings
) -> None:
    # Refused, it said "what you entered is kept" and showed the form empty.
    settings.MASHUP_MAX_ACTIVE_PER_USER = 1
    MashupFactory(owner=owner, status=Status.ANALYSED)
    mashup = finished_mashup(owner=owner, provider="local")
    response = tempo(owner_client, mashup, {"tempo_1": "101.5", "tempo_2": "90"})
    html = response.content.decode()
    assert response.status_code == 422
    assert "the most you can run at once" in html
    assert 'name="tempo_1" value="101.5"' in html and 'name="tempo_2" value="90"' in html
    assert Mashup.objects.count() == 2


def test_tempo_twice_follows_the_one_being_made_and_counts_it_once(
    owner_client: Client, owner
) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    first, again = (
        tempo(owner_client, mashup, {"tempo_1": "172.5"}, follow=True) for _ in range(2)
    )
    remade = Mashup.objects.get(remade_from=mashup)
    assert first.redirect_chain[-1][0] == again.redirect_chain[-1][0] == remade.get_absolute_url()
    assert "It is already being made again" in again.content.decode()
    assert Start.objects.filter(owner=owner).count() == 1
    # Another tempo is another mashup.
    tempo(owner_client, mashup, {"tempo_1": "86.3"})
    assert Mashup.objects.filter(remade_from=mashup).count() == 2


@pytest.mark.parametrize("ask", ["tempo", "offbeat"])
def test_asked_again_once_made_it_shows_the_one_made_and_makes_no_other(
    owner_client: Client, owner, ask: str
) -> None:
    mashup = finished_mashup(owner=owner, provider="local")

    def post():
        if ask == "tempo":
            return tempo(owner_client, mashup, {"tempo_1": "172.5"}, follow=True)
        return owner_client.post(reverse("mashups:offbeat", args=[mashup.pk]), follow=True)

    post()
    remade = Mashup.objects.get(remade_from=mashup)
    Mashup.objects.filter(pk=remade.pk).update(
        status=Status.COMPLETE,
        completed_at=timezone.now(),
        expires_at=expires_in(timedelta(days=14)),
    )
    again = post()
    assert again.redirect_chain[-1][0] == remade.get_absolute_url()
    assert "You made this version already: here it is." in again.content.decode()
    assert Mashup.objects.filter(remade_from=mashup).count() == 1
    assert Start.objects.filter(owner=owner).count() == 1
    # Failed for good (a song the engine cannot use), it is shown too: it would fail again.
    Mashup.objects.filter(pk=remade.pk).update(status=Status.FAILED, error_final=True)
    assert post().redirect_chain[-1][0] == remade.get_absolute_url()
    assert Mashup.objects.filter(remade_from=mashup).count() == 1
    # Once that one has expired, or failed in a way that may pass, asking makes it anew.
    Mashup.objects.filter(pk=remade.pk).update(error_final=False)
    post()
    assert Mashup.objects.filter(remade_from=mashup).count() == 2


def test_tempo_is_post_only_and_the_owners_only(
    owner_client: Client, stranger_client: Client, owner
) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    assert owner_client.get(reverse("mashups:given", args=[mashup.pk])).status_code == 405
    assert tempo(stranger_client, mashup, {"tempo_1": "120"}).status_code == 404
    assert Mashup.objects.count() == 1


def test_half_a_beat_over_keeps_the_tempi_and_keys_given(owner_client: Client, owner) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    Source.objects.filter(mashup=mashup, position=2).update(tempo_given=140.0, key_given="B minor")
    offbeat(owner_client, mashup)
    remade = Mashup.objects.get(remade_from=mashup)
    assert remade.backing_offbeat
    assert [(s.tempo_given, s.key_given) for s in remade.sources.all()] == [
        (None, ""),
        (140.0, "B minor"),
    ]


# --- made again in the key its owner gives ---------------------------------------------------


def test_a_key_given_makes_a_new_mashup_planned_in_it_and_says_so(
    owner_client: Client, owner, django_capture_on_commit_callbacks
) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    Source.objects.filter(mashup=mashup, position=1).update(key_heard="C# minor")
    Source.objects.filter(mashup=mashup, position=2).update(key_heard="")
    page = html_of(owner_client, mashup.get_absolute_url())
    # Each song's key is offered as the analysis names keys, with its Camelot code, after
    # the key heard (song 2's not known: made by the remote engine, or before it was kept).
    assert '<select name="key_1"' in page
    assert '<option value="" selected>As heard: C# minor (12A)</option>' in page
    assert '<option value="" selected>As heard</option>' in page
    assert '<optgroup label="Minor keys">' in page
    assert '<option value="A minor">A minor (8A)</option>' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = tempo(owner_client, mashup, {"key_1": "E minor", "tempo_2": "90"})
    remade = Mashup.objects.exclude(pk=mashup.pk).get()
    assert response.status_code == 302 and response.url == remade.get_absolute_url()
    assert [(s.tempo_given, s.key_given) for s in remade.sources.all()] == [
        (None, "E minor"),
        (90.0, ""),
    ]
    html = html_of(owner_client, remade.get_absolute_url())
    assert "Making it again with song 1 in E minor and song 2 at 90 BPM." in html
    assert "key given: E minor" in html
    card = card_of(html_of(owner_client), remade)
    assert "key given" in card and "tempo given" in card
    assert "key given" not in card_of(html_of(owner_client), mashup)


def test_a_key_that_is_no_key_is_refused_next_to_its_field(owner_client: Client, owner) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    response = tempo(owner_client, mashup, {"key_2": "H major"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice. H major is not one of the available choices." in html
    assert 'id="id_key_2_error"' in html
    assert Mashup.objects.count() == 1 and OrmQ.objects.count() == 0


def test_the_same_keys_again_are_refused_and_another_key_is_another_mashup(
    owner_client: Client, owner
) -> None:
    mashup = finished_mashup(owner=owner, provider="local")
    Source.objects.filter(mashup=mashup, position=1).update(key_given="F major")
    page = html_of(owner_client, mashup.get_absolute_url())
    assert '<option value="F major" selected>F major (7B)</option>' in page  # starts from it
    response = tempo(owner_client, mashup, {"key_1": "F major"})
    assert "This mashup was made with these tempi and keys already." in response.content.decode()
    assert Mashup.objects.count() == 1
    for key in ("D minor", "C major", "D minor"):  # the last one follows the first
        tempo(owner_client, mashup, {"key_1": key})
    assert sorted(
        Source.objects.filter(mashup__remade_from=mashup, position=1).values_list(
            "key_given", flat=True
        )
    ) == ["C major", "D minor"]


# --- the mashup page --------------------------------------------------------------------------


def test_the_mashup_page_warns_before_expiry(owner_client: Client, owner) -> None:
    mashup = finished_mashup(owner=owner, expires_at=expires_in(timedelta(hours=7, minutes=30)))
    html = html_of(owner_client, mashup.get_absolute_url())
    assert "This mashup expires in 7 hours: download it now." in html
    assert 'class="notice notice-urgent"' in html
    assert "Download the tracks you want to keep" not in html  # said once, not twice
    later = finished_mashup(owner=owner, expires_at=expires_in(timedelta(days=2, hours=1)))
    assert "Download the tracks you want to keep." in html_of(
        owner_client, later.get_absolute_url()
    )


def test_the_mashup_page_offers_a_retry_for_a_failed_job(owner_client: Client, owner) -> None:
    mashup = mashup_with_sources(owner=owner, status=Status.FAILED, error_message="Nope")
    html = html_of(owner_client, mashup.get_absolute_url())
    assert f'action="{reverse("mashups:retry", args=[mashup.pk])}"' in html
    # how long it can be: its songs go with it when it expires (retention sweeps failures)
    mashup.expires_at = timezone.make_aware(datetime(2026, 12, 18, 9, 0))
    mashup.save()
    html = html_of(owner_client, mashup.get_absolute_url())
    assert "Its songs are kept for this until 18 Dec 2026." in html


def test_the_page_of_a_failure_that_would_repeat_offers_a_new_mashup_not_a_retry(
    owner_client: Client, owner
) -> None:
    mashup = mashup_with_sources(
        owner=owner, status=Status.FAILED, error_message="Nope", error_final=True
    )
    html = html_of(owner_client, mashup.get_absolute_url())
    assert reverse("mashups:retry", args=[mashup.pk]) not in html
    assert "Trying again would fail the same way" in html
    assert f'href="{reverse("mashups:create")}"' in html


def test_a_failure_that_would_repeat_is_not_tried_again_nor_counted(
    owner_client: Client, owner
) -> None:
    mashup = MashupFactory(owner=owner, status=Status.FAILED, error_final=True)
    response = owner_client.post(reverse("mashups:retry", args=[mashup.pk]), follow=True)
    mashup.refresh_from_db()
    assert mashup.status == Status.FAILED
    assert "would fail the same way" in response.content.decode()
    assert OrmQ.objects.count() == 0
    assert not Start.objects.filter(owner=owner).exists()


def test_healthz_needs_no_sign_in(client: Client) -> None:
    response = client.get(reverse("mashups:healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"


def test_a_retry_form_from_a_cached_page_passes_the_csrf_check(owner) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    mashup = MashupFactory(owner=owner, status=Status.FAILED)
    html_of(client)
    card = card_of(html_of(client), mashup)  # the second view comes from the cache
    token = card.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = client.post(
        reverse("mashups:retry", args=[mashup.pk]), {"csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_a_search_too_long_says_why(owner_client: Client, owner) -> None:
    MashupFactory(owner=owner)
    html = html_of(owner_client, GALLERY + "?q=" + "x" * 201)
    assert "Search: Ensure this value has at most 200 characters (it has 201)." in html


def test_favicon_ico_redirects_to_the_icon_without_sign_in(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].startswith("/static/img/favicon")
