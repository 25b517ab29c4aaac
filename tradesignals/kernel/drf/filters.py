"""Query parameters of a list: one nested ``FilterSerializer`` per list view, built on the strict fields.

Every list reads its query string the same way. A view declares::

    class FilterSerializer(filters.FilterSerializer):
        role = StrictChoiceField(choices=ROLES, required=False)

    @extend_schema(parameters=[FilterSerializer], ...)
    def get(self, request):
        walk = self.FilterSerializer.walk(request, name="users.list")
        page = selectors.profile_list(**walk.filters, after=walk.after, limit=walk.limit)

and gets ``limit`` and ``cursor`` parsed the one way (``limit`` 1–100 in ASCII digits, default 20; a cursor
that does not verify is a 400). An empty value is an absent parameter (``?status=`` filters nothing,
``?limit=`` is the default page), parameters a list does not declare are ignored, and a value is exactly what
its strict field takes — nothing is trimmed or case-folded into a member. The same serializer documents the
parameters (``extend_schema(parameters=[FilterSerializer])``).
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tradesignals.kernel.drf.pagination import CURSOR_SCHEMA, DEFAULT_LIMIT, MAX_LIMIT, Walk, limit_field
from tradesignals.kernel.pagination import INVALID_CURSOR

PAGE_FIELDS = ("limit", "cursor")


@extend_schema_field(CURSOR_SCHEMA)
class CursorField(serializers.Field):
    """The opaque cursor, as sent: ``Walk.after`` checks its length, alphabet and signature (one message for
    every cursor that is not one of ours, however it is wrong)."""

    default_error_messages = {"invalid": INVALID_CURSOR}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class FilterSerializer(serializers.Serializer):
    """The query parameters of a keyset-paginated list: its filters (declared by the subclass) and the page."""

    limit = limit_field(help_text=f"Page size 1–{MAX_LIMIT} in ASCII digits (default {DEFAULT_LIMIT}); "
                                  "anything else is a 400.")
    cursor = CursorField(required=False,
                         help_text="Opaque cursor from a previous page's `next`; a forged cursor is a 400.")

    @classmethod
    def from_request(cls, request) -> dict:
        """The validated parameters (a 400 naming each refused one); every declared filter is present, ``None``
        when absent."""
        params = cls(data={name: value for name, value in request.query_params.items() if value != ""})
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        return {**{name: None for name in params.fields}, **data}

    @classmethod
    def walk(cls, request, *, name: str, private: dict | None = None) -> Walk:
        """The request's place in the list ``name``: its filters, limit and cursor position (``Walk``).
        ``private`` names what the cursor is also bound to but the link does not carry (whose list it is)."""
        data = cls.from_request(request)
        filters = {key: value for key, value in data.items() if key not in PAGE_FIELDS}
        return Walk(name, filters, limit=data["limit"], cursor=data["cursor"], private=private)
