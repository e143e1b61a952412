"""What a person (or staff) may do to a whole job: retry a failed one, delete one.

Both are used by the gallery's views and by the admin, so they live here rather than in
either. Starting work goes only through ``tasks.enqueue_run`` (the pipeline's public door).
"""

from __future__ import annotations

from django.db import transaction

from . import storage
from .models import Mashup, Status, new_token
from .tasks import enqueue_run

# Everything a run writes, back to how a new job starts.
RESET = {
    "status": Status.QUEUED,
    "provider_task_id": "",
    "error_code": None,
    "error_message": "",
    "analysis_text": "",
    "last_response": None,
    "next_poll_at": None,
    "claimed_at": None,
    "polls": 0,
    "submitted_at": None,
    "text_at": None,
    "first_at": None,
    "completed_at": None,
    "failed_at": None,
    "expires_at": None,
}


def retry_failed(pk: int) -> bool:
    """Queue a failed job again from the start; False if it is not (or no longer) failed.

    The callback token changes, so a late callback about the failed attempt cannot be
    applied to the new one (the callback view trusts the token in its URL).
    """
    with transaction.atomic():
        mashup = Mashup.objects.select_for_update().filter(pk=pk, status=Status.FAILED).first()
        if mashup is None:
            return False
        storage.delete_tracks(mashup)
        for field, value in RESET.items():
            setattr(mashup, field, value)
        mashup.callback_token = new_token()
        mashup.save()
        enqueue_run(mashup)  # runs after the commit
    return True


def delete_mashup(mashup: Mashup) -> None:
    """Delete a mashup and its files (uploads another live mashup shares are kept)."""
    storage.delete_mashup(mashup)
