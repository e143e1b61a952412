"""Staff run everything here: mashups with their sources and tracks, retention, the queue.

Actions on jobs go through the same public functions the app uses (``jobs`` for state,
``tasks`` to enqueue, ``retention`` for expiry, ``storage`` for files), never around them. django-q2
registers its own admin (tasks, failures, schedules, including the retention sweeper's).
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import escape, format_html
from django.utils.text import Truncator
from django_q import admin as queue_admin
from django_q.admin import FailAdmin, ScheduleAdmin, TaskAdmin
from django_q.models import Failure, Schedule, Success

from mashup_site import providers
from mashup_site.providers.base import FollowUpKind, ProviderError

from . import checks, jobs, retention, storage, tasks
from .models import FollowUp, Mashup, Source, Status, Track

log = logging.getLogger(__name__)


admin.site.site_header = admin.site.site_title = "Mashup Studio administration"
admin.site.index_title = "Mashups, people and files"


def provider_credits() -> str:
    """The configured provider's credit balance for staff, or why it is unavailable. Never
    raises: the admin must work while the provider is down or not configured."""
    if settings.MASHUP_PROVIDER == "local":  # nothing to read, and nothing wrong
        return "none needed: the local engine makes the mashups on this server"
    try:
        return f"{int(providers.get(settings.MASHUP_PROVIDER).credits()):,} credits left"
    except (ProviderError, ValueError, TypeError) as error:
        log.warning("could not read the provider's credits: %s", error)
        return f"unavailable: {error}"


class RecordInline(admin.TabularInline):
    """A mashup's songs and tracks, shown as they are: the runner writes them (jobs.py)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SourceInline(RecordInline):
    model = Source
    fields = (
        "position",
        "original_name",
        "url",
        "format_name",
        "duration",
        "tempo_given",
        "tempo_heard",
        "key_given",
        "key_heard",
        "beat_heard",
        "size",
        "file",
        "hosted_url",
        "hosted_at",
    )
    readonly_fields = fields


class TrackInline(RecordInline):
    model = Track
    fields = (
        "position",
        "title",
        "duration",
        "model_name",
        "audio",
        "image",
        "audio_url",
        "vocals",
        "instrumental",
        "wav",
    )
    readonly_fields = fields


SEARCH_WORDS = 20  # a search of more words searches these: SQLite refuses ~1000 at once


class BoundedSearch(admin.ModelAdmin):
    """A list's search of at most SEARCH_WORDS words, saying so when it was cut: each word
    is a condition on every search field, and a pasted page of text made a query SQLite
    refuses ("Expression tree is too large"), which the error page took for an outage."""

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        words = search_term.split()
        if len(words) > SEARCH_WORDS:
            messages.warning(request, f"Searched for the first {SEARCH_WORDS} words only.")
            search_term = " ".join(words[:SEARCH_WORDS])
        return super().get_search_results(request, queryset, search_term)


@admin.register(Mashup)
class MashupAdmin(BoundedSearch):
    list_display = (
        "id",
        "display_title",
        "owner",
        "made_with",
        "status",
        "failure",
        "created_at",
        "expires",
    )
    list_filter = (
        "status",
        "provider",
        "source_delivery",
        "model",
        "custom_mode",
        "instrumental",
        "keep_forever",
    )
    search_fields = (
        "title",
        "style",
        "prompt",
        "owner__username",
        "provider_task_id",
        "sources__original_name",
        "sources__url",
    )
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    inlines = [SourceInline, TrackInline]
    actions = [
        "repoll",
        "retry",
        "extend_expiry",
        "keep_forever",
        "purge_files",
        "ask_stems",
        "ask_wav",
        "ask_lyrics",
    ]
    # What was asked, and where the job stands, are records: the payload went to the
    # provider as it is, and a job moves only through jobs.py (or the actions above).
    # Staff change what retention needs: the expiry and keep-forever.
    readonly_fields = (
        "owner",
        "status",
        "provider",
        "source_delivery",
        "model",
        "custom_mode",
        "instrumental",
        "title",
        "style",
        "prompt",
        "payload",
        "backing_offbeat",
        "remade_from",
        "callback_token",
        "provider_task_id",
        "last_response",
        "error_code",
        "error_message",
        "error_final",
        "analysis_text",
        "provider_requests",
        "polls",
        "next_poll_at",
        "claimed_at",
        "created_at",
        "updated_at",
        "submitted_at",
        "text_at",
        "first_at",
        "completed_at",
        "failed_at",
    )
    fieldsets = (
        (None, {"fields": ("owner", "status", "provider", "model", "custom_mode", "instrumental")}),
        (
            "What was asked",
            {"fields": ("title", "style", "prompt", "payload", "backing_offbeat", "remade_from")},
        ),
        (
            "Retention",
            {
                "fields": ("expires_at", "keep_forever"),
                "description": "Change the expiry, or keep it forever (the sweeper skips it).",
            },
        ),
        (
            "Provider",
            {
                "fields": (
                    "provider_task_id",
                    "source_delivery",
                    "error_code",
                    "error_message",
                    "error_final",
                    "analysis_text",
                    "provider_requests",
                    "polls",
                    "next_poll_at",
                    "claimed_at",
                    "last_response",
                )
            },
        ),
        (
            "Stages",
            {
                "fields": (
                    "created_at",
                    "submitted_at",
                    "text_at",
                    "first_at",
                    "completed_at",
                    "failed_at",
                    "updated_at",
                )
            },
        ),
    )

    @admin.display(description="title")
    def display_title(self, obj: Mashup) -> str:
        return obj.display_title

    @admin.display(description="made with", ordering="provider")
    def made_with(self, obj: Mashup) -> str:
        return f"{obj.get_provider_display()} · {obj.model} · {obj.mode_label}"

    @admin.display(description="why it failed")
    def failure(self, obj: Mashup) -> str:
        return Truncator(obj.error_message).chars(80) if obj.status == Status.FAILED else ""

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, obj: Mashup) -> str:
        return obj.expiry.message or "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a mashup starts from the create form, which checks it and its songs

    # --- deleting takes the files along ---------------------------------------------------

    def delete_model(self, request: HttpRequest, obj: Mashup) -> None:
        storage.delete_mashup(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Mashup]) -> None:
        for mashup in queryset:
            storage.delete_mashup(mashup)

    # --- actions --------------------------------------------------------------------------

    @admin.action(
        description="Re-poll the provider now (remote jobs in progress)", permissions=["change"]
    )
    def repoll(self, request: HttpRequest, queryset: QuerySet[Mashup]) -> None:
        submitted = queryset.filter(provider__in=providers.fetching_sources())
        pollable = list(submitted.exclude(provider_task_id=""))
        pollable = [m for m in pollable if not m.is_final]
        for mashup in pollable:
            tasks.enqueue_poll_now(mashup.pk)
        self._report(request, len(pollable), queryset, "re-poll queued", "remote, in progress")

    @admin.action(description="Retry failed jobs from the start", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Mashup]) -> None:
        done = sum(tasks.enqueue_retry(mashup) for mashup in queryset)
        self._report(request, done, queryset, "queued again", "failed")

    @admin.action(
        description=f"Extend expiry by {settings.RETENTION_DAYS} days", permissions=["change"]
    )
    def extend_expiry(self, request: HttpRequest, queryset: QuerySet[Mashup]) -> None:
        done = retention.extend(queryset)
        self._report(request, done, queryset, "extended", "finished and not expired")

    @admin.action(description="Keep forever (never expire)", permissions=["change"])
    def keep_forever(self, request: HttpRequest, queryset: QuerySet[Mashup]) -> None:
        done = retention.keep_forever(queryset)
        self._report(request, done, queryset, "kept forever", "not expired")

    @admin.action(description="Purge files now (mark expired)", permissions=["delete"])
    def purge_files(self, request: HttpRequest, queryset: QuerySet[Mashup]) -> None:
        mashups = list(queryset)
        for mashup in mashups:
            jobs.purge_now(mashup)
        self._report(request, len(mashups), queryset, "purged", "")

    @admin.action(
        description="Follow-up: vocals and instrumental of both tracks", permissions=["change"]
    )
    def ask_stems(self, request: HttpRequest, queryset: QuerySet[Mashup]) -> None:
        self._ask(request, queryset, FollowUpKind.STEMS)

    @admin.action(description="Follow-up: WAV of both tracks", permissions=["change"])
    def ask_wav(self, request: HttpRequest, queryset: QuerySet[Mashup]) -> None:
        self._ask(request, queryset, FollowUpKind.WAV)

    @admin.action(description="Follow-up: lyrics in time of both tracks", permissions=["change"])
    def ask_lyrics(self, request: HttpRequest, queryset: QuerySet[Mashup]) -> None:
        self._ask(request, queryset, FollowUpKind.LYRICS)

    def _ask(self, request: HttpRequest, queryset: QuerySet[Mashup], kind: FollowUpKind) -> None:
        """Through the same door as the owner's button (once per track and kind), but not
        counted against the owner's limits; why a track cannot have it is reported."""
        asked, refused = 0, set()
        for track in Track.objects.filter(mashup__in=queryset).select_related("mashup"):
            try:
                tasks.ask_follow_up(track, kind, user_id=request.user.pk, by_owner=False)
                asked += 1
            except tasks.FollowUpRefused as refusal:
                refused.add(str(refusal))
        text = f"{kind.label}: asked for {asked} track{'s' if asked != 1 else ''}."
        if refused:
            text += " Not for the others: " + " ".join(sorted(refused))
        self.message_user(request, text, messages.SUCCESS if asked else messages.WARNING)

    def _report(
        self, request: HttpRequest, done: int, queryset: QuerySet[Mashup], what: str, which: str
    ) -> None:
        chosen = queryset.count()
        text = f"{done} of {chosen} mashup{'s' if chosen != 1 else ''} {what}."
        if done < chosen and which:
            text += f" Only {which} mashups qualify."
        self.message_user(request, text, messages.SUCCESS if done else messages.WARNING)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Said where staff look at jobs: callbacks cannot reach us, polling follows the jobs.
        extra_context = {**(extra_context or {}), "callbacks_notice": checks.callbacks_notice()}
        return super().changelist_view(request, extra_context)

    # --- the provider's credits -----------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        credits = path(
            "credits/",
            self.admin_site.admin_view(self.credits_view),
            name="mashups_mashup_credits",
        )
        return [credits, *super().get_urls()]

    def credits_view(self, request: HttpRequest) -> HttpResponse:
        """The balance as a page, or (htmx, from the list's toolbar) as its link's text."""
        text = provider_credits()
        if getattr(request, "htmx", False):
            return HttpResponse(escape(f"Provider: {text}"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Provider credits",
            "credits": text,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/mashups/mashup/credits.html", context)


@admin.register(FollowUp)
class FollowUpAdmin(BoundedSearch):
    """Every follow-up with what it cost: records, moved only by the runner (jobs.py)."""

    list_display = (
        "id",
        "kind",
        "track",
        "mashup_link",
        "owner",
        "status",
        "cost_credits",
        "provider_requests",
        "attempts",
        "created_at",
    )
    list_filter = ("status", "kind", "track__mashup__provider")
    search_fields = ("provider_task_id", "track__mashup__title", "track__mashup__owner__username")
    list_select_related = ("track__mashup__owner",)
    actions = ["repoll_follow_ups"]
    readonly_fields = [f.name for f in FollowUp._meta.fields]

    @admin.display(description="mashup")
    def mashup_link(self, obj: FollowUp) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:mashups_mashup_change", args=[obj.track.mashup_id]),
            obj.track.mashup,
        )

    @admin.display(description="owner")
    def owner(self, obj: FollowUp) -> str:
        return str(obj.track.mashup.owner)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # asked from the mashup (its page, or the mashups' actions)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_repoll_permission(self, request: HttpRequest) -> bool:
        """A re-poll moves a record on: for staff who may change follow-ups (no one edits
        one by hand, so that permission has no other use)."""
        return request.user.has_perm("mashups.change_followup")

    @admin.action(
        description="Re-poll the provider now (follow-ups in progress)", permissions=["repoll"]
    )
    def repoll_follow_ups(self, request: HttpRequest, queryset: QuerySet[FollowUp]) -> None:
        pending = list(queryset.in_progress().exclude(provider_task_id=""))  # type: ignore[attr-defined]
        for follow_up in pending:
            tasks.enqueue_follow_up_poll_now(follow_up.pk)
        self.message_user(request, f"{len(pending)} follow-up re-poll(s) queued.")


@admin.register(Source)
class SourceAdmin(BoundedSearch):
    list_display = (
        "id",
        "mashup",
        "position",
        "original_name",
        "url",
        "format_name",
        "duration",
        "size",
    )
    search_fields = ("original_name", "url", "sha256", "mashup__owner__username")
    list_select_related = ("mashup", "mashup__owner")
    actions = None  # not even "delete selected": see below

    # A song is a record of what a person gave. It comes and goes with its mashup, whose
    # deletion and purge take its file along (deleting the row alone would orphan the file,
    # and leave a mashup that cannot be tried again). Delete permission stays, so that
    # deleting a mashup may cascade to its songs; deleting a song by itself is not offered.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        raise PermissionDenied("Delete the song's mashup: that takes its files along.")


# --- django-q2's schedules: only the app's own tasks, only by superusers --------------------------

# A schedule names a function by its dotted path, and the worker imports and runs it: with
# any path, "change schedule" is "run any code in the worker". These are the app's tasks.
SCHEDULABLE = frozenset(
    {
        f"{tasks.TASKS}.run_mashup",
        f"{tasks.TASKS}.poll_mashup",
        f"{tasks.TASKS}.copy_results",
        tasks.RECONCILE_FUNC,
        retention.SWEEP_FUNC,
        retention.ORPHANS_FUNC,
    }
)


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = (  # every field django-q2's own admin shows
            "name",
            "func",
            "hook",
            "args",
            "kwargs",
            "schedule_type",
            "minutes",
            "repeats",
            "next_run",
            "cron",
            "cluster",
            "intended_date_kwarg",
        )

    def clean_func(self) -> str:
        func = str(self.cleaned_data.get("func") or "").strip()
        if func not in SCHEDULABLE:
            raise forms.ValidationError(
                f"{func!r} is not one of the app's tasks: {', '.join(sorted(SCHEDULABLE))}."
            )
        return func

    def clean_hook(self) -> str | None:
        hook = str(self.cleaned_data.get("hook") or "").strip()
        if hook:  # a hook is run by the worker too
            raise forms.ValidationError(f"{hook!r} is not one of the app's tasks: leave it empty.")
        return None


admin.site.unregister(Schedule)


@admin.register(Schedule)
class GuardedScheduleAdmin(BoundedSearch, ScheduleAdmin):
    """django-q2's schedule admin: staff may look; only superusers add, change or delete,
    and only schedules of the app's own tasks (SCHEDULABLE)."""

    form = ScheduleForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser


@admin.action(description="Resubmit selected tasks to queue", permissions=["change"])
def resubmit_task(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """django-q2's own action, for staff who may change the queue's records: as shipped it
    runs jobs again for anyone who may only look at them."""
    queue_admin.resubmit_task(model_admin, request, queryset)


admin.site.unregister(Success)
admin.site.unregister(Failure)


@admin.register(Success)
class GuardedTaskAdmin(BoundedSearch, TaskAdmin):
    actions = [resubmit_task]


@admin.register(Failure)
class GuardedFailAdmin(BoundedSearch, FailAdmin):
    actions = [resubmit_task]


admin.site.unregister(User)


@admin.register(User)
class BoundedUserAdmin(BoundedSearch, UserAdmin):
    """Django's own, its search bounded as every list's here."""
