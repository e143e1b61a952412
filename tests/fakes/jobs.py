"""Helpers for job tests: remote jobs, and a stand-in for django-q2's scheduler that runs
each due poll (the real task functions) in this process, on the ``clock`` fixture."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile

from mashup_site.mashups import tasks
from mashup_site.mashups.models import Mashup
from tests.conftest import Clock
from tests.factories import MashupFactory, SourceFactory

SONG = b"ID3 source"  # an uploaded song's bytes


def remote_job(owner, *, uploaded: bool = False, **kwargs: object) -> Mashup:
    """A queued remote job with two sources (public URLs, or files we serve ourselves)."""
    mashup = MashupFactory(owner=owner, provider="remote", **kwargs)
    for position in (1, 2):
        if uploaded:
            source = SourceFactory.build(mashup=mashup, position=position, url="")
            source.original_name = f"song-{position}.mp3"
            source.sha256 = hashlib.sha256(SONG).hexdigest()  # as the create form records it
            source.file.save(f"song-{position}.mp3", ContentFile(SONG), save=True)
        else:
            SourceFactory(mashup=mashup, position=position)
    return mashup


def drive(pk: int, clock: Clock, *, limit: int = 80) -> Mashup:
    """What the scheduler does: at each due time run ``poll_mashup``, until the job is final."""
    for _ in range(limit):
        mashup = Mashup.objects.get(pk=pk)
        if mashup.is_final or mashup.next_poll_at is None:
            return mashup
        clock.now = max(clock.now, mashup.next_poll_at)
        tasks.poll_mashup(pk)
    raise AssertionError(f"mashup {pk} is not final after {limit} polls")
