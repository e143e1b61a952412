"""Who is asking: the client's address, behind TRUSTED_PROXY_COUNT proxies.

Each proxy appends the address it was reached from to X-Forwarded-For, so only the last
TRUSTED_PROXY_COUNT entries were written by proxies we run; anything to their left came
from the client and may be forged. With no proxy, REMOTE_ADDR is the client.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    count = int(settings.TRUSTED_PROXY_COUNT)
    remote = str(request.META.get("REMOTE_ADDR") or "")
    if count <= 0:
        return remote
    chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    chain = [part for part in chain if part]
    return chain[-count] if len(chain) >= count else remote
