"""Serializers of the users API: what a client may send and what it gets back."""
from __future__ import annotations

import unicodedata

from rest_framework import serializers

from apps.users.models import AVATAR_URL_MAX, BIO_MAX, DISPLAY_NAME_MAX
from tradesignals.kernel.drf.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictInputSerializer,
    StrictIntegerField,
    StrictURLField,
)
from tradesignals.kernel.drf.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT
from tradesignals.kernel.identity import ROLES

# Fields of the profile a client can see but never set; sending one is a 400, not silently ignored.
READ_ONLY_FIELDS = ("id", "user_id", "email", "role", "is_active", "created_at", "updated_at", "signal_counts",
                    "approved_signals", "registered")


class SignalCountsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    approved = serializers.IntegerField()
    rejected = serializers.IntegerField()


class ProfileSerializer(serializers.Serializer):
    """A whole profile: what its owner (``/users/me``) and administrators see."""

    id = serializers.CharField()
    email = serializers.EmailField(allow_null=True, help_text="Null until the profile is fully projected.")
    role = serializers.ChoiceField(choices=ROLES)
    is_active = serializers.BooleanField()
    display_name = serializers.CharField()
    bio = serializers.CharField(allow_blank=True)
    avatar_url = serializers.URLField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    signal_counts = SignalCountsSerializer(source="signal_counts_dict")

    def to_representation(self, instance):
        instance.signal_counts_dict = instance.signal_counts()
        return super().to_representation(instance)


class PublicProfileSerializer(serializers.Serializer):
    """What anyone may see of an active user."""

    id = serializers.CharField()
    display_name = serializers.CharField()
    bio = serializers.CharField(allow_blank=True)
    avatar_url = serializers.URLField(allow_null=True)
    approved_signals = serializers.IntegerField(source="signals_approved")
    created_at = serializers.DateTimeField(allow_null=True)


class ProfileUpdateSerializer(StrictInputSerializer):
    """PATCH body: any of the three editable fields; anything else (read-only or unknown) is a 400."""

    read_only_names = READ_ONLY_FIELDS

    display_name = StrictCharField(required=False, min_length=1, max_length=DISPLAY_NAME_MAX,
                                   help_text="1-80 characters; surrounding spaces are trimmed.")
    bio = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=BIO_MAX,
                          trim_whitespace=False, help_text="At most 500 characters; null or \"\" clears it.")
    avatar_url = StrictURLField(required=False, allow_null=True, max_length=AVATAR_URL_MAX,
                                help_text="An https URL of at most 2048 characters; null removes it.")

    def validate_display_name(self, value: str) -> str:
        if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in value):
            raise serializers.ValidationError("Control characters are not allowed.")
        return value

    def validate_bio(self, value: str | None) -> str:
        value = value or ""
        if any(unicodedata.category(char) == "Cc" and char not in "\n\t" for char in value):
            raise serializers.ValidationError("Control characters are not allowed.")
        return value

    def validate_avatar_url(self, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith("https://"):
            raise serializers.ValidationError("Use an https URL.")
        return value


class UserListParamsSerializer(serializers.Serializer):
    """Query parameters of the directory, through the kernel's strict fields: ``limit`` is ASCII digits only
    ("５０", "5_0" and " 5" are 400s), ``role`` exactly a role, ``is_active`` exactly ``true`` or ``false``."""

    search = StrictCharField(required=False, max_length=320,
                             help_text="Case-insensitive prefix of the email or of the display name.")
    role = StrictChoiceField(required=False, choices=ROLES)
    is_active = StrictBooleanField(required=False, default=None, help_text="true or false")
    limit = StrictIntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    cursor = StrictCharField(required=False, max_length=MAX_CURSOR_LENGTH,
                             help_text="Opaque; taken from a previous page's `next`.")


class UserListSerializer(serializers.Serializer):
    results = ProfileSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Path of the next page, or null on the last page.")
