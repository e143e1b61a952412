"""Steps that several browser test modules take."""

from __future__ import annotations

from urllib.parse import urlsplit


def sign_in(page, user, password: str) -> None:
    """Through the real sign-in form; returns once the gallery ("/") has loaded."""
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: urlsplit(url).path == "/")  # "**/" matched the login page
