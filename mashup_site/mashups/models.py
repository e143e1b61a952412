"""A mashup job, its two sources, and (once made) its tracks."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.urls import reverse

from mashup_site.providers import contract

if TYPE_CHECKING:
    from .retention import Expiry


def new_token() -> str:
    """An unguessable token (256 bits) for callback and source URLs."""
    return secrets.token_urlsafe(32)


class Status(models.TextChoices):
    """Where a job is. The order of declaration is the order of progress."""

    QUEUED = "queued", "Queued"
    SUBMITTED = "submitted", "Submitted"
    TEXT = "text", "Analysed"
    FIRST = "first", "First track ready"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


FINAL_STATUSES = frozenset({Status.COMPLETE, Status.FAILED, Status.EXPIRED})
# Progress order; a job never moves to a lower rank (a late "first" after "complete").
PROGRESS = (Status.QUEUED, Status.SUBMITTED, Status.TEXT, Status.FIRST, Status.COMPLETE)
STAGE_FIELDS = {
    Status.SUBMITTED: "submitted_at",
    Status.TEXT: "text_at",
    Status.FIRST: "first_at",
    Status.COMPLETE: "completed_at",
    Status.FAILED: "failed_at",
}


def advances(old: str, new: str) -> bool:
    """Whether moving from ``old`` to ``new`` is progress (final states never move)."""
    if old in FINAL_STATUSES:
        return False
    if new == Status.FAILED:
        return True
    if new not in PROGRESS:
        return False
    return PROGRESS.index(Status(new)) > PROGRESS.index(Status(old))


class Provider(models.TextChoices):
    LOCAL = "local", "Local engine"
    REMOTE = "remote", "Remote API"


class MashupQuerySet(models.QuerySet["Mashup"]):
    def owned_by(self, user: object) -> MashupQuerySet:
        return self.filter(owner=user)


class Mashup(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mashups"
    )
    # The request body as the API receives it, minus uploadUrlList and callBackUrl, which
    # depend on where the sources and this server live and are added at submit time.
    payload = models.JSONField()
    # Copies of payload fields that lists filter, search and sort on.
    custom_mode = models.BooleanField(default=False)
    instrumental = models.BooleanField(default=False)
    model = models.CharField(max_length=16, choices=[(m, m) for m in contract.MODELS])
    title = models.CharField(
        max_length=contract.MODELS[contract.DEFAULT_MODEL].title_max, blank=True
    )
    style = models.TextField(blank=True)
    prompt = models.TextField(blank=True)

    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.LOCAL)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    callback_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    provider_task_id = models.CharField(max_length=128, blank=True, db_index=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    analysis_text = models.TextField(blank=True)
    last_response = models.JSONField(null=True, blank=True)

    # How many requests this job cost at the provider (submit + polls), for staff.
    provider_requests = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    # When a worker last took the job (a lease, so a duplicate delivery does not run it twice).
    claimed_at = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    # Trusted callbacks received: once they arrive, polling (the fallback) slows down.
    callbacks_received = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    text_at = models.DateTimeField(null=True, blank=True)
    first_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    keep_forever = models.BooleanField(default=False)

    objects = MashupQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return self.display_title

    def get_absolute_url(self) -> str:
        return reverse("mashups:detail", args=[self.pk])

    @property
    def display_title(self) -> str:
        """The title, or the idea's first words for simple-mode mashups."""
        if self.title:
            return self.title
        words = self.prompt.split()
        short = " ".join(words[:8])
        return (short + "…" if len(words) > 8 else short) or f"Mashup #{self.pk}"

    @property
    def mode_label(self) -> str:
        mode = "Custom" if self.custom_mode else "Simple"
        return f"{mode} · instrumental" if self.instrumental else mode

    @property
    def asked_extras(self) -> list[tuple[str, str]]:
        """The optional custom-mode settings that were given, for people to read."""
        labels = {
            "vocalGender": "Vocal gender",
            "styleWeight": "Style weight",
            "weirdnessConstraint": "Weirdness",
            "audioWeight": "Audio weight",
        }
        genders = {"m": "Male", "f": "Female"}
        return [
            (label, genders.get(str(self.payload[key]), str(self.payload[key])))
            for key, label in labels.items()
            if key in self.payload
        ]

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def has_failed(self) -> bool:
        """This run failed (its status may since have moved on to expired)."""
        return self.failed_at is not None

    @property
    def cover_url(self) -> str:
        """The first track's cover (reads prefetched tracks: no query per card)."""
        return next((url for track in self.tracks.all() if (url := track.cover_url)), "")

    @property
    def expiry(self) -> Expiry:
        """What to tell the owner about expiry now (the rules live in retention.py)."""
        from .retention import expiry_of

        return expiry_of(self)

    @property
    def steps(self) -> list[tuple[str, str]]:
        """Progress steps as (label, state) with state done / current / todo, for the bar."""
        if self.status in (Status.FAILED, Status.EXPIRED):
            reached = -1
        else:
            reached = PROGRESS.index(Status(self.status))
        labels = ("Queued", "Submitted", "Analysed", "First track", "Complete")
        states = []
        for index, label in enumerate(labels):
            if index < reached or (index == reached and self.status == Status.COMPLETE):
                states.append((label, "done"))
            elif index == reached:
                states.append((label, "current"))
            else:
                states.append((label, "todo"))
        return states


class Source(models.Model):
    """One of the two songs a mashup is made from: an uploaded file or a public URL."""

    mashup = models.ForeignKey(Mashup, on_delete=models.CASCADE, related_name="sources")
    position = models.PositiveSmallIntegerField()  # 1 or 2
    file = models.FileField(upload_to="sources/", blank=True, max_length=255)
    url = models.URLField(blank=True, max_length=2000)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    format_name = models.CharField(max_length=32, blank=True)
    duration = models.FloatField(null=True, blank=True)
    # For the remote provider, which must download uploaded sources from us.
    access_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)

    class Meta:
        ordering = ["mashup", "position"]
        constraints = [
            models.UniqueConstraint(fields=["mashup", "position"], name="one_source_per_position"),
            models.CheckConstraint(
                condition=~models.Q(file="") | ~models.Q(url=""), name="source_has_file_or_url"
            ),
        ]

    def __str__(self) -> str:
        return self.original_name or self.url or f"Source {self.position}"

    @property
    def label(self) -> str:
        return self.original_name or self.url


def track_upload_to(instance: Track, filename: str) -> str:
    return f"tracks/{instance.mashup_id}/{filename}"


class Track(models.Model):
    """One of the two results of a mashup, with our own copy of its files."""

    mashup = models.ForeignKey(Mashup, on_delete=models.CASCADE, related_name="tracks")
    position = models.PositiveSmallIntegerField()  # 1 or 2, in the provider's order
    provider_track_id = models.CharField(max_length=128, blank=True)
    title = models.CharField(max_length=200, blank=True)
    tags = models.TextField(blank=True)
    prompt = models.TextField(blank=True)
    model_name = models.CharField(max_length=32, blank=True)
    duration = models.FloatField(null=True, blank=True)
    # The provider's URLs: a fallback until our copy exists, and the early stream preview.
    audio_url = models.URLField(blank=True, max_length=2000)
    stream_audio_url = models.URLField(blank=True, max_length=2000)
    image_url = models.URLField(blank=True, max_length=2000)
    audio = models.FileField(upload_to=track_upload_to, blank=True, max_length=255)
    image = models.FileField(upload_to=track_upload_to, blank=True, max_length=255)
    provider_created_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["mashup", "position"]
        constraints = [
            models.UniqueConstraint(fields=["mashup", "position"], name="one_track_per_position")
        ]

    def __str__(self) -> str:
        return self.title or f"Track {self.position}"

    @property
    def is_final(self) -> bool:
        """Our own copy exists (or the provider's final audio, until it is copied)."""
        return bool(self.audio) or bool(self.audio_url)

    @property
    def play_url(self) -> str:
        """Our copy first; the provider's final audio, else its stream for an early preview."""
        if self.audio:
            return reverse("mashups:track_file", args=[self.mashup_id, self.position, "audio"])
        return self.audio_url or self.stream_audio_url

    @property
    def download_url(self) -> str:
        if self.audio:
            return self.play_url + "?download=1"
        return self.audio_url

    @property
    def cover_url(self) -> str:
        if self.image:
            return reverse("mashups:track_file", args=[self.mashup_id, self.position, "image"])
        return self.image_url


class SubmitSlot(models.Model):
    """One of the remote provider's submission slots (settings.MASHUP_SUBMIT_RATE of them).

    A submission takes a slot that has been free for a whole window; the conditional UPDATE
    that takes it is atomic in every database, so worker processes share one throttle
    (docs/api-contract.md, "Rate limits"; see pipeline.DatabaseSlots).
    """

    number = models.PositiveIntegerField(primary_key=True)
    taken_at = models.FloatField(default=0.0)  # seconds since the epoch, on the throttle's clock

    def __str__(self) -> str:
        return f"Submission slot {self.number}"
