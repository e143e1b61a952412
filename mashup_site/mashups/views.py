"""Pages of the feature app: function views, each login-protected, each object by its owner.

HTMX requests render a named partial of the same page template ("page.html#name"); every
page also works by plain GETs and full POSTs with JavaScript off (docs/design.md, rule 4).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import DatabaseError, connection
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils.crypto import get_random_string
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

from mashup_site import providers
from mashup_site.providers import contract
from mashup_site.providers.base import FollowUpKind

from . import gallery_cache, jobs, quotas, retention, storage, tasks
from .forms import SOURCE_POSITIONS, GalleryFilter, GivenForm, KeptUploadGone, MashupForm
from .models import Mashup, Track
from .uploads import accepts_files

SWITCH_FLAG = "_switch"
QUEUE_DOWN = (
    "Mashups cannot be started right now: the job queue is not answering. Nothing was "
    "started; please try again in a minute (what you entered is kept)."
)


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (for the type checker)."""

    htmx: HtmxDetails


def owned_mashup(request: HttpRequest, pk: int) -> Mashup:
    """The one way views fetch a mashup: someone else's is a 404, never a 403."""
    return get_object_or_404(Mashup.objects.owned_by(request.user), pk=pk)


def gone_stops_polling(region: str | None) -> Callable[[Callable[..., HttpResponse]], Any]:
    """For a view an htmx region polls: when its mashup is gone (deleted, perhaps in another
    tab; someone else's is the same 404), the poll is answered with the region saying so
    (``mashups/_gone.html#<region>``; None: an empty answer, and the region leaves the
    page) and status 286, which stops htmx polling. Without it a page left open polled a
    404 every few seconds for as long as it stayed open, still "working on it". A visit,
    not a poll, is the 404 it was."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def polled(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except Http404:
                if not request.htmx:
                    raise
            if region is None:
                return HttpResponseStopPolling()
            answer = render(request, f"mashups/_gone.html#{region}", kwargs)
            return HttpResponseStopPolling(answer.content)

        return polled

    return decorate


# --- the gallery ------------------------------------------------------------------------------

PER_PAGE = 12
# Big columns no card shows; reading them for every card would only cost time.
NOT_ON_CARDS = ("payload", "last_response", "analysis_text")


@require_safe
@login_required
def gallery(request: HtmxHttpRequest) -> HttpResponse:
    """The person's mashups, newest first, searched, filtered and paged by a GET form.

    A fixed number of queries whatever the number of mashups: the page, its count, the
    tracks of the page's mashups (one prefetch) and the "expiring within a day" banner.
    All of them are lazy, so that a page served from the cache (gallery_cache) runs only
    the one query of its key.
    """
    form = GalleryFilter(request.GET)
    owned = Mashup.objects.owned_by(request.user)
    context = {"form": form, **_listing(form, owned)}
    if request.htmx:  # the search form swaps the results only
        return render(request, "mashups/gallery.html#results", context)
    context["cache_key"] = gallery_cache.key(request, owned)
    context["cache_seconds"] = gallery_cache.seconds(request)
    return render(request, "mashups/gallery.html", context)


def _listing(form: GalleryFilter, owned: QuerySet[Mashup]) -> dict[str, object]:
    def page() -> Page[Mashup]:
        mashups = form.filter(owned).with_given()  # type: ignore[attr-defined]
        mashups = mashups.defer(*NOT_ON_CARDS).prefetch_related("tracks")
        return Paginator(mashups, PER_PAGE).get_page(form.page_number)

    def expiring() -> list[Mashup]:
        # Bounded, so a page's cost never grows with the person's mashups.
        return list(retention.expiring_within_a_day(owned).defer(*NOT_ON_CARDS)[:50])

    page_obj = SimpleLazyObject(page)
    return {
        "page_obj": page_obj,
        "mashups": SimpleLazyObject(lambda: page_obj.object_list),
        "expiring": SimpleLazyObject(expiring),
    }


@require_safe
@login_required
@gone_stops_polling(None)
def card(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """One gallery card, polled by in-progress cards; htmx stops polling once it is final.
    Without htmx (a plain visit of the polled URL) the mashup's own page is the answer."""
    owned = Mashup.objects.owned_by(request.user)  # type: ignore[attr-defined]
    # someone else's is a 404, as owned_mashup's; the card reads its tracks twice: once
    mashup = get_object_or_404(owned.with_given().prefetch_related("tracks"), pk=pk)
    if not request.htmx:
        return redirect(mashup)
    response = render(request, "mashups/gallery.html#card", {"mashup": mashup})
    if mashup.is_final:
        return HttpResponseStopPolling(response.content)
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm (a real page: works without JavaScript); POST deletes."""
    mashup = owned_mashup(request, pk)
    if request.method in ("GET", "HEAD"):
        return render(request, "mashups/delete.html", {"mashup": mashup})
    title = mashup.display_title
    storage.delete_mashup(mashup)
    messages.success(request, f"“{title}” and its files were deleted.")
    return redirect("mashups:gallery")


@require_POST
@login_required
def given(request: HttpRequest, pk: int) -> HttpResponse:
    """Make a finished mashup again with each song's beat read at the tempo its owner gives
    and planned in the key given (its owner only, as a new mashup within the person's
    limits): for a beat the engine heard at half, double or two thirds of the song's, or a
    key it heard a fifth away, relative or parallel, which no ear can always tell."""
    mashup = owned_mashup(request, pk)
    if refusal := tasks.remake_refusal(mashup, tasks.GIVEN_HOW):
        messages.error(request, refusal)
        return redirect(mashup)
    form = GivenForm(request.POST, mashup=mashup)
    if not form.is_valid():  # said at the top too: the form is at the foot of the page
        messages.error(request, "Nothing was made again: see the tempi and keys below.")
        context = detail_context(mashup, form)
        return render(request, "mashups/detail.html", context, status=400)
    return _made_again(
        request,
        mashup,
        lambda: tasks.enqueue_given_remake(mashup, form.given),
        form.described(),
        form,
    )


@require_POST
@login_required
def offbeat(request: HttpRequest, pk: int) -> HttpResponse:
    """Make a finished mashup again with the backing half a beat over (its owner only, as a
    new mashup within the person's limits): for a backing whose kick lands on the lead's
    "and", which no check of the engine's can hear (issue 8's notes)."""
    mashup = owned_mashup(request, pk)
    where = "back on its beat" if mashup.backing_offbeat else "half a beat over"
    return _made_again(
        request, mashup, lambda: tasks.enqueue_offbeat_remake(mashup), f"the backing {where}"
    )


def _made_again(
    request: HttpRequest,
    mashup: Mashup,
    enqueue: Callable[[], tuple[Mashup, bool]],
    how: str,
    form: GivenForm | None = None,
) -> HttpResponse:
    """Start a remake (``enqueue``), or follow the one being made so, or say why not (with
    what the person typed in ``form`` still in it). With the broker down the job waits,
    saved, for the reconciler (as a retry does)."""
    try:
        remade, new = enqueue()
    except (jobs.NotRemade, quotas.Refused) as refusal:
        messages.error(request, str(refusal))
        if form is not None:
            context = detail_context(mashup, form)
            return render(request, "mashups/detail.html", context, status=422)
        return redirect(mashup)
    if new:
        messages.success(
            request,
            f"Making it again with {how}. This page follows it until both tracks are ready; "
            "the first version stays in your mashups.",
        )
    elif remade.is_final:
        messages.info(request, "You made this version already: here it is.")
    else:
        messages.info(request, "It is already being made again: this page follows it.")
    return redirect(remade)


@require_POST
@login_required
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed mashup again (its owner only), within the person's limits."""
    mashup = owned_mashup(request, pk)
    if mashup.error_final:  # said before any limit is asked (and again under the row lock)
        messages.error(request, Mashup.WOULD_REPEAT)
        return redirect(mashup)
    try:
        retried = tasks.enqueue_retry(mashup, by_owner=True)
    except quotas.Refused as refusal:  # a retry is a new start: both limits hold
        messages.error(request, str(refusal))
    else:
        if retried:
            messages.success(
                request, "Trying again. This page follows it until both tracks are ready."
            )
        elif Mashup.objects.filter(pk=mashup.pk, error_final=True).exists():
            messages.error(request, Mashup.WOULD_REPEAT)
        else:
            messages.info(request, "Only a failed mashup can be tried again.")
    return redirect(mashup)


@login_not_required
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers and the gallery benchmark's baseline: no session, no database."""
    return HttpResponse("ok", content_type="text/plain")


@login_not_required
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness for load balancers: the database, the cache and the task broker each
    answer, or 503 naming what does not (``/healthz`` is liveness: the process answers)."""
    checks = {"database": _database_answers, "cache": _cache_answers, "broker": tasks.broker_ready}
    down = [name for name, check in checks.items() if not check()]
    if down:
        return HttpResponse(
            "not ready: " + ", ".join(down) + " down", content_type="text/plain", status=503
        )
    return HttpResponse("ready", content_type="text/plain")


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def _cache_answers() -> bool:
    """A value written can be read back (the cache degrades to none while Redis is down)."""
    token = get_random_string(12)
    cache.set("readyz", token, 10)
    return bool(cache.get("readyz") == token)


@login_not_required
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages without an icon link (the admin's, a file
    opened on its own); a temporary redirect follows the icon's hashed static name."""
    return redirect(static("img/favicon.svg"))


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@accepts_files(*(f"audio{position}" for position in SOURCE_POSITIONS))
def create(request: HtmxHttpRequest) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        form = MashupForm(user_id=request.user.pk)
        return _render_create(request, form)
    if SWITCH_FLAG in request.POST:
        # Mode, model or instrumental changed: re-render the fields, judge nothing yet.
        form = MashupForm(initial=request.POST.dict(), user_id=request.user.pk)
        return _render_create(request, form, switching=True)
    form = MashupForm(request.POST, request.FILES, user_id=request.user.pk)
    if not form.is_valid():
        form.keep_checked_uploads()
        return _render_create(request, form, status=422)
    if not tasks.broker_ready():
        # No job without a queue to take it: nothing is saved but the checked uploads.
        form.keep_checked_uploads()
        form.add_error(None, QUEUE_DOWN)
        return _render_create(request, form, status=503)
    try:
        mashup = form.save(request.user, provider=settings.MASHUP_PROVIDER)
    except (quotas.Refused, KeptUploadGone) as refusal:
        # A parallel submit took the person's last place, or let a kept song go.
        form.keep_checked_uploads()
        form.add_error(None, str(refusal))
        return _render_create(request, form, status=422)
    tasks.enqueue_run(mashup)  # if the broker fails even now, the reconciler hands it later
    messages.success(
        request, "Your mashup has started. This page follows it until both tracks are ready."
    )
    return redirect(mashup)


def _render_create(
    request: HtmxHttpRequest, form: MashupForm, *, switching: bool = False, status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "models": contract.MODELS.values(),
        "switching": switching,
        "upload_max_mb": settings.UPLOAD_MAX_MB,
    }
    template = "mashups/create.html"
    if request.htmx and switching:
        template += "#fields"
    return render(request, template, context, status=status)


@require_safe
@login_required
@gone_stops_polling("progress")
def detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    mashup = owned_mashup(request, pk)
    context = detail_context(mashup)
    live = context["live"]
    if request.htmx:
        # The progress region polls itself; once nothing will change, htmx is told to stop
        # (https://htmx.org/docs/#polling: status 286 stops polling).
        response = render(request, "mashups/detail.html#progress", context)
        if not live:
            return HttpResponseStopPolling(response.content)
        return response
    return render(request, "mashups/detail.html", context)


def detail_context(mashup: Mashup, given_form: GivenForm | None = None) -> dict[str, Any]:
    """What the mashup's page shows; ``given_form`` bound when what was posted was refused."""
    tracks = list(mashup.tracks.prefetch_related("follow_ups"))
    for track in tracks:
        track.follow_up_state = follow_up_context(mashup, track)  # type: ignore[attr-defined]
    sources = list(mashup.sources.order_by("position"))
    live = mashup.still_changing(tracks)
    # Offered once nothing on the page changes by itself: its polls would wipe a form.
    remakeable = not live and not tasks.remake_refusal(mashup, tasks.GIVEN_HOW, sources)
    if remakeable and given_form is None:
        given_form = GivenForm(mashup=mashup, sources=sources)
    return {
        "mashup": mashup,
        "sources": sources,
        "tracks": tracks,
        "live": live,
        "offbeat_offered": remakeable
        and not tasks.remake_refusal(mashup, tasks.OFFBEAT_HOW, sources),
        "given_form": given_form if remakeable else None,
    }


# What each of a track's files is called when it is saved: the track's title (our engine's
# say whose voice is over whose band; the service's may be one for both: then numbered,
# "<title> (1) vocals.wav"), or the mashup's with the track's number.
FILE_NAMES = {
    "audio": "",
    "image": "",
    "wav": "",
    "vocals": " vocals",
    "instrumental": " instrumental",
}


def download_title(track: Track) -> str:
    """A saved track's name: its title when no other track of its mashup has it, as a
    browser saves it (``storage.file_name``)."""
    title = storage.file_name(track.title)
    others = Track.objects.filter(mashup_id=track.mashup_id).exclude(pk=track.pk)
    names = (storage.file_name(other) for other in others.values_list("title", flat=True))
    if title and title not in names:
        return title
    return f"{title or storage.file_name(track.mashup.display_title)} ({track.position})"


@require_safe
@login_required
def track_file(request: HttpRequest, pk: int, position: int, kind: str) -> HttpResponseBase:
    """A track's audio, cover, or a follow-up's file, to its owner only; ?download=1 saves
    it under its title."""
    mashup = owned_mashup(request, pk)
    track = get_object_or_404(Track, mashup=mashup, position=position)
    stored = getattr(track, kind) if kind in FILE_NAMES else None
    if not stored:
        raise Http404("This file is not ready yet.")
    name = str(stored.name)
    suffix = name.rsplit(".", 1)[-1]
    filename = f"{download_title(track)}{FILE_NAMES[kind]}.{suffix}"
    return storage.serve(request, name, filename=filename, download="download" in request.GET)


# --- follow-ups on a finished track -------------------------------------------------------------


def follow_up_context(mashup: Mashup, track: Track, error: str = "") -> dict[str, object]:
    """A track's follow-up row: per kind, what it can do now (ask, wait, play, or why not)."""
    provider = providers.get(mashup.provider)
    asked = {f.kind: f for f in sorted(track.follow_ups.all(), key=lambda f: f.created_at)}
    rows = []
    for kind in FollowUpKind:
        follow_up = asked.get(kind)
        refusal = provider.follow_up_refusal(kind, instrumental=mashup.instrumental)
        rows.append(
            {"kind": kind.value, "label": kind.label, "follow_up": follow_up, "refusal": refusal}
        )
    live = any(f is not None and not f.is_final for f in asked.values())
    return {
        "mashup": mashup,
        "track": track,
        "rows": rows,
        "follow_ups_live": live,
        "follow_up_error": error,
    }


@require_safe
@login_required
@gone_stops_polling("follow-ups")
def follow_ups(request: HtmxHttpRequest, pk: int, position: int) -> HttpResponse:
    """A track's follow-up row, polled while one is being made (htmx stops once none is);
    without htmx, the mashup's page is the answer."""
    mashup = owned_mashup(request, pk)
    track = get_object_or_404(Track, mashup=mashup, position=position)
    if not request.htmx:
        return redirect(f"{mashup.get_absolute_url()}#track-{position}")
    state = follow_up_context(mashup, track)
    response = render(request, "mashups/_follow_ups.html", {"fu": state})
    if not state["follow_ups_live"]:
        return HttpResponseStopPolling(response.content)
    return response


@require_POST
@login_required
def ask_follow_up(request: HtmxHttpRequest, pk: int, position: int, kind: str) -> HttpResponse:
    """Ask for a follow-up on one track (its owner only). Asking twice gives the one
    already asked for; a limit or a track that cannot have it is said in words."""
    mashup = owned_mashup(request, pk)
    track = get_object_or_404(Track, mashup=mashup, position=position)
    if kind not in FollowUpKind.values:
        raise Http404("No such follow-up.")
    error = ""
    try:
        tasks.ask_follow_up(track, kind, user_id=request.user.pk)
    except (quotas.Refused, tasks.FollowUpRefused) as refusal:
        error = str(refusal)
    if request.htmx:  # the row, with the refusal in it (htmx swaps 2xx answers only)
        state = follow_up_context(mashup, track, error)
        return render(request, "mashups/_follow_ups.html", {"fu": state})
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, f"{FollowUpKind(kind).label}: asked. This page shows it when it is ready."
        )
    return redirect(f"{mashup.get_absolute_url()}#track-{position}")


@require_safe
@login_required
def stored_file(request: HttpRequest, name: str) -> HttpResponseBase:
    """Any stored file under MEDIA_URL, for staff who may view mashups: the admin links
    songs, tracks and covers there. People reach their own files through their mashups'
    pages, never here."""
    if not (request.user.is_staff and request.user.has_perm("mashups.view_mashup")):
        raise Http404("No such file.")
    return storage.serve(request, name)
