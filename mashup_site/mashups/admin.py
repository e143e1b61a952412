"""Staff run everything here: mashups with their sources, and the files behind them."""

from __future__ import annotations

from django.contrib import admin

from .models import Mashup, Source


class SourceInline(admin.TabularInline):
    model = Source
    extra = 0
    can_delete = False
    fields = ("position", "original_name", "url", "format_name", "duration", "size", "file")
    readonly_fields = fields


@admin.register(Mashup)
class MashupAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "display_title",
        "owner",
        "provider",
        "model",
        "mode_label",
        "status",
        "created_at",
    )
    list_filter = ("status", "provider", "model", "custom_mode", "instrumental")
    search_fields = ("title", "style", "prompt", "owner__username", "provider_task_id")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    inlines = [SourceInline]
    readonly_fields = (
        "payload",
        "callback_token",
        "provider_task_id",
        "last_response",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("owner", "status", "provider", "model", "custom_mode", "instrumental")}),
        ("What was asked", {"fields": ("title", "style", "prompt", "payload")}),
        (
            "Provider",
            {
                "fields": (
                    "provider_task_id",
                    "error_code",
                    "error_message",
                    "analysis_text",
                    "last_response",
                )
            },
        ),
        ("Times", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="title")
    def display_title(self, obj: Mashup) -> str:
        return obj.display_title

    @admin.display(description="mode")
    def mode_label(self, obj: Mashup) -> str:
        return obj.mode_label


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
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
    readonly_fields = ("sha256", "access_token")
