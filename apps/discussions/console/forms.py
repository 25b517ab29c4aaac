"""The discussions console's one form: a moderation action on a report, a comment or a thread.

Every button on the pages is this form with its own ``action`` and the ids of what it acts on; the reason a hide
needs is checked here for presence (a clear message next to the button) and by the services for everything
else (length, control characters), whose messages the page shows the same way.
"""
from __future__ import annotations

from django import forms

from apps.discussions import enums

DISMISS = "dismiss"
HIDE_COMMENT, UNHIDE_COMMENT = "hide_comment", "unhide_comment"
HIDE_THREAD, UNHIDE_THREAD = "hide_thread", "unhide_thread"
ACTIONS = (DISMISS, HIDE_COMMENT, UNHIDE_COMMENT, HIDE_THREAD, UNHIDE_THREAD)
HIDES = frozenset({HIDE_COMMENT, HIDE_THREAD})
REASON_REQUIRED = "A reason is required to hide it."


class ModerationForm(forms.Form):
    action = forms.ChoiceField(choices=[(action, action) for action in ACTIONS])
    report_id = forms.CharField(required=False, max_length=100)
    thread_id = forms.CharField(required=False, max_length=64)
    comment_id = forms.CharField(required=False, max_length=64)
    # Not stripped: the services keep a reason as written and refuse a blank one themselves.
    reason = forms.CharField(required=False, max_length=enums.REASON_MAX, strip=False, label="Reason")
    # Which row of the page the form sits in, so a refusal is shown next to its button (never rendered).
    row = forms.CharField(required=False, max_length=200)

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action in HIDES and not (data.get("reason") or "").strip():
            self.add_error("reason", REASON_REQUIRED)
        needed = {DISMISS: ("report_id",), HIDE_COMMENT: ("thread_id", "comment_id"),
                  UNHIDE_COMMENT: ("thread_id", "comment_id"), HIDE_THREAD: ("thread_id",),
                  UNHIDE_THREAD: ("thread_id",)}.get(action, ())
        for name in needed:
            if not data.get(name) and name not in self.errors:
                self.add_error(name, "Missing.")
        return data

    def messages(self) -> list[str]:
        """Every error of the form as one list, for the notice next to the button that sent it."""
        return [str(message) for errors in self.errors.values() for message in errors]
