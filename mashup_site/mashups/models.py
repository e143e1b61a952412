"""A mashup job, its two sources, and (once made) its tracks."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from mashup_site import providers
from mashup_site.engine import GIVEN_BPM, KEY_NAMES
from mashup_site.providers import contract, delivery
from mashup_site.providers.base import FollowUpKind, Status


def new_token() -> str:
    """An unguessable token (256 bits) for callback and source URLs."""
    return secrets.token_urlsafe(32)


FINAL_STATUSES = frozenset({Status.COMPLETE, Status.FAILED, Status.EXPIRED})
# Progress order; a job never moves to a lower rank (a late "first" after "complete").
PROGRESS = (Status.QUEUED, Status.SUBMITTED, Status.ANALYSED, Status.FIRST, Status.COMPLETE)
# How long a finished page keeps polling for our copies of the provider's files.
COPY_GRACE = timedelta(minutes=2)
# The progress bar's steps are narrower than the status badge.
STEP_LABELS = {Status.FIRST: "First track"}
STAGE_FIELDS = {
    Status.SUBMITTED: "submitted_at",
    Status.ANALYSED: "text_at",
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


# --- expiry: what to tell people (the sweeper is in retention.py) ---------------------------

WARNING_WITHIN = timedelta(days=3)
URGENT_WITHIN = timedelta(hours=24)


class Level(StrEnum):
    NONE = "none"  # not finished: nothing expires yet
    KEPT = "kept"  # staff keep it forever
    OK = "ok"
    WARNING = "warning"
    URGENT = "urgent"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Expiry:
    level: Level
    expires_at: datetime | None = None
    remaining: timedelta | None = None
    failed: bool = False  # an expired job that had failed: it had songs, never audio

    @property
    def message(self) -> str:
        if self.level == Level.KEPT:
            return "kept without expiry"
        if self.level == Level.EXPIRED:
            what = "uploaded songs have" if self.failed else "audio has"
            return f"expired: its {what} been deleted"
        if self.remaining is None:
            return ""
        text = f"expires in {humanize(self.remaining)}"
        return f"{text}: download it now" if self.level == Level.URGENT else text

    @property
    def is_expired(self) -> bool:
        return self.level == Level.EXPIRED

    @property
    def needs_attention(self) -> bool:
        return self.level in (Level.WARNING, Level.URGENT)


def expiry_of(mashup: Mashup, at: datetime | None = None) -> Expiry:
    """What to tell the owner about ``mashup`` at time ``at`` (boundaries are inclusive:
    exactly 3 days left is a warning, exactly 24 hours is urgent, exactly 0 is expired)."""
    if mashup.status == Status.EXPIRED:
        return Expiry(Level.EXPIRED, mashup.expires_at, failed=mashup.has_failed)
    if mashup.keep_forever:
        return Expiry(Level.KEPT)
    if mashup.expires_at is None or mashup.status == Status.FAILED:
        return Expiry(Level.NONE)  # a failed job has nothing to download; it can be retried
    remaining = mashup.expires_at - (at or timezone.now())
    if remaining <= timedelta(0):
        level = Level.EXPIRED
    elif remaining <= URGENT_WITHIN:
        level = Level.URGENT
    elif remaining <= WARNING_WITHIN:
        level = Level.WARNING
    else:
        level = Level.OK
    return Expiry(level, mashup.expires_at, remaining)


def humanize(remaining: timedelta) -> str:
    """5 days / 30 hours / 7 hours / 12 minutes. Days are rounded to the nearest day;
    hours and minutes round down, so an urgent warning never promises more time."""
    seconds = remaining.total_seconds()
    if seconds >= 2 * 86400:
        return _plural(round(seconds / 86400), "day")
    if seconds >= 3600:
        return _plural(int(seconds // 3600), "hour")
    return _plural(max(1, int(seconds // 60)), "minute")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


# --- the job ----------------------------------------------------------------------------------


class MashupQuerySet(models.QuerySet["Mashup"]):
    def owned_by(self, user: object) -> MashupQuerySet:
        return self.filter(owner=user)

    def in_progress(self) -> MashupQuerySet:
        return self.exclude(status__in=FINAL_STATUSES)

    def with_given(self) -> MashupQuerySet:
        """Each with ``tempo_given`` and ``key_given`` read in the same query
        (``Mashup.tempo_given``, ``Mashup.key_given``)."""
        songs = Source.objects.filter(mashup=models.OuterRef("pk"))
        return self.annotate(
            tempo_given=models.Exists(songs.filter(tempo_given__isnull=False)),
            key_given=models.Exists(songs.exclude(key_given="")),
        )

    def live(self) -> MashupQuerySet:
        """Mashups whose files retention may still delete (finished, not kept, not swept)."""
        return self.filter(keep_forever=False, expires_at__isnull=False).exclude(
            status=Status.EXPIRED
        )

    def due(self, at: datetime | None = None) -> MashupQuerySet:
        """Live mashups whose expiry has come (the sweeper's work)."""
        return self.live().filter(expires_at__lte=at or timezone.now())

    def expiring_within(self, within: timedelta, at: datetime | None = None) -> MashupQuerySet:
        """Complete mashups that expire within ``within``, soonest first."""
        moment = at or timezone.now()
        return (
            self.live()
            .filter(status=Status.COMPLETE)
            .filter(expires_at__gt=moment, expires_at__lte=moment + within)
            .order_by("expires_at")
        )


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

    provider = models.CharField(max_length=16, choices=providers.CHOICES, default="local")
    # Made again with the backing half a beat over (``tasks.enqueue_offbeat_remake``): the
    # local engine lays it on the offbeats of its beat grid. Not part of the API request.
    backing_offbeat = models.BooleanField("backing half a beat over", default=False)
    # The finished mashup this one was made again from (its songs and request).
    remade_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="remakes"
    )
    # How its uploaded songs reached a provider that downloads them (providers/delivery.py),
    # recorded at submission; empty for the local engine and until then.
    source_delivery = models.CharField(
        "source delivery", max_length=8, choices=delivery.CHOICES, blank=True
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    callback_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    provider_task_id = models.CharField(max_length=128, blank=True, db_index=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    # The request itself cannot be made (a song is silent, or has no beat to line up):
    # trying it again would fail the same way, so its owner is not offered to (staff may,
    # once the engine is mended), and is told so in these words.
    error_final = models.BooleanField("trying again would fail the same way", default=False)
    WOULD_REPEAT = (
        "Trying again would fail the same way, for the reason above: start a new mashup, "
        "with other songs or other choices."
    )
    analysis_text = models.TextField(blank=True)
    last_response = models.JSONField(null=True, blank=True)

    # How many requests this job cost at the provider (submit + polls), for staff.
    provider_requests = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    # When a worker last took the job (a lease, so a duplicate delivery does not run it twice).
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Which worker (``manage.py worker``: host, process, start) holds that lease: a worker
    # that stops hands its jobs back at once instead of leaving them to the lease's end.
    claimed_by = models.CharField(max_length=128, blank=True, default="")
    polls = models.PositiveIntegerField(default=0)
    # Trusted callbacks received: once they arrive, polling (the fallback) slows down.
    callbacks_received = models.PositiveIntegerField(default=0)
    # When this run was queued (created, or tried again): the give-up deadline counts from
    # here, whether or not a worker ever took it.
    queued_at = models.DateTimeField(default=timezone.now)
    # When its first task was last handed to the broker (None: never, e.g. the broker was
    # down); the reconciler hands it again when no worker took it in time.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # Workers that took this run (an inline job): one that died is counted when the next
    # takes it, and too many deaths end the job (``jobs.claim``).
    attempts = models.PositiveSmallIntegerField(default=0)

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

    @cached_property
    def tempo_given(self) -> bool:
        """Whether its owner gave a song's tempo (a remake, ``Source.tempo_given``); the
        gallery annotates it (``with_given``) instead of asking card by card."""
        return self.sources.filter(tempo_given__isnull=False).exists()

    @cached_property
    def key_given(self) -> bool:
        """Whether its owner gave a song's key (a remake, ``Source.key_given``); annotated
        alike."""
        return self.sources.exclude(key_given="").exists()

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

    def still_changing(self, tracks: list[Track]) -> bool:
        """Whether the job's page should keep updating: until it is final and, for a
        complete job, our copies of its tracks exist (or the copy had its chance)."""
        if not self.is_final:
            return True
        if self.status != Status.COMPLETE or self.completed_at is None:
            return False
        copied = all(track.audio for track in tracks if track.audio_url)
        return not copied and timezone.now() < self.completed_at + COPY_GRACE

    @property
    def cover_url(self) -> str:
        """The first track's cover (reads prefetched tracks: no query per card)."""
        return next((url for track in self.tracks.all() if (url := track.cover_url)), "")

    @property
    def expiry(self) -> Expiry:
        """What to tell the owner about expiry now."""
        return expiry_of(self)

    @property
    def steps(self) -> list[tuple[str, str]]:
        """Progress steps as (label, state) with state done / current / todo, for the bar."""
        if self.status in (Status.FAILED, Status.EXPIRED):
            reached = -1
        else:
            reached = PROGRESS.index(Status(self.status))
        states = []
        for index, step in enumerate(PROGRESS):
            label = STEP_LABELS.get(step, step.label)
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
    # Its copy on the provider's upload service (an upload, or a link the provider refused
    # to fetch), reused while the service keeps it (runner.HOSTED_FOR).
    hosted_url = models.URLField(blank=True, max_length=2000)
    hosted_at = models.DateTimeField(null=True, blank=True)
    # The tempo its owner gave when making a mashup again (``tasks.enqueue_given_remake``):
    # the local engine reads the song's beat at it. Not part of the API request.
    tempo_given = models.FloatField(
        "tempo given (BPM)",
        null=True,
        blank=True,
        validators=[MinValueValidator(GIVEN_BPM[0]), MaxValueValidator(GIVEN_BPM[1])],
    )
    # The key its owner gave when making a mashup again (``tasks.enqueue_given_remake``):
    # the local engine plans for it alone. Empty: as the engine hears it.
    key_given = models.CharField(
        "key given", max_length=9, blank=True, choices=[(name, name) for name in KEY_NAMES]
    )
    # The tempo the local engine read its beat at (the analysis's), shown where its owner
    # may give another (``forms.GivenForm``). Empty for a remote job: its API says none.
    tempo_heard = models.FloatField("tempo heard (BPM)", null=True, blank=True)
    # The key the local engine heard it in (the analysis's), shown where its owner may give
    # another (``forms.GivenForm``). Empty for a remote job: its API says none.
    key_heard = models.CharField("key heard", max_length=9, blank=True)
    # Whether the local engine heard a steady beat in it (or was given its tempo): one
    # without is laid by its own timing, and a half-beat remake moves nothing
    # (``tasks.remake_refusal``). Empty when not known: a remote job, or one made before.
    beat_heard = models.BooleanField("steady beat heard", null=True, blank=True)

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
    # Follow-ups (FollowUp): our copies of the vocals, the instrumental and the WAV (the
    # local engine keeps them with the render), the lyrics in time as lines
    # ({start, end, text, section}) and the waveform (peaks from 0 to 1).
    vocals = models.FileField(upload_to=track_upload_to, blank=True, max_length=255)
    instrumental = models.FileField(upload_to=track_upload_to, blank=True, max_length=255)
    wav = models.FileField(upload_to=track_upload_to, blank=True, max_length=255)
    lyrics = models.JSONField(default=list, blank=True)
    waveform = models.JSONField(default=list, blank=True)

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

    def file_url(self, name: str) -> str:
        """Our copy of a follow-up's file ("vocals", "instrumental", "wav"), or ""."""
        if not getattr(self, name):
            return ""
        return reverse("mashups:track_file", args=[self.mashup_id, self.position, name])

    @property
    def kept(self) -> frozenset[str]:
        """The follow-up files this track holds."""
        return frozenset(name for name in FOLLOW_UP_FILES_ALL if getattr(self, name))


FOLLOW_UP_FILES_ALL = ("vocals", "instrumental", "wav")


class FollowUpQuerySet(models.QuerySet["FollowUp"]):
    def live(self) -> FollowUpQuerySet:
        """Not failed: at most one per track and kind (a failed one may be asked again)."""
        return self.exclude(status=Status.FAILED)

    def in_progress(self) -> FollowUpQuerySet:
        return self.exclude(status__in=FINAL_STATUSES)


class FollowUp(models.Model):
    """One follow-up on a finished track (vocals and instrumental, WAV, lyrics in time): a
    job of its own, through the same pipeline as mashups (runner.start_follow_up)."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="follow_ups")
    kind = models.CharField(max_length=16, choices=FollowUpKind.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    callback_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    provider_task_id = models.CharField(max_length=128, blank=True, db_index=True)
    # For the person: why it failed, or a notice while it waits.
    message = models.TextField(blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    last_response = models.JSONField(null=True, blank=True)
    # Workers that took it (a transient refusal is tried again, at most MASHUP_MAX_ATTEMPTS).
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_requests = models.PositiveIntegerField(default=0)
    # The provider's balance before and after (for staff: what it cost, in credits).
    credits_before = models.IntegerField(null=True, blank=True)
    cost_credits = models.IntegerField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["track", "kind", "-created_at"]
        constraints = [
            # A double click or two parallel posts never start it twice (jobs.ask_follow_up
            # also locks the track's row): one per track and kind that has not failed.
            models.UniqueConstraint(
                fields=["track", "kind"],
                condition=~models.Q(status="failed"),
                name="one_live_follow_up_per_track_and_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.track}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class Start(models.Model):
    """One job started by a person (created, or tried again): the daily limit counts these,
    so that "Try again", a new paid submission, counts too (``quotas.over_daily_limit``)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mashup_starts"
    )
    mashup = models.ForeignKey(Mashup, on_delete=models.SET_NULL, null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["owner", "-at"])]

    def __str__(self) -> str:
        return f"Start of {self.mashup_id} at {self.at}"


# A "kept upload" (an upload stored during a refused submit, so it need not be sent again)
# may be used for this long after it was kept (the form's signed token says so); the
# sweeper deletes its file a grace period later, unless a job uses it by then.
KEPT_FOR = timedelta(days=1)
KEPT_GRACE = timedelta(hours=1)
# A person's kept uploads past their newest KEPT_PER_PERSON are let go at once: two
# refused forms' songs (a form sent again renews its own); without a cap, refused submits
# of new songs could fill the disk, a day at a time.
KEPT_PER_PERSON = 4


class KeptFileQuerySet(models.QuerySet["KeptFile"]):
    def note(self, name: str, owner_id: object = None) -> None:
        """Record (or renew) that a token of the person ``owner_id`` now points to the
        stored file ``name``."""
        self.update_or_create(name=name, defaults={"kept_at": timezone.now(), "owner_id": owner_id})

    def fresh(self, at: datetime | None = None) -> KeptFileQuerySet:
        """Records whose tokens may still be used (or only just stopped being usable)."""
        return self.filter(kept_at__gt=(at or timezone.now()) - KEPT_FOR - KEPT_GRACE)

    def stale(self, at: datetime | None = None) -> KeptFileQuerySet:
        return self.filter(kept_at__lte=(at or timezone.now()) - KEPT_FOR - KEPT_GRACE)


class KeptFile(models.Model):
    """An upload stored for a "kept upload" token (``forms.KeptUpload``). Uploads are stored
    by content, once, and a token is only a signed note in a person's form: without this
    record nothing would know the file is waiting, and a refused submit that is never sent
    again would hold its songs forever. The sweeper (``retention.sweep_kept``) deletes the
    file of a stale record unless a job uses it."""

    name = models.CharField(max_length=255, unique=True)  # the storage name
    kept_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Whose token points to it last (``KEPT_PER_PERSON``); none for records from before.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    objects = KeptFileQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} kept at {self.kept_at}"


class UploadLockQuerySet(models.QuerySet["UploadLock"]):
    def hold(self, name: str) -> None:
        """Lock the stored upload ``name`` until the transaction ends (a row lock; SQLite's
        IMMEDIATE transactions are serialised anyway). A lock row deleted by the holder
        before ours was granted is made again."""
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("an upload's lock is held by a transaction")
        while True:
            self.bulk_create([self.model(name=name)], ignore_conflicts=True)
            if self.select_for_update().filter(name=name).exists():
                return


class UploadLock(models.Model):
    """The lock of one content-addressed upload (``storage.store_content_addressed``).
    Uploads are stored once per content and shared, so storing one (it exists: reuse it;
    then a row points to it) and deleting one (no row points to it: delete the file) must
    not interleave, or a new job's song is deleted under it. Both hold this row's lock
    from their check to their commit. Deleting the upload deletes its row."""

    name = models.CharField(max_length=255, primary_key=True)  # the storage name

    objects = UploadLockQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class SubmitSlotQuerySet(models.QuerySet["SubmitSlot"]):
    def take(self, now: float, per: float, rate: int) -> float:
        """The throttle's window in the database, shared by every worker process (a
        ``providers.throttle.SlotStore``): take a slot free for a whole window, or say how
        long until one is. Taking one is a conditional UPDATE (atomic in SQLite and
        PostgreSQL), so two processes never take the same slot."""
        self.bulk_create([self.model(number=n) for n in range(rate)], ignore_conflicts=True)
        slots = self.filter(number__lt=rate)
        for number in slots.filter(taken_at__lte=now - per).values_list("number", flat=True):
            if slots.filter(number=number, taken_at__lte=now - per).update(taken_at=now):
                return 0.0
        oldest = min(slots.values_list("taken_at", flat=True))
        return max(oldest + per - now, 0.001)


class SubmitSlot(models.Model):
    """One of the remote provider's submission slots (settings.MASHUP_SUBMIT_RATE of them).

    A submission takes a slot that has been free for a whole window; the conditional UPDATE
    that takes it is atomic in every database, so worker processes share one throttle
    (docs/api-contract.md, "Rate limits"; see ``SubmitSlotQuerySet.take``).
    """

    number = models.PositiveIntegerField(primary_key=True)
    taken_at = models.FloatField(default=0.0)  # seconds since the epoch, on the throttle's clock

    objects = SubmitSlotQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Submission slot {self.number}"


class CallbackStampQuerySet(models.QuerySet["CallbackStamp"]):
    def first_use(self, task_id: str, stamp: int, *, keep_seconds: float) -> bool:
        """Record a signed callback's (task, timestamp); False when it was seen before (a
        replay: kie.ai's signature covers only ``taskId.timestamp``, not the body). Stamps
        older than the signature's freshness window can no longer be replayed: forgotten."""
        self.filter(seen_at__lt=timezone.now() - timedelta(seconds=keep_seconds)).delete()
        _, created = self.get_or_create(task_id=task_id, stamp=stamp)
        return created


class CallbackStamp(models.Model):
    """A signed callback's timestamp, used once (docs/api-contract.md, "Callback")."""

    task_id = models.CharField(max_length=128)
    stamp = models.BigIntegerField()
    seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = CallbackStampQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task_id", "stamp"], name="one_use_per_signed_stamp")
        ]

    def __str__(self) -> str:
        return f"{self.task_id} at {self.stamp}"


def ensure_schedule(name: str, func: str, minutes: int, using: str = "default") -> None:
    """A django-q2 schedule that runs ``func`` every ``minutes``, created once: an existing
    one (maybe edited by staff in the admin) is kept as it is. The app's schedules are made
    after ``migrate`` (post_migrate handlers in apps.py)."""
    from django_q.models import Schedule

    Schedule.objects.using(using).get_or_create(
        name=name,
        defaults={
            "func": func,
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
        },
    )
