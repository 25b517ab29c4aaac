"""One signal: read (cached, authorised on every read), edit, delete, review — writes guarded by If-Match."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status as http
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.signals import selectors, services
from apps.signals.api.serializers import (
    ReviewInputSerializer,
    SignalDetailOutputSerializer,
    SignalInputSerializer,
    render_detail,
)
from apps.signals.api.views.conditional import PRIVATE, CachedResponseMixin, parse_if_match, written
from apps.signals.api.views.schema import IF_MATCH, IF_NONE_MATCH, TAG, errors, read_headers, written_headers
from tradesignals.kernel.drf.permissions import IsAdmin, IsAuthenticatedPrincipal
from tradesignals.kernel.errors import NotFound


class SignalDetailApi(CachedResponseMixin, APIView):
    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return [IsAuthenticatedPrincipal()]

    def action_allowed(self, request, method: str, data) -> bool:
        """What the browsable API offers on this signal's page (kernel.drf.renderers): the service's rules."""
        signal = selectors.signal_get(signal_id=self.kwargs["signal_id"])
        if signal is None:
            return False
        if method == "PATCH":
            return services.signal_may_update(actor=request.user, owner_id=signal.owner_id)
        if method == "DELETE":
            return services.signal_may_delete(actor=request.user, owner_id=signal.owner_id)
        return False

    @extend_schema(tags=[TAG], operation_id="trade_signal_retrieve",
                   summary="One signal (history for owner and admins)",
                   parameters=[IF_NONE_MATCH, *read_headers(200, 304)],
                   responses={200: SignalDetailOutputSerializer, 304: None, **errors(401, 404, 429)})
    def get(self, request, signal_id: str):
        entry = selectors.signal_detail_rendered(signal_id=signal_id, render=render_detail)
        if entry is None:
            raise NotFound("Trade signal not found.")
        user = request.user
        meta = entry["meta"]
        # Authorisation runs on every read, cached or not.
        variant = selectors.signal_visibility(
            viewer_id=user.user_id if user else None, viewer_is_admin=bool(user and user.is_admin),
            owner_id=meta["owner_id"], status=meta["status"], owner_active=meta["owner_active"])
        if variant is None:
            raise NotFound("Trade signal not found.")
        return self.cached_response(request, body=entry[variant], etag=entry["etags"][variant],
                                    hit=entry["hit"], cache_control=PRIVATE)

    @extend_schema(tags=[TAG], operation_id="trade_signal_update",
                   summary="Edit your signal (approved/rejected go back to pending)",
                   request=SignalInputSerializer, parameters=[IF_MATCH, *written_headers(200)],
                   responses={200: SignalDetailOutputSerializer, **errors(400, 401, 403, 404, 409, 412, 429)})
    def patch(self, request, signal_id: str):
        serializer = SignalInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        signal = services.signal_update(signal_id=signal_id, actor=request.user, data=serializer.validated_data,
                                        if_match=parse_if_match(request))
        return written(signal)

    @extend_schema(tags=[TAG], operation_id="trade_signal_delete",
                   summary="Delete a signal (owner or admin)", parameters=[IF_MATCH],
                   responses={204: None, **errors(401, 403, 404, 409, 412, 429)})
    def delete(self, request, signal_id: str):
        services.signal_delete(signal_id=signal_id, actor=request.user, if_match=parse_if_match(request))
        return Response(status=http.HTTP_204_NO_CONTENT)


class SignalStatusApi(CachedResponseMixin, APIView):
    permission_classes = [IsAdmin]

    def action_allowed(self, request, method: str, data) -> bool:
        """The review form only for an administrator who may decide on this signal (not their own)."""
        signal = selectors.signal_get(signal_id=self.kwargs["signal_id"])
        return signal is not None and services.signal_may_review(actor=request.user, owner_id=signal.owner_id)

    @extend_schema(tags=[TAG], operation_id="trade_signal_review",
                   summary="Approve or reject a signal (admin)", request=ReviewInputSerializer,
                   parameters=[IF_MATCH, *written_headers(200)],
                   responses={200: SignalDetailOutputSerializer, **errors(400, 401, 403, 404, 409, 412, 429)})
    def patch(self, request, signal_id: str):
        serializer = ReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signal = services.signal_review(signal_id=signal_id, actor=request.user,
                                        status=serializer.validated_data["status"],
                                        reason=serializer.validated_data.get("reason"),
                                        if_match=parse_if_match(request))
        return written(signal)
