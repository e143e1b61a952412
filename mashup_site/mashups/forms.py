"""The app's forms (every input goes through one: docs/design.md, rule 3).

``MashupForm``, the create form: the API's fields under the API's own names, checked by
``providers.contract``.

The form shapes input (types, which fields the mode shows, the two sources) and leaves
every API rule to ``contract.validate``, so the form and the rules cannot disagree. A field a
mode does not use is removed from the form, not hidden: it is not rendered and not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.forms import BoundField
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from mashup_site import providers
from mashup_site.engine import GIVEN_BPM, KEY_NAMES
from mashup_site.engine.analysis import camelot
from mashup_site.engine.key import parse_key_name
from mashup_site.engine.probe import NotAudioError, format_duration, probe_audio
from mashup_site.providers import contract, download

from . import quotas
from .jobs import Given, Givens
from .models import KEPT_FOR, KeptFile, Mashup, Source, Status
from .storage import (
    hold_stored,
    in_use,
    release_kept_beyond,
    sha256_of,
    store_content_addressed,
)

SOURCE_POSITIONS = (1, 2)
# What a person typed in a field that the current mode hides travels along as
# "stash-<field>", so switching mode back and forth loses nothing; the API field itself
# stays absent from the request.
STASHABLE = ("prompt", "style", "title", "vocalGender")
STASH_PREFIX = "stash-"
KEPT_MAX_AGE = int(KEPT_FOR.total_seconds())  # a kept upload may be reused for a day


@dataclass(frozen=True)
class KeptUpload:
    """A source stored during an earlier, invalid submit, so it need not be sent again."""

    name: str  # storage name
    original_name: str
    sha256: str
    size: int
    format_name: str
    duration: float

    def source_fields(self) -> dict[str, object]:
        """The Source model fields this file fills."""
        return {
            "file": self.name,
            "original_name": self.original_name,
            "sha256": self.sha256,
            "size": self.size,
            "format_name": self.format_name,
            "duration": self.duration,
        }

    def sign(self, user_id: object) -> str:
        return signing.dumps(self.__dict__, salt=f"kept-upload:{user_id}", compress=True)

    @classmethod
    def load(cls, token: str, user_id: object) -> KeptUpload | None:
        try:
            data = signing.loads(token, salt=f"kept-upload:{user_id}", max_age=KEPT_MAX_AGE)
            return cls(**data)
        except (signing.BadSignature, TypeError):
            return None


class KeptUploadGone(Exception):
    """A song kept by an earlier refused submit was let go (``storage.release_kept_beyond``,
    or the sweeper) between the form's check and the job's rows; its text is for the
    person."""

    def __init__(self, position: int) -> None:
        super().__init__(lost_kept_message(position))


def lost_kept_message(position: int) -> str:
    return f"The file you chose for song {position} is no longer kept: choose it again."


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that decoded as audio, ready to be stored."""

    file: UploadedFile
    format_name: str
    duration: float

    @cached_property
    def digest(self) -> str:
        return sha256_of(self.file)

    def store(self) -> KeptUpload:
        original = self.file.name or ""
        stored = store_content_addressed(
            self.file, prefix="sources", format_name=self.format_name, digest=self.digest
        )
        return KeptUpload(
            name=stored.name,
            original_name=original,
            sha256=stored.sha256,
            size=stored.size,
            format_name=self.format_name,
            duration=self.duration,
        )


class ApiTextField(forms.CharField):
    """Text counted as the person sees it and as the API receives it.

    Browsers submit a textarea's line breaks as CRLF (HTML, "textarea element": the
    form-submission value normalises newlines to CRLF) while its ``value``, which the
    counters read, has one LF per line break. Normalising to LF keeps "used / limit"
    truthful: 3000 characters of lyrics with 80 line breaks are 3000, not 3080.
    """

    def to_python(self, value: Any) -> str:
        return normalize_newlines(super().to_python(value) or "")


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _model_choices() -> list[tuple[str, str]]:
    return [(m.name, m.label) for m in contract.MODELS.values()]


def _switch_attrs() -> dict[str, str]:
    # Marks the controls whose change re-renders the field group (see create.html).
    return {"class": "js-switch"}


class MashupForm(forms.Form):
    """One form for both modes; ``__init__`` keeps only the fields of the chosen mode."""

    customMode = forms.BooleanField(
        required=False,
        label="Custom mode",
        help_text="Write your own lyrics, style and title. Off: describe an idea.",
        widget=forms.CheckboxInput(attrs=_switch_attrs()),
    )
    model = forms.ChoiceField(
        choices=_model_choices,
        initial=contract.DEFAULT_MODEL,
        widget=forms.Select(attrs=_switch_attrs()),
    )
    instrumental = forms.BooleanField(
        required=False,
        help_text="No vocals in the result.",
        widget=forms.CheckboxInput(attrs=_switch_attrs()),
    )
    prompt = ApiTextField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 4}))
    style = ApiTextField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2}))
    title = ApiTextField(required=False, strip=False)
    vocalGender = forms.ChoiceField(
        required=False,
        label="Vocal gender",
        choices=[("", "No preference"), ("m", "Male"), ("f", "Female")],
        widget=forms.RadioSelect,
        help_text="Only raises the chance of that voice.",
    )
    styleWeight = forms.DecimalField(required=False, label="Style weight")
    weirdnessConstraint = forms.DecimalField(required=False, label="Weirdness")
    audioWeight = forms.DecimalField(required=False, label="Audio weight")

    audio1 = forms.FileField(required=False, label="Song 1: audio file")
    url1 = forms.URLField(required=False, label="…or a public URL", assume_scheme="https")
    kept1 = forms.CharField(required=False, widget=forms.HiddenInput)
    audio2 = forms.FileField(required=False, label="Song 2: audio file")
    url2 = forms.URLField(required=False, label="…or a public URL", assume_scheme="https")
    kept2 = forms.CharField(required=False, widget=forms.HiddenInput)

    WEIGHT_HELP = {
        "styleWeight": "How strongly the style is followed.",
        "weirdnessConstraint": "How adventurous the result may be.",
        "audioWeight": "How much the result keeps of the source audio.",
    }

    def __init__(self, *args: Any, user_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_id = user_id
        # The values the mode is read from: posted data, or the initial values of a form
        # re-rendered for a mode switch (which judges nothing, so shows no errors).
        if self.is_bound:
            self.data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict: mutable copy
        else:
            self.initial = dict(self.initial)
        # A plain dict either way: mode switches write stashed values back into it.
        self.values: dict[str, Any] = self.data if self.is_bound else self.initial  # type: ignore[assignment]
        self.custom_mode = self._flag("customMode")
        self.is_instrumental = self._flag("instrumental")
        self.model_name = self._choice("model")
        visible = set(contract.visible_fields(self.custom_mode, self.is_instrumental))
        for name in (*contract.CUSTOM_FIELDS,):
            if name not in visible and name in self.fields:
                del self.fields[name]
        self.stash = self._restore_stash()
        self.limits = {
            name: limit
            for name, limit in contract.text_limits(self.custom_mode, self.model_name).items()
            if name in self.fields
        }
        self.required_names = set(contract.required_fields(self.custom_mode, self.is_instrumental))
        self._decorate_fields()
        self.checked: dict[int, CheckedUpload] = {}
        self.lost: set[int] = set()  # songs whose kept upload went (``_kept``)
        self.kept: dict[int, KeptUpload] = {
            position: kept for position in SOURCE_POSITIONS if (kept := self._kept(position))
        }

    # --- reading the mode before validation --------------------------------------------

    def _flag(self, name: str) -> bool:
        return bool(self.fields[name].widget.value_from_datadict(self.values, {}, name))

    def _choice(self, name: str) -> str:
        value = self.values.get(name)
        return value if value in contract.MODELS else contract.DEFAULT_MODEL

    def _restore_stash(self) -> dict[str, str]:
        """Refill visible fields from their stash; return what hidden fields hold."""
        hidden = {}
        for name in STASHABLE:
            value = self.values.get(name) or self.values.get(STASH_PREFIX + name) or ""
            if name in self.fields:
                if not self.values.get(name) and value:
                    self.values[name] = value
            elif value:
                hidden[STASH_PREFIX + name] = value
        return hidden

    # (the provider sings, custom mode) -> what becomes of the idea or the lyrics
    PROMPT_HELP = {
        (True, True): "Sung as written.",
        (True, False): "Describe the mashup you want; lyrics are written from it.",
        (False, True): (
            "Kept with the tracks as their words: our own engine layers the two songs and "
            "does not sing."
        ),
        (False, False): (
            "Describe the mashup you want; it is kept with the tracks. Our own engine layers "
            "the two songs and does not sing."
        ),
    }

    @property
    def sings(self) -> bool:
        """Whether the provider new mashups go to writes and sings words (the local engine
        layers the songs: words it is given are kept, not sung)."""
        return settings.MASHUP_PROVIDER != "local"

    def _decorate_fields(self) -> None:
        if "prompt" in self.fields:
            self.fields["prompt"].label = "Lyrics" if self.custom_mode else "Idea"
            self.fields["prompt"].help_text = self.PROMPT_HELP[self.sings, self.custom_mode]
        if "style" in self.fields:
            self.fields["style"].help_text = "Genres, moods, instruments: e.g. lofi, jazz, warm."
        for name, limit in self.limits.items():
            field = self.fields[name]
            field.widget.attrs.update(
                {"data-limit": str(limit), "aria-describedby": f"count-{name}"}
            )
            if name in self.required_names:
                field.widget.attrs["required"] = True
                field.label_suffix = " *"
        for name, text in self.WEIGHT_HELP.items():
            if name in self.fields:
                self.fields[name].help_text = text
        model = contract.model_rules(self.model_name)
        longest = format_duration(model.max_seconds)
        self.fields["model"].help_text = f"Songs up to {longest} with {model.name}."

    # --- validation ----------------------------------------------------------------------

    def payload(self) -> dict[str, object]:
        """The API request body (minus uploadUrlList/callBackUrl) built from cleaned data."""
        data = self.cleaned_data
        weights = {
            name: data.get(name) for name in contract.WEIGHT_FIELDS if self._weight_is_set(name)
        }
        return contract.build_payload(
            custom_mode=self.custom_mode,
            model=data.get("model") or self.model_name,
            instrumental=self.is_instrumental,
            prompt=data.get("prompt") or "",
            style=data.get("style") or "",
            title=data.get("title") or "",
            vocal_gender=data.get("vocalGender") or "",
            weights=weights,
        )

    def _weight_is_set(self, name: str) -> bool:
        # A range input always sends a value; the weight is only sent when it was turned on.
        return name in self.fields and bool(self.values.get(f"use_{name}"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A field that could not even be parsed (a weight of "abc") already says why.
        if not any(name in self.errors for name in contract.CUSTOM_FIELDS):
            self._apply_rules()
        self._clean_sources()
        if refusal := self.refusal():
            self.add_error(None, refusal)  # a clear message, never a queued job
        return cleaned

    def refusal(self) -> str:
        """The first of the person's quotas a new job would break, or "" (quotas.py)."""
        return quotas.refusal(self.user_id)

    def _apply_rules(self) -> None:
        payload = self.payload()
        payload.update(self._stray_fields())
        for field, messages in contract.validate(payload, require_sources=False).items():
            for message in messages:
                if field in self.fields:
                    self.add_error(field, message)
                else:
                    self.add_error(None, f"{field}: {message}")

    def _stray_fields(self) -> dict[str, object]:
        """API fields posted that this mode does not show, for ``validate`` to judge.

        Custom-only fields in simple mode are rejected; lyrics sent with a custom
        instrumental are checked against their limit and then left out of the request.
        """
        return {
            name: normalize_newlines(value) if isinstance(value, str) else value
            for name in contract.CUSTOM_FIELDS
            if name not in self.fields and (value := self.values.get(name)) not in (None, "")
        }

    def _clean_sources(self) -> None:
        max_seconds = contract.model_rules(self.model_name).max_seconds
        for position in SOURCE_POSITIONS:
            upload = self.cleaned_data.get(f"audio{position}")
            url = self.cleaned_data.get(f"url{position}") or ""
            if upload and url:
                self.add_error(f"url{position}", "Give a file or a URL for this song, not both.")
            elif upload:
                self._check_upload(position, upload, max_seconds)
            elif url:
                self._check_url(position, url)
            elif kept := self.kept.get(position):
                self._check_duration(position, f"audio{position}", kept.duration, max_seconds)
            elif f"url{position}" not in self.errors and f"audio{position}" not in self.errors:
                self.add_error(
                    f"audio{position}",
                    lost_kept_message(position)
                    if position in self.lost
                    else f"Choose an audio file or give a URL for song {position}.",
                )
        self._refuse_one_song_twice()

    def _refuse_one_song_twice(self) -> None:
        """The same file (by its content) or the same link for both songs: a mashup of a
        song with itself is the song, louder, and would spend a start for nothing."""
        first, second = (self._song_identity(position) for position in SOURCE_POSITIONS)
        if first is None or first != second:
            return
        kind, _ = second
        field = "url2" if kind == "link" else "audio2"
        self.add_error(
            field, f"This is the same {kind} as song 1: a mashup needs two different songs."
        )
        # Song 2 is the one to choose again: its copy is not kept for the next submit.
        self.checked.pop(2, None)
        self.kept.pop(2, None)
        self.values.pop("kept2", None)

    def _song_identity(self, position: int) -> tuple[str, str] | None:
        """("file", its SHA-256) or ("link", the address as typed, its scheme and host in
        lower case, without a default port or a #fragment, which the server never sees)
        for a song that passed its own checks; None for one that did not."""
        if f"audio{position}" in self.errors or f"url{position}" in self.errors:
            return None
        if checked := self.checked.get(position):
            return ("file", checked.digest)
        if url := self.cleaned_data.get(f"url{position}"):
            parts = urlsplit(url.strip())
            scheme, host = parts.scheme.lower(), parts.netloc.lower()
            host = host.removesuffix({"http": ":80", "https": ":443"}.get(scheme, ""))
            return ("link", parts._replace(scheme=scheme, netloc=host, fragment="").geturl())
        if kept := self.kept.get(position):
            return ("file", kept.sha256)
        return None

    def _kept(self, position: int) -> KeptUpload | None:
        """The upload an earlier refused submit kept for this song, while it is kept (a
        job, or a fresh token, holds its file: ``storage.in_use``); a token that no longer
        keeps one is noted in ``lost``, for its message, and forgotten."""
        token = self.values.get(f"kept{position}")
        if not token:
            return None
        kept = KeptUpload.load(token, self.user_id)
        if kept is None or not in_use(kept.name):
            self.lost.add(position)
            self.values.pop(f"kept{position}", None)
            return None
        return kept

    def _check_url(self, position: int, url: str) -> None:
        if not url.lower().startswith(("http://", "https://")):
            self.add_error(f"url{position}", "Use an http:// or https:// address.")
            return
        try:  # no DNS here: the worker checks every address the link resolves to
            download.check_public(url, resolver=download.literal_only)
        except download.DownloadError as error:
            self.add_error(
                f"url{position}", f"{capfirst(str(error))}. Give a public link, or upload the file."
            )

    def _check_upload(self, position: int, upload: UploadedFile, max_seconds: int) -> None:
        field = f"audio{position}"
        limit_mb = settings.UPLOAD_MAX_MB
        if upload.size is not None and upload.size > limit_mb * 1024 * 1024:
            size_mb = upload.size / (1024 * 1024)
            self.add_error(field, f"This file is {size_mb:.0f} MB; the limit is {limit_mb} MB.")
            return
        try:
            info = probe_audio(upload.temporary_file_path())  # type: ignore[attr-defined]
        except NotAudioError as error:
            self.add_error(field, f"{upload.name}: {error}")
            return
        if self._check_duration(position, field, info.duration, max_seconds):
            self.checked[position] = CheckedUpload(upload, info.format_name, info.duration)

    def _check_duration(self, position: int, field: str, duration: float, max_seconds: int) -> bool:
        if duration > max_seconds:
            self.add_error(
                field,
                f"{format_duration(duration)} is longer than the {format_duration(max_seconds)} "
                f"that {self.model_name} accepts.",
            )
            return False
        # The local engine needs some bars to line up; say so now rather than fail the job.
        min_seconds = providers.get(settings.MASHUP_PROVIDER).min_seconds
        if duration < min_seconds:
            self.add_error(
                field,
                f"This song is {duration:.1f} s long; a mashup needs at least "
                f"{min_seconds:.0f} s of each song.",
            )
            return False
        return True

    # --- saving ----------------------------------------------------------------------------

    def keep_checked_uploads(self) -> None:
        """After an invalid submit, store the uploads that passed, so they are not resent,
        and record them: a token that is never used again leaves its file to the sweeper,
        and the person's oldest kept uploads past KEPT_PER_PERSON go at once."""
        for position, checked in self.checked.items():
            with transaction.atomic():  # stored and recorded under the upload's lock
                kept = checked.store()
                KeptFile.objects.note(kept.name, self.user_id)
            self.kept[position] = kept
            self.values[f"kept{position}"] = kept.sign(self.user_id)
        if self.checked:
            release_kept_beyond(self.user_id)

    @transaction.atomic
    def save(self, owner: Any, *, provider: str) -> Mashup:
        """The job and its two sources, in one transaction (only on a valid form); raises
        ``quotas.Refused`` when a parallel submit took the person's last place meanwhile,
        and ``KeptUploadGone`` when a kept song was let go since the form was checked."""
        start = quotas.start(owner.pk)  # under the person's row lock until commit
        payload = self.payload()
        mashup = Mashup.objects.create(
            owner=owner,
            payload=payload,
            custom_mode=self.custom_mode,
            instrumental=self.is_instrumental,
            model=str(payload["model"]),
            title=str(payload.get("title", "")),
            style=str(payload.get("style", "")),
            prompt=str(payload.get("prompt", "")),
            provider=provider,
        )
        # Each upload's lock is held until commit (storage.store_content_addressed, and
        # storage.hold_stored for a kept one, which a refused submit in another tab may
        # have let go since the form was checked): taken in one order, by content, so two
        # submits of the same two songs cannot deadlock.
        kept = {
            position: upload
            for position, upload in self.kept.items()
            if position not in self.checked and not self.cleaned_data.get(f"url{position}")
        }
        by_content = sorted(
            [(checked.digest, position) for position, checked in self.checked.items()]
            + [(upload.sha256, position) for position, upload in kept.items()]
        )
        stored: dict[int, KeptUpload] = {}
        for _, position in by_content:
            if position in self.checked:
                stored[position] = self.checked[position].store()
            elif hold_stored(kept[position].name):
                stored[position] = kept[position]
            else:
                raise KeptUploadGone(position)
        for position in SOURCE_POSITIONS:
            fields = self._source_fields(position, stored)
            Source.objects.create(mashup=mashup, position=position, **fields)
        start.mashup = mashup
        start.save(update_fields=["mashup"])
        return mashup

    def _source_fields(self, position: int, stored: dict[int, KeptUpload]) -> dict[str, object]:
        """A song is the file sent now, or the one kept for it, or else its link."""
        if upload := stored.get(position):
            return upload.source_fields()
        return {"url": self.cleaned_data[f"url{position}"]}

    # --- presentation helpers ------------------------------------------------------------

    @property
    def source_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "position": position,
                "audio": self[f"audio{position}"],
                "url": self[f"url{position}"],
                "kept": self[f"kept{position}"],
                "kept_label": self._kept_label(position),
            }
            for position in SOURCE_POSITIONS
        ]

    @property
    def text_rows(self) -> list[tuple[BoundField, int, int]]:
        """(field, limit, characters used), counted as the counters count."""
        return [
            (self[name], limit, len(normalize_newlines(str(self[name].value() or ""))))
            for name, limit in self.limits.items()
        ]

    @property
    def weight_rows(self) -> list[tuple[BoundField, Decimal, bool]]:
        values = weight_values(self)
        return [(self[name], value, self._weight_is_set(name)) for name, value in values.items()]

    def _kept_label(self, position: int) -> str:
        kept = self.kept.get(position)
        if not kept:
            return ""
        return format_html(
            "Keeping <strong>{}</strong> ({}, {}). Choose another file to replace it.",
            kept.original_name,
            kept.format_name,
            format_duration(kept.duration),
        )


def weight_values(form: MashupForm) -> dict[str, Decimal]:
    """Current slider values (for rendering their numbers), defaulting to the middle."""
    values: dict[str, Decimal] = {}
    for name in contract.WEIGHT_FIELDS:
        if name in form.fields:
            raw = form[name].value()
            try:
                values[name] = Decimal(str(raw)) if raw not in (None, "") else Decimal("0.5")
            except ArithmeticError:
                values[name] = Decimal("0.5")
    return values


# --- the gallery's search, status filter and page number: a GET form -------------------------

IN_PROGRESS = "active"
STATUS_CHOICES = [
    ("", "Any status"),
    (IN_PROGRESS, "In progress"),
    (Status.COMPLETE, "Complete"),
    (Status.FAILED, "Failed"),
    (Status.EXPIRED, "Expired"),
]


class GalleryFilter(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.SearchInput(
            attrs={"placeholder": "Search titles, styles and ideas", "autocomplete": "off"}
        ),
    )
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label="Status")
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def filter(self, mashups: QuerySet[Mashup]) -> QuerySet[Mashup]:
        """The mashups that match what is valid of the filter: a field a hand-edited URL
        spoiled (a page "abc", a status of none) is left out, the others still hold."""
        if words := self._valid("q").split():
            for word in words:  # every word must match somewhere
                mashups = mashups.filter(
                    Q(title__icontains=word) | Q(style__icontains=word) | Q(prompt__icontains=word)
                )
        status = self._valid("status")
        if status == IN_PROGRESS:
            mashups = mashups.in_progress()  # type: ignore[attr-defined]
        elif status:
            mashups = mashups.filter(status=status)
        return mashups

    def _valid(self, name: str) -> Any:
        """The field's cleaned value, or "" / None when it did not validate."""
        self.is_valid()  # cleans every field: cleaned_data keeps the valid ones
        return getattr(self, "cleaned_data", {}).get(name, None if name == "page" else "")

    @property
    def is_filtering(self) -> bool:
        return bool(self._valid("q") or self._valid("status"))

    @property
    def page_number(self) -> int:
        return self._valid("page") or 1


# A beat heard at the wrong level is most often heard at half or double the song's tempo,
# in threes where it counts in twos (or the reverse), or a bar a beat (a fast waltz): the
# tempi offered to give for a song are the tempo heard (or given) at those relations.
TEMPO_RELATIVES = (
    (1 / 3, "a third of the tempo {word}"),
    (0.5, "half the tempo {word}"),
    (2 / 3, "two thirds of the tempo {word}"),
    (1.5, "one and a half times the tempo {word}"),
    (2.0, "double the tempo {word}"),
    (3.0, "three times the tempo {word} (a waltz heard one to the bar)"),
)


class SuggestingNumberInput(forms.NumberInput):
    """A number input with values to pick from (a ``<datalist>``: the browser offers them
    as the person types or opens the field, and any other value can still be typed)."""

    def __init__(self, attrs: dict[str, Any] | None = None, suggestions: tuple = ()) -> None:
        super().__init__(attrs)
        self.suggestions = suggestions  # (value, label) pairs

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        if not self.suggestions or not attrs or "id" not in attrs:
            return super().render(name, value, attrs, renderer)
        listed = f"{attrs['id']}_suggestions"
        field = super().render(name, value, {**attrs, "list": listed}, renderer)
        options = format_html_join("", '<option value="{}" label="{}"></option>', self.suggestions)
        return format_html('{}<datalist id="{}">{}</datalist>', field, listed, options)


def tempo_suggestions(tempo: float | None, word: str = "heard") -> tuple[tuple[str, str], ...]:
    """(value, label) of the tempi to offer for a song whose beat was ``word`` ("heard",
    "given") at ``tempo`` BPM: its relatives within the tempi a person may give, slowest
    first (none for a song without a beat heard)."""
    if not tempo:
        return ()
    low, high = GIVEN_BPM
    relatives = ((round(tempo * factor, 1), label) for factor, label in TEMPO_RELATIVES)
    return tuple(
        (f"{value:g}", label.format(word=word))
        for value, label in relatives
        if low <= value <= high
    )


def with_camelot(name: str) -> str:
    """A key's name with its Camelot code, as the analysis names keys: "A minor (8A)"."""
    return f"{name} ({camelot(*parse_key_name(name))})"


def key_choices(heard: str = "") -> list[tuple[str, Any]]:
    """The keys a person may give a song, majors then minors, after "as heard" (naming the
    key ``heard``, when known)."""

    def named(mode: str) -> list[tuple[str, str]]:
        return [(name, with_camelot(name)) for name in KEY_NAMES if name.endswith(mode)]

    first = f"As heard: {with_camelot(heard)}" if heard in KEY_NAMES else "As heard"
    return [("", first), ("Major keys", named("major")), ("Minor keys", named("minor"))]


class GivenForm(forms.Form):
    """What its owner knows of each song of a finished mashup, to make it again with it
    (``tasks.enqueue_given_remake``): the tempo, at which its beat is read, for a beat
    the engine heard at half, double or two thirds of the song's (benchmarks/
    engine_accuracy.py measures how often); the key, which each backing is shifted from or
    to, for a key it heard a fifth away, relative or parallel (benchmarks/engine_ears.py).
    Left empty, a song's beat and key are heard by ear."""

    HELP = (
        "In beats per minute, {low:g} to {high:g}{listed}. Leave it empty to let the engine "
        "read it."
    )
    LISTED = " (its list suggests {tempi} BPM)"
    KEY_HELP = "Each backing is shifted to suit the keys you give."

    def __init__(
        self, *args: Any, mashup: Mashup, sources: list[Source] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.mashup = mashup
        low, high = GIVEN_BPM
        sources = list(mashup.sources.order_by("position")) if sources is None else sources
        self.sources = sources
        self.before = tuple(Given.of(source) for source in sources)
        for source, (given, key) in zip(sources, self.before, strict=True):
            # A remake's song was laid at the tempo given: the form starts from it, and its
            # list offers the tempo given's relatives (the placeholder, the tempo heard).
            word = "heard" if given is None else "given"
            suggestions = tempo_suggestions(given or source.tempo_heard, word)
            values = [value for value, _ in suggestions]
            listed = " or ".join(filter(None, (", ".join(values[:-1]), *values[-1:])))
            self.fields[f"tempo_{source.position}"] = forms.FloatField(
                required=False,
                min_value=low,
                max_value=high,
                initial=given,
                label="Tempo",
                help_text=self.HELP.format(
                    low=low, high=high, listed=self.LISTED.format(tempi=listed) if values else ""
                ),
                widget=SuggestingNumberInput(
                    attrs={
                        "step": "0.1",
                        "inputmode": "decimal",
                        "placeholder": self._placeholder(source),
                    },
                    suggestions=suggestions,
                ),
            )
            self.fields[f"key_{source.position}"] = forms.ChoiceField(
                required=False,
                choices=key_choices(source.key_heard),
                initial=key,
                label="Key",
                help_text=self.KEY_HELP,
            )

    @property
    def songs(self) -> list[tuple[Source, list[forms.BoundField]]]:
        """Each song with its fields (tempo, key), for a fieldset each."""
        return [
            (source, [self[f"tempo_{source.position}"], self[f"key_{source.position}"]])
            for source in self.sources
        ]

    @staticmethod
    def _placeholder(source: Source) -> str:
        """What the engine heard, where a tempo typed replaces it."""
        if source.beat_heard is False:
            return "no beat heard"  # laid by its own timing until a tempo is given
        return f"heard {source.tempo_heard:g}" if source.tempo_heard else "as heard"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        given = self.given
        if given == tuple(Given() for _ in given):
            raise forms.ValidationError(
                "Give the tempo or the key of at least one song (for example 180 if the "
                "analysis reads 90, or the key you know it is in)."
            )
        if given == self.before:
            raise forms.ValidationError("This mashup was made with these tempi and keys already.")
        return data

    @property
    def given(self) -> Givens:
        """What was given for each song, in order (``jobs.Given``; None and "": by ear), the
        tempo to the tenth of a BPM the field steps by (so that a value shown again can be
        sent again)."""
        data = self.cleaned_data
        return tuple(
            Given(
                None if (bpm := data.get(f"tempo_{s.position}")) is None else round(bpm, 1),
                data.get(f"key_{s.position}") or "",
            )
            for s in self.sources
        )

    def described(self) -> str:
        """What was given, in words: "song 1 at 180 BPM and song 2 in E minor"."""
        words = []
        for position, (bpm, key) in enumerate(self.given, start=1):
            how = [f"at {bpm:g} BPM"] if bpm is not None else []
            how += [f"in {key}"] if key else []
            if how:
                words.append(f"song {position} {' '.join(how)}")
        return " and ".join(words)
