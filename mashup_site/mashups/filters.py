"""The gallery's search, status filter and page number: a GET form (docs/design.md, rule 3)."""

from __future__ import annotations

from django import forms
from django.db.models import Q, QuerySet

from .models import FINAL_STATUSES, Mashup, Status

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
        """The mashups that match; an invalid filter (a hand-edited URL) filters nothing."""
        if not self.is_valid():
            return mashups
        if words := self.cleaned_data["q"].split():
            for word in words:  # every word must match somewhere
                mashups = mashups.filter(
                    Q(title__icontains=word) | Q(style__icontains=word) | Q(prompt__icontains=word)
                )
        status = self.cleaned_data["status"]
        if status == IN_PROGRESS:
            mashups = mashups.exclude(status__in=FINAL_STATUSES)
        elif status:
            mashups = mashups.filter(status=status)
        return mashups

    @property
    def is_filtering(self) -> bool:
        return self.is_valid() and bool(self.cleaned_data["q"] or self.cleaned_data["status"])

    @property
    def page_number(self) -> int:
        return (self.is_valid() and self.cleaned_data["page"]) or 1
