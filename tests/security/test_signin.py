"""Door: sign-in (/accounts/login/ and /admin/login/). Wrong passwords are throttled per
account and per address by django-axes: after SIGNIN_FAILURE_LIMIT failures the door says
so plainly and stays shut for SIGNIN_LOCKOUT_MINUTES, then opens again by itself (a
stranger cannot lock a person out for longer by going on trying)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fast_hashing(settings) -> None:
    """Each wrong password costs a full PBKDF2 run; these tests make dozens."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def attempt(username: str, password: str, *, address: str = "203.0.113.7", url: str = LOGIN):
    return Client().post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(times: int, username: str, **kwargs: str) -> None:
    for _ in range(times):
        response = attempt(username, "wrong password", **kwargs)
        assert response.status_code in (200, 429)  # the form's message, or the lockout


def is_locked(response) -> bool:
    return response.status_code == 429 and b"Too many failed sign-ins" in response.content


def test_wrong_passwords_lock_the_account_out(owner, password) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    for n in range(limit):  # from as many addresses: the account itself is protected
        fail(1, owner.username, address=f"198.51.100.{n + 1}")
    response = attempt(owner.username, password, address="192.0.2.99")
    assert is_locked(response)
    assert f"{settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in response.content.decode()


def test_wrong_passwords_from_one_address_lock_that_address_out(owner, password) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    for n in range(limit):  # a different account each time: the address is throttled
        fail(1, f"guess{n}", address="203.0.113.50")
    assert is_locked(attempt(owner.username, password, address="203.0.113.50"))
    assert attempt(owner.username, password, address="203.0.113.51").status_code == 302


def test_the_admin_sign_in_is_throttled_too(staff, password) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(staff.username, "nope", url="/admin/login/")
    assert is_locked(attempt(staff.username, password, url="/admin/login/"))


def test_a_lockout_ends_by_itself_however_long_a_stranger_goes_on(owner, password, clock) -> None:
    fail(settings.AXES_FAILURE_LIMIT, owner.username)
    for _ in range(5):  # the stranger keeps trying during the lockout
        clock.advance(60)
        attempt(owner.username, "still wrong", address="203.0.113.66")
    clock.advance(settings.AXES_COOLOFF_TIME.total_seconds() - 5 * 60 + 1)
    assert attempt(owner.username, password, address="192.0.2.10").status_code == 302


def test_a_success_clears_the_count(password) -> None:
    person = UserFactory()
    fail(settings.AXES_FAILURE_LIMIT - 1, person.username)
    assert attempt(person.username, password).status_code == 302
    fail(settings.AXES_FAILURE_LIMIT - 1, person.username)
    assert attempt(person.username, password).status_code == 302


def test_behind_a_proxy_a_forged_forwarded_for_does_not_dodge_the_throttle(
    settings, owner, password
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1  # one load balancer appends the real address
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            LOGIN,
            {"username": f"guess{n}", "password": "x"},
            REMOTE_ADDR="10.0.0.2",  # the load balancer
            HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.9",  # forged, then the real one
        )
    response = Client().post(
        LOGIN,
        {"username": owner.username, "password": password},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.9",
    )
    assert is_locked(response)
