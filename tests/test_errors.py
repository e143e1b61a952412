"""The designed error pages (mashup_site/errors.py): never an error of their own."""

from __future__ import annotations

from unittest import mock

from django.db import OperationalError
from django.test import RequestFactory

from mashup_site import errors


def raised(exc: Exception):
    try:
        raise exc
    except Exception:
        return errors.server_error(RequestFactory().get("/"))


def test_an_outage_is_a_503_back_in_a_minute() -> None:
    response = raised(OperationalError("no database"))
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert b"Back in a minute" in response.content


def test_when_the_page_itself_cannot_render_it_still_answers_in_words() -> None:
    # Say static files were never collected: the designed page raises, the words remain.
    with mock.patch.object(errors, "render_to_string", side_effect=ValueError("no manifest")):
        response = raised(RuntimeError("boom"))
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
