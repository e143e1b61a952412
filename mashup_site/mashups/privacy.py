"""Responses of the app are private: a shared cache (a proxy, a CDN) must never keep one.

Pages, partials and files are someone's: their gallery, their tracks, a staff member's
view of a file, a provider's secret download link. Every response past the static files
(whitenoise answers those before this middleware) gets ``Cache-Control: private``, unless
a view said ``public`` itself.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control


class PrivateCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "public" not in response.get("Cache-Control", ""):
            patch_cache_control(response, private=True)
        return response
