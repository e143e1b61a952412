"""The remote provider's callbacks, and the source files it downloads from us.

Neither is a page for people: no login (the provider has none), no CSRF (it cannot send a
token). Trust comes from the unguessable per-job token in the URL (and, when configured,
the kie.ai-style HMAC signature), and a callback is only ever applied to the job its token
names (docs/api-contract.md, "Callback").
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from mashup_site import providers
from mashup_site.providers import delivery
from mashup_site.providers.base import LIMITS, InvalidPayload
from mashup_site.providers.remote import (
    SIGNATURE_MAX_SKEW,
    loads,
    parse_callback,
    verify_signature,
)

from . import jobs, storage, tasks
from .models import CallbackStamp, FollowUp, Mashup, Source

log = logging.getLogger(__name__)


@csrf_exempt
@login_not_required
@require_POST
def callback(request: HttpRequest, token: str) -> HttpResponse:
    mashup = get_object_or_404(Mashup, callback_token=token)
    try:
        snapshot = parse_callback(loads(request.body))
    except InvalidPayload as error:
        log.warning("malformed callback for mashup %s: %s", mashup.pk, error)
        return HttpResponseBadRequest(f"not a callback body: {error}", content_type="text/plain")
    if mashup.is_final:
        # Staff re-poll is for corrections; a held token must not rewrite a finished job.
        return JsonResponse({"ok": True, "ignored": "the job is final"})
    signed = bool(settings.MASHUP_WEBHOOK_HMAC_KEY)
    if signed and not _signature_ok(request, snapshot.task_id):
        log.warning("callback for mashup %s with a bad signature", mashup.pk)
        return JsonResponse({"ok": False, "error": "bad signature"}, status=401)
    if mashup.provider_task_id and snapshot.task_id and snapshot.task_id != mashup.provider_task_id:
        log.warning("callback for mashup %s names another task %s", mashup.pk, snapshot.task_id)
        return JsonResponse({"ok": False, "error": "task mismatch"}, status=409)
    if not signed:
        # This reseller signs nothing: the URL's per-job token is the proof.
        tasks.on_callback(mashup.pk, snapshot)
        return JsonResponse({"ok": True})
    # kie.ai signs only ``taskId.timestamp``, not the body: the callback says "look now",
    # and what the job holds comes from the provider's own record. A timestamp is used once.
    stamp = int(request.headers.get("X-Webhook-Timestamp", ""))
    if not CallbackStamp.objects.first_use(
        snapshot.task_id, stamp, keep_seconds=2 * SIGNATURE_MAX_SKEW
    ):
        log.warning("replayed signed callback for mashup %s", mashup.pk)
        return JsonResponse({"ok": False, "error": "replayed timestamp"}, status=409)
    tasks.on_signed_callback(mashup.pk, snapshot.task_id)
    return JsonResponse({"ok": True})


@csrf_exempt
@login_not_required
@require_POST
def follow_up_callback(request: HttpRequest, token: str) -> HttpResponse:
    """A follow-up's callback (vocal removal, WAV): trusted only for the follow-up its
    token names, and only as "look now": what it made is read from the provider's own
    record (``tasks.enqueue_follow_up_poll_now``), never taken from the body."""
    follow_up = get_object_or_404(FollowUp, callback_token=token)
    try:
        body = loads(request.body)
        if not isinstance(body, dict):
            raise InvalidPayload("callback body must be a JSON object")
        data = body.get("data")
        data = {} if data is None else data
        if not isinstance(data, dict):  # an empty list too: not what the contract sends
            raise InvalidPayload("callback data must be an object")
        task_id = data.get("task_id") or data.get("taskId") or ""
        if not isinstance(task_id, str) or len(task_id) > LIMITS["task_id"]:
            raise InvalidPayload("taskId is not text")
    except InvalidPayload as error:
        log.warning("malformed callback for follow-up %s: %s", follow_up.pk, error)
        return HttpResponseBadRequest(f"not a callback body: {error}", content_type="text/plain")
    if follow_up.is_final:
        return JsonResponse({"ok": True, "ignored": "the follow-up is final"})
    if settings.MASHUP_WEBHOOK_HMAC_KEY and not _signature_ok(request, task_id):
        log.warning("callback for follow-up %s with a bad signature", follow_up.pk)
        return JsonResponse({"ok": False, "error": "bad signature"}, status=401)
    if follow_up.provider_task_id and task_id and task_id != follow_up.provider_task_id:
        log.warning("callback for follow-up %s names another task %s", follow_up.pk, task_id)
        return JsonResponse({"ok": False, "error": "task mismatch"}, status=409)
    if task_id and not follow_up.provider_task_id:  # it called back before we saved the id
        jobs.record_follow_up_task(follow_up.pk, task_id, None)
    tasks.enqueue_follow_up_poll_now(follow_up.pk)
    return JsonResponse({"ok": True})


def _signature_ok(request: HttpRequest, task_id: str) -> bool:
    return verify_signature(
        task_id,
        request.headers.get("X-Webhook-Timestamp", ""),
        request.headers.get("X-Webhook-Signature", ""),
        settings.MASHUP_WEBHOOK_HMAC_KEY,
        now=time.time(),
        max_skew=SIGNATURE_MAX_SKEW,
    )


@login_not_required
@require_safe
def source_file(request: HttpRequest, token: str) -> HttpResponseBase:
    """An uploaded source, for a provider that fetches songs, only while its job may still
    need it: a job that is not final, for at most MASHUP_SOURCE_URL_HOURS, and not once
    its songs went to the provider's upload service instead."""
    fetching = providers.fetching_sources()
    source = get_object_or_404(
        Source.objects.select_related("mashup").filter(mashup__provider__in=fetching),
        access_token=token,
    )
    mashup = source.mashup
    expires = mashup.created_at + timedelta(hours=settings.MASHUP_SOURCE_URL_HOURS)
    uploaded = mashup.source_delivery == delivery.UPLOAD
    if not source.file or mashup.is_final or timezone.now() > expires or uploaded:
        raise Http404("This link has expired.")
    return storage.serve(request, str(source.file.name), filename=source.original_name or None)
