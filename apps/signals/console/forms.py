"""The console's forms: list filters and the review decision. Field rules are the model's own."""
from __future__ import annotations

from django import forms

from apps.signals import enums
from apps.signals.models import normalize_symbol
from tradesignals.kernel.numbers import parse_ascii_int


def _choices(values, *, blank: str):
    return [("", blank), *((value, value.capitalize()) for value in values)]


class QueueFilterForm(forms.Form):
    symbol = forms.CharField(required=False, max_length=31, label="Symbol",
                             widget=forms.TextInput(attrs={"placeholder": "e.g. BTC/USDT", "autocomplete": "off"}))
    direction = forms.ChoiceField(required=False, choices=_choices(enums.DIRECTIONS, blank="Any"),
                                  label="Direction")
    owner_id = forms.CharField(required=False, max_length=64, label="Owner id",
                               widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def clean_symbol(self) -> str:
        value = self.cleaned_data["symbol"].strip()
        if not value:
            return ""
        try:
            return normalize_symbol(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def filters(self) -> dict:
        """The valid, non-empty filters (an invalid form filters nothing and shows its errors)."""
        if not self.is_valid():
            return {}
        return {name: value.strip() for name, value in self.cleaned_data.items() if value and value.strip()}


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=_choices(enums.STATUSES, blank="Any status"),
                               label="Status")

    def filters(self) -> dict:
        if not self.is_valid() or not self.cleaned_data["status"]:
            return {}
        return {"status": self.cleaned_data["status"]}


class ReviewForm(forms.Form):
    """One form, two submit buttons (``decision``); the version the page showed travels with it, so a
    decision made on a stale page is refused instead of overwriting someone else's change."""

    # Not IntegerField: int() reads "５" and "5_0"; the version is ASCII digits or the form is invalid.
    version = forms.CharField(max_length=18, strip=False, widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[(s, s) for s in enums.REVIEW_STATUSES])
    reason = forms.CharField(required=False, max_length=enums.REASON_MAX, strip=True,
                             label="Reason (required to reject; the owner sees it)",
                             widget=forms.Textarea(attrs={"rows": 3, "maxlength": enums.REASON_MAX}))

    def clean_version(self) -> int:
        try:
            version = parse_ascii_int(self.cleaned_data["version"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        if version < 1:
            raise forms.ValidationError("Must be at least 1.")
        return version
