"""The three lists of signals (and creating one): filters through each view's ``FilterSerializer``, pages
read through the rendered-response cache and answered as stored bytes (or a 304)."""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status as http
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from apps.signals import selectors, services
from apps.signals.api import serializers as s
from apps.signals.api.views.conditional import PRIVATE, CachedResponseMixin, written
from apps.signals.api.views.schema import IF_NONE_MATCH, TAG, errors, read_headers, written_headers
from tradesignals.kernel import ratelimit
from tradesignals.kernel.drf.pagination import Page, Walk
from tradesignals.kernel.drf.permissions import IsAdmin, IsAuthenticatedPrincipal


class CachedListMixin(CachedResponseMixin):
    def list_response(self, request, *, walk: Walk, rendered_selector, cache_control: str, **selector_kwargs):
        """The page ``walk`` names, rendered once per cache entry: its results and the link to the next page."""

        def render(page: Page) -> bytes:
            return s.render_json({"results": s.SignalOutputSerializer(page.items, many=True).data,
                                  "next": walk.next_url(request.path, page)})

        entry = rendered_selector(filters=walk.filters, after=walk.after, limit=walk.limit, render=render,
                                  **selector_kwargs)
        return self.cached_response(request, body=entry["body"], etag=entry["etag"], hit=entry["hit"],
                                    cache_control=cache_control)


class SignalListCreateApi(CachedListMixin, APIView):
    permission_classes = [IsAuthenticatedPrincipal]
    FilterSerializer = s.OwnFilterSerializer

    @extend_schema(tags=[TAG], operation_id="trade_signals_list_own",
                   summary="List your own signals",
                   parameters=[FilterSerializer, IF_NONE_MATCH, *read_headers(200, 304)],
                   responses={200: s.SignalPageOutputSerializer, 304: None, **errors(400, 401, 429)})
    def get(self, request):
        owner_id = request.user.user_id
        walk = self.FilterSerializer.walk(request, name="own", private={"owner_id": owner_id})
        return self.list_response(request, walk=walk, cache_control=PRIVATE,
                                  rendered_selector=selectors.signal_list_own_rendered, owner_id=owner_id)

    @extend_schema(tags=[TAG], operation_id="trade_signals_create",
                   summary="Create a signal (always pending)", request=s.SignalInputSerializer,
                   parameters=written_headers(201, location=True),
                   responses={201: s.SignalDetailOutputSerializer, **errors(400, 401, 429)})
    def post(self, request):
        serializer = s.SignalInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Mass creation: a per-user budget of created signals (invalid bodies are bounded by the gateway budget).
        ratelimit.hit(request, group="signals:create:user", key=request.user.user_id,
                      rate=ratelimit.rate(settings.SIGNAL_CREATE_RATE_MAX, settings.SIGNAL_CREATE_RATE_WINDOW),
                      message="Too many signals created; retry later.")
        signal = services.signal_create(owner_id=request.user.user_id, owner_name=request.user.name,
                                        **serializer.validated_data)
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{signal.id}")
        return written(signal, status=http.HTTP_201_CREATED, headers={"Location": location})


class SignalPublicListApi(CachedListMixin, APIView):
    permission_classes = [AllowAny]
    FilterSerializer = s.PublicFilterSerializer

    @extend_schema(tags=[TAG], operation_id="trade_signals_list_public",
                   summary="The public feed of approved signals", auth=[],
                   parameters=[FilterSerializer, IF_NONE_MATCH, *read_headers(200, 304)],
                   responses={200: s.SignalPageOutputSerializer, 304: None, **errors(400, 401, 429)})
    def get(self, request):
        walk = self.FilterSerializer.walk(request, name="public")
        return self.list_response(request, walk=walk,
                                  cache_control=f"public, max-age={settings.CACHE_PUBLIC_MAX_AGE}",
                                  rendered_selector=selectors.signal_list_public_rendered)


class SignalAdminListApi(CachedListMixin, APIView):
    permission_classes = [IsAdmin]
    FilterSerializer = s.AdminFilterSerializer

    @extend_schema(tags=[TAG], operation_id="trade_signals_list_admin",
                   summary="All signals (admin)",
                   parameters=[FilterSerializer, IF_NONE_MATCH, *read_headers(200, 304)],
                   responses={200: s.SignalPageOutputSerializer, 304: None, **errors(400, 401, 403, 429)})
    def get(self, request):
        walk = self.FilterSerializer.walk(request, name="admin")
        return self.list_response(request, walk=walk, cache_control=PRIVATE,
                                  rendered_selector=selectors.signal_list_admin_rendered)
