"""The public leaderboard: traders by total R over a period, each with their record, served as cached bytes."""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from apps.signals import leaderboard
from apps.signals.api.views.conditional import CachedResponseMixin
from apps.signals.api.views.schema import IF_NONE_MATCH, TAG, errors, read_headers
from tradesignals.kernel.drf.conditional import render_json
from tradesignals.kernel.drf.fields import StrictChoiceField, StrictIntegerField


class LeaderboardFilterSerializer(serializers.Serializer):
    """``period`` and ``min_closed``, each exactly what its field takes (a 400 otherwise); an empty value is
    the default and undeclared parameters are ignored, as on every list."""

    period = StrictChoiceField(choices=leaderboard.PERIOD_NAMES, required=False, default=leaderboard.DEFAULT_PERIOD,
                               help_text="30d, 90d (signals closed in the last 30 or 90 days) or all.")
    min_closed = StrictIntegerField(text=True, required=False, min_value=1, max_value=leaderboard.MAX_MIN_CLOSED,
                                    default=leaderboard.DEFAULT_MIN_CLOSED,
                                    help_text="Only traders with at least this many closed signals in the period "
                                              f"(1–{leaderboard.MAX_MIN_CLOSED}, default "
                                              f"{leaderboard.DEFAULT_MIN_CLOSED}).")

    @classmethod
    def from_request(cls, request) -> dict:
        params = cls(data={name: value for name, value in request.query_params.items()
                           if name in cls._declared_fields and value != ""})
        params.is_valid(raise_exception=True)
        return dict(params.validated_data)


class RecordOutputSerializer(serializers.Serializer):
    closed = serializers.IntegerField(help_text="Decided signals (won, lost or expired) closed in the period.")
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    expired = serializers.IntegerField()
    win_rate = serializers.CharField(allow_null=True, help_text="won / closed, 2 places (\"0.67\"); null if none.")
    average_r = serializers.CharField(allow_null=True,
                                      help_text="total_r / closed signals with an R, 2 places; null if none.")
    total_r = serializers.CharField(help_text="Sum of the R multiples, 2 places (\"-1.00\").")


class LeaderboardEntryOutputSerializer(serializers.Serializer):
    owner_id = serializers.CharField()
    owner_name = serializers.CharField()
    track_record = RecordOutputSerializer()


class LeaderboardOutputSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=leaderboard.PERIOD_NAMES)
    min_closed = serializers.IntegerField()
    results = LeaderboardEntryOutputSerializer(many=True, help_text=f"At most {leaderboard.TOP}, best first: "
                                                                    "total_r desc, closed desc, owner_id.")


class LeaderboardApi(CachedResponseMixin, APIView):
    """The top traders by total R of their decided, approved signals closed in the period (owners who are
    active), each with their record; the same bytes for everyone, cached for a short time (a new close shows
    within it)."""

    permission_classes = [AllowAny]

    @extend_schema(tags=[TAG], operation_id="trade_signals_leaderboard",
                   summary="Traders by total R over a period (public, cached briefly)", auth=[],
                   parameters=[LeaderboardFilterSerializer, IF_NONE_MATCH, *read_headers(200, 304)],
                   responses={200: LeaderboardOutputSerializer, 304: None, **errors(400, 429)})
    def get(self, request):
        params = LeaderboardFilterSerializer.from_request(request)
        period, min_closed = params["period"], params["min_closed"]

        def render(entries: list[dict]) -> bytes:
            return render_json(LeaderboardOutputSerializer(
                {"period": period, "min_closed": min_closed, "results": entries}).data)

        entry = leaderboard.leaderboard_rendered(period=period, min_closed=min_closed, render=render)
        return self.cached_response(request, body=entry["body"], etag=entry["etag"], hit=entry["hit"],
                                    cache_control=f"public, max-age={settings.CACHE_PUBLIC_MAX_AGE}")
