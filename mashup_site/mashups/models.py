"""A mashup job, its two sources, and (once made) its tracks."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

from . import rules


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
    model = models.CharField(max_length=16, choices=[(m, m) for m in rules.MODELS])
    title = models.CharField(max_length=rules.MODELS[rules.DEFAULT_MODEL].title_max, blank=True)
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

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

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
