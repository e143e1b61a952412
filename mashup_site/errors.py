"""The designed error pages (issue 12): a 503 "back in a minute" when the database or Redis
does not answer, a 500 for anything else, a 404 and a 403 for a form sent from a page
whose session changed; none touches the database or the session."""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.loader import render_to_string
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

OUTAGES = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)
# SQLite raises the OperationalError of a locked or unreachable database file for a schema
# the code does not match too (a migration not run, a column misspelt in raw SQL). Those
# are faults, not outages: a 503 "back in a minute" would tell whoever deploys to wait.
SCHEMA_FAULTS = ("no such table", "no such column", "has no column named", "syntax error")


def is_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database or Redis does not answer (a 503 that passes)."""
    if isinstance(exc, OperationalError) and any(f in str(exc) for f in SCHEMA_FAULTS):
        return False
    return isinstance(exc, OUTAGES)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: Django calls it while handling the uncaught exception."""
    if is_outage(sys.exc_info()[1]):
        page = _page(
            "Back in a minute",
            "Mashup Studio cannot reach its storage right now. Nothing you made is lost; "
            "please try again in a minute.",
        )
        return HttpResponse(page, status=503, headers={"Retry-After": "60"})
    page = _page(
        "Something went wrong",
        "This page hit an unexpected problem; staff have been told. Please try again, or go "
        "back to your mashups.",
    )
    return HttpResponse(page, status=500)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: a deleted mashup, someone else's, a mistyped address."""
    page = _page(
        "Not found",
        "There is nothing here, or it is not yours to see. A mashup that was deleted is "
        "gone for good; the others are in your mashups.",
    )
    return HttpResponse(page, status=404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a form sent from a page opened before its sender signed in
    again (or signed out in another tab) carries a token that no longer holds."""
    page = _page(
        "This page was out of date",
        "You signed in or out since this page was opened, so what it sent could not be "
        "taken, and nothing was started. Go back, reload the page and send it again "
        "(songs you had chosen need choosing again).",
    )
    return HttpResponse(page, status=403)


class MethodNotAllowedPage:
    """A 405 answered with the designed page (its Allow header kept), not Django's empty
    one: a visit to an address that takes only what a page's button sends, as the address
    bar shows after a refused remake form."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            response.content = _page(
                "Nothing to open here",
                "This address takes what a page's button sends, not a visit. Go back to the "
                "page you came from, or to your mashups.",
            ).encode()
            # Set by CommonMiddleware for the empty body: a server sends no more than it says.
            response["Content-Length"] = str(len(response.content))
        return response


def _page(heading: str, message: str) -> str:
    """The designed page, or plain words when even it cannot be rendered (say, static
    files not collected): an error page that raises leaves the server's bare error."""
    context = {"heading": heading, "message": message}
    try:
        return render_to_string("error_page.html", context)
    except Exception:  # the last resort must not fail
        return f"<!doctype html><title>{heading}</title><h1>{heading}</h1><p>{message}</p>"
