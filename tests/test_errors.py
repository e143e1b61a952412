"""The designed error pages (mashup_site/errors.py): never an error of their own."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client, RequestFactory
from django.urls import reverse

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


@pytest.mark.django_db
def test_a_schema_the_code_does_not_match_is_a_500_not_an_outage() -> None:
    """SQLite raises a missing table (a migration not run) as an OperationalError, as it
    does a locked database: that is a fault to fix, not a minute to wait."""
    with pytest.raises(OperationalError) as missing, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM mashups_never_migrated")
    response = raised(missing.value)
    assert response.status_code == 500 and "Retry-After" not in response
    assert b"Something went wrong" in response.content


def test_when_the_page_itself_cannot_render_it_still_answers_in_words() -> None:
    # Say static files were never collected: the designed page raises, the words remain.
    with mock.patch.object(errors, "render_to_string", side_effect=ValueError("no manifest")):
        response = raised(RuntimeError("boom"))
    assert response.status_code == 500
    assert b"Something went wrong" in response.content


def test_a_missing_or_someone_elses_page_is_a_designed_404(owner_client) -> None:
    response = owner_client.get("/mashups/999999/")
    assert response.status_code == 404
    assert b"Not found" in response.content and b"Back to my mashups" in response.content


def test_a_form_sent_from_a_page_older_than_the_sign_in_says_so_and_what_to_do(owner) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("mashups:create"), {"prompt": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "This page was out of date" in page and "nothing was started" in page
    assert "CSRF" not in page


def test_an_address_that_takes_only_a_form_opened_by_hand_is_a_designed_page(
    owner_client, owner
) -> None:
    # After a refused remake form the address bar shows /mashups/<pk>/given/; pressing Enter
    # there gave an empty white page.
    from tests.factories import finished_mashup

    mashup = finished_mashup(owner=owner)
    for url in (reverse("mashups:given", args=[mashup.pk]), reverse("logout")):
        response = owner_client.get(url)
        assert response.status_code == 405 and "POST" in response["Allow"], url
        assert b"Back to my mashups" in response.content, url
        assert response["Content-Length"] == str(len(response.content)), url
        assert b"button" in response.content, url  # it says what the address is for
