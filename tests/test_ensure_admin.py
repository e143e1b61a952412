"""The first run creates one admin and prints its login once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def run() -> str:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_it_creates_an_admin_with_a_printed_password_when_there_is_no_user() -> None:
    output = run()
    password = output.split("password: ")[1].split()[0]
    admin = get_user_model().objects.get()
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(password)


def test_it_does_nothing_and_prints_nothing_on_later_runs() -> None:
    run()
    assert run() == ""
    assert get_user_model().objects.count() == 1
