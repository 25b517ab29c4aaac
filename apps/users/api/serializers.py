"""Serializers of the users API: what a client may send and what it gets back."""
from __future__ import annotations

import functools
import unicodedata

from rest_framework import serializers

from apps.users.models import AVATAR_URL_MAX, BIO_MAX, DISPLAY_NAME_MAX
from tradesignals.kernel.drf.fields import (
    HTTPS_URL_PATTERN,
    StrictCharField,
    StrictInputSerializer,
    StrictURLField,
    char_ranges,
    text_pattern,
)
from tradesignals.kernel.drf.pagination import PageSerializer
from tradesignals.kernel.identity import ROLES

# Fields of the profile a client can see but never set; sending one is a 400, not silently ignored.
READ_ONLY_FIELDS = ("id", "user_id", "email", "role", "is_active", "created_at", "updated_at", "signal_counts",
                    "approved_signals", "comments", "registered", "track_record")


# An https URL as Django's URLValidator took it: not always an RFC 3986 URI ("https://a.io/%."), so the
# document promises no "uri" format for it. An uploaded avatar's address is the store's: on the file system a
# path under MEDIA_URL, relative to the API's origin.
_AVATAR_OUT = ("The uploaded avatar's square WebP thumbnail (PUT /api/v1/users/me/avatar; on the file system store "
               "a path under MEDIA_URL), else the external https URL (as Django's URLValidator accepts it), or null.")


_COMMENTS_OUT = "How many of the user's comments stand: posted, neither hidden nor deleted (nor in a deleted thread)."


class SignalCountsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    approved = serializers.IntegerField()
    rejected = serializers.IntegerField()


class TrackRecordWindowSerializer(serializers.Serializer):
    """The decided outcomes of a trader's signals that still stand: approved and not deleted."""

    closed = serializers.IntegerField(help_text="Decided outcomes: won + lost + expired.")
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    expired = serializers.IntegerField()
    win_rate = serializers.CharField(allow_null=True, help_text="won / closed (expired counts as closed, not "
                                     "won), a decimal string of two places (\"0.67\"); null when closed is 0.")
    average_r = serializers.CharField(allow_null=True, help_text="total_r / the number of closed outcomes with an "
                                      "R (an expiry before entry has none), two places; null when there is none.")
    total_r = serializers.CharField(help_text="The sum of R over the closed outcomes, two places (\"0.00\" when "
                                    "there is none).")


class TrackRecordSerializer(TrackRecordWindowSerializer):
    last_30_days = TrackRecordWindowSerializer(help_text="The same over the outcomes closed in the last 30 days.")


class ProfileSerializer(serializers.Serializer):
    """A whole profile: what its owner (``/users/me``) and administrators see."""

    id = serializers.CharField()
    email = serializers.EmailField(allow_null=True, help_text="Null until the profile is fully projected.")
    role = serializers.ChoiceField(choices=ROLES)
    is_active = serializers.BooleanField()
    display_name = serializers.CharField()
    bio = serializers.CharField(allow_blank=True)
    avatar_url = serializers.CharField(source="shown_avatar_url", allow_null=True, help_text=_AVATAR_OUT)
    created_at = serializers.DateTimeField(allow_null=True)
    signal_counts = SignalCountsSerializer(source="signal_counts_dict")
    comments = serializers.IntegerField(source="comments_count", help_text=_COMMENTS_OUT)

    def to_representation(self, instance):
        instance.signal_counts_dict = instance.signal_counts()
        return super().to_representation(instance)


class OwnProfileSerializer(ProfileSerializer):
    """The caller's own profile (``/users/me``): the whole profile and the caller's track record."""

    track_record = TrackRecordSerializer()


class PublicProfileSerializer(serializers.Serializer):
    """What anyone may see of an active user, with their track record."""

    id = serializers.CharField()
    display_name = serializers.CharField()
    bio = serializers.CharField(allow_blank=True)
    avatar_url = serializers.CharField(source="shown_avatar_url", allow_null=True, help_text=_AVATAR_OUT)
    approved_signals = serializers.IntegerField(source="signals_approved")
    comments = serializers.IntegerField(source="comments_count", help_text=_COMMENTS_OUT)
    created_at = serializers.DateTimeField(allow_null=True)
    track_record = TrackRecordSerializer()


_NAME_REFUSED = ("Cc", "Cf", "Zl", "Zp")  # validate_display_name, on the trimmed name
_BIO_ALLOWED = "\n\t"  # validate_bio refuses every other control character (Cc)


@functools.cache
def _refused(categories: tuple[str, ...], allowed: str = "") -> str:
    """The characters of these Unicode categories as a class body (this Python's ``unicodedata``, the one
    the validators ask). Only the Basic Multilingual Plane: a pattern naming a code point above it cannot be
    generated from by the schema fuzz's engine; the categories hold some 110 such characters (all Cf:
    Egyptian and Duployan format controls, musical formatting, language tags), still refused."""
    return char_ranges(point for point in range(0x10000)
                       if unicodedata.category(chr(point)) in categories and chr(point) not in allowed)


def _display_name_schema() -> dict:
    return {"pattern": text_pattern(stripped=True, blank=False, refused=_refused(_NAME_REFUSED))}


def _bio_schema() -> dict:
    return {"pattern": text_pattern(refused=_refused(("Cc",), _BIO_ALLOWED))}


class ProfileUpdateSerializer(StrictInputSerializer):
    """PATCH body: any of the three editable fields; anything else (read-only or unknown) is a 400."""

    read_only_names = READ_ONLY_FIELDS

    display_name = StrictCharField(required=False, min_length=1, max_length=DISPLAY_NAME_MAX,
                                   schema=_display_name_schema,
                                   help_text="1-80 characters; surrounding spaces are trimmed.")
    bio = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=BIO_MAX,
                          trim_whitespace=False, schema=_bio_schema,
                          help_text="At most 500 characters; null or \"\" clears it.")
    avatar_url = StrictURLField(required=False, allow_null=True, max_length=AVATAR_URL_MAX,
                                schema={"pattern": HTTPS_URL_PATTERN},
                                help_text="An https URL of at most 2048 characters; null removes it.")

    def validate_display_name(self, value: str) -> str:
        if any(unicodedata.category(char) in _NAME_REFUSED for char in value):
            raise serializers.ValidationError("Control characters are not allowed.")
        return value

    def validate_bio(self, value: str | None) -> str:
        value = value or ""
        if any(unicodedata.category(char) == "Cc" and char not in _BIO_ALLOWED for char in value):
            raise serializers.ValidationError("Control characters are not allowed.")
        return value

    def validate_avatar_url(self, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith("https://"):
            raise serializers.ValidationError("Use an https URL.")
        return value


class UserListSerializer(PageSerializer):
    results = ProfileSerializer(many=True)
