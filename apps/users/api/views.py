"""Thin views of the users API: parse, call a selector or service, render."""
from __future__ import annotations

import json

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.users import selectors, services
from apps.users.api import serializers as s
from tradesignals.kernel.drf.permissions import IsAdmin, IsAuthenticatedPrincipal


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(s.UsersErrorSerializer, description=description)


E400 = _error("validation_error / malformed_request")
E401 = _error("not_authenticated / token_invalid")
E403 = _error("permission_denied")
E404 = _error("not_found")


class UserMeApi(APIView):
    """The caller's own profile (cached per user; invalidated on every change)."""

    permission_classes = [IsAuthenticatedPrincipal]
    OutputSerializer = s.ProfileSerializer
    InputSerializer = s.ProfileUpdateSerializer

    @extend_schema(operation_id="users_me_retrieve", responses={200: OutputSerializer, 401: E401},
                   summary="Own profile")
    def get(self, request):
        user_id = request.user.user_id
        cached = selectors.profile_me_cached(user_id=user_id)
        if cached is not None:
            if getattr(request.accepted_renderer, "format", None) == "json":
                return HttpResponse(cached, content_type="application/json")
            return Response(json.loads(cached))
        profile = selectors.profile_for_principal(principal=request.user)
        data = self.OutputSerializer(profile).data
        if profile.registered:  # the claims-built stand-in is never cached
            selectors.profile_me_cache_store(user_id=user_id, body=JSONRenderer().render(data))
        return Response(data)

    @extend_schema(operation_id="users_me_update", request=InputSerializer,
                   responses={200: OutputSerializer, 400: E400, 401: E401}, summary="Edit own profile")
    def patch(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        profile = services.profile_update(principal=request.user, changes=serializer.validated_data)
        return Response(self.OutputSerializer(profile).data)


class UserDetailApi(APIView):
    """Anyone's public profile; unknown and deactivated users are 404 alike."""

    permission_classes = [AllowAny]
    OutputSerializer = s.PublicProfileSerializer

    @extend_schema(operation_id="users_public_retrieve", responses={200: OutputSerializer, 401: E401, 404: E404},
                   summary="Public profile")
    def get(self, request, user_id: str):
        return Response(self.OutputSerializer(selectors.profile_get_public(user_id=user_id)).data)


class UserListApi(APIView):
    """Administrators' user directory: search, filters, keyset pagination."""

    permission_classes = [IsAdmin]
    FilterSerializer = s.UserListParamsSerializer
    OutputSerializer = s.UserListSerializer

    @extend_schema(operation_id="users_list", parameters=[FilterSerializer],
                   responses={200: OutputSerializer, 400: E400, 401: E401, 403: E403}, summary="List users")
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page, next_cursor = selectors.profile_list(**params.validated_data)
        next_url = None
        if next_cursor:
            query = request.query_params.copy()
            query["cursor"] = next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response(self.OutputSerializer({"results": page, "next": next_url}).data)
