"""Thin views of the users API: parse, call a selector or service, render."""
from __future__ import annotations

import json

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status as http
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.users import selectors, services
from apps.users.api import serializers as s
from tradesignals.kernel.drf import filters
from tradesignals.kernel.drf.fields import StrictBooleanField, StrictCharField, StrictChoiceField
from tradesignals.kernel.drf.permissions import IsAdmin, IsAuthenticatedPrincipal
from tradesignals.kernel.drf.schema import error_responses
from tradesignals.kernel.drf.uploads import ImageUploadInputSerializer, ImageUploadMixin, upload_error_responses
from tradesignals.kernel.identity import ROLES


class UserMeApi(APIView):
    """The caller's own profile (cached per user as rendered JSON; every change invalidates it)."""

    permission_classes = [IsAuthenticatedPrincipal]
    OutputSerializer = s.OwnProfileSerializer
    InputSerializer = s.ProfileUpdateSerializer

    @extend_schema(operation_id="users_me_retrieve", summary="Own profile",
                   description="Until the profile is projected from `user.registered`, it is built from the "
                               "token's claims (`email` and `created_at` are then null); never a 404.",
                   responses={200: OutputSerializer, **error_responses(401, 503)})
    def get(self, request):
        body = selectors.profile_me_rendered(
            principal=request.user, render=lambda profile: JSONRenderer().render(self.OutputSerializer(profile).data))
        if getattr(request.accepted_renderer, "format", None) == "json":
            return HttpResponse(body, content_type="application/json")
        return Response(json.loads(body))  # the browsable API renders the same data as HTML

    @extend_schema(operation_id="users_me_update", summary="Edit own profile",
                   description="Only `display_name`, `bio` and `avatar_url`; any other field is a 400. "
                               "A change publishes `user.profile_updated`.",
                   request=InputSerializer, responses={200: OutputSerializer, **error_responses(400, 401, 503)})
    def patch(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        profile = services.profile_update(principal=request.user, changes=serializer.validated_data)
        return Response(self.OutputSerializer(selectors.profile_with_track_record(profile)).data)


class UserMeAvatarApi(ImageUploadMixin, APIView):
    """The caller's uploaded avatar: one at a time, replacing any avatar (uploaded or external) they had."""

    permission_classes = [IsAuthenticatedPrincipal]
    serializer_class = ImageUploadInputSerializer  # the browsable API's upload form
    OutputSerializer = s.OwnProfileSerializer

    @extend_schema(
        operation_id="users_me_avatar_upload", summary="Upload own avatar",
        description="`multipart/form-data` with one file field `image` and nothing else, on the same terms as chart "
                    "uploads (and counted in the same per-user budget): a sound JPEG, PNG, WebP or GIF (first frame) "
                    "at most IMAGE_MAX_BYTES (413 beyond) and IMAGE_MAX_PIXELS pixels; anything else is a 400 naming "
                    "the reason. The image is re-encoded (metadata stripped, orientation applied) and cut to a "
                    "centred square WebP of IMAGE_AVATAR_SIZE pixels (smaller images keep their size), which "
                    "`avatar_url` then names. It replaces the previous avatar, uploaded or external; the previous "
                    "upload's files are deleted. Publishes `user.profile_updated`.",
        request={"multipart/form-data": ImageUploadInputSerializer},
        responses={200: OutputSerializer, **error_responses(400, 401, 429), **upload_error_responses()})
    def put(self, request):
        data = self.uploaded_bytes(request)
        self.count_upload(request)
        profile = services.avatar_upload(principal=request.user, data=data)
        return Response(self.OutputSerializer(selectors.profile_with_track_record(profile)).data)

    @extend_schema(
        operation_id="users_me_avatar_delete", summary="Remove own avatar",
        description="Removes the avatar, uploaded or external: `avatar_url` becomes null and an uploaded avatar's "
                    "files are deleted. Idempotent: without an avatar it is a 204 too (and changes nothing). A "
                    "change publishes `user.profile_updated`.",
        request=None, responses={204: None, **error_responses(401, 503)})
    def delete(self, request):
        services.avatar_remove(principal=request.user)
        return Response(status=http.HTTP_204_NO_CONTENT)


class UserDetailApi(APIView):
    """Anyone's public profile; unknown and deactivated users are 404 alike."""

    permission_classes = [AllowAny]
    OutputSerializer = s.PublicProfileSerializer

    @extend_schema(operation_id="users_public_retrieve", summary="Public profile",
                   responses={200: OutputSerializer, **error_responses(401, 404)})
    def get(self, request, user_id: str):
        return Response(self.OutputSerializer(selectors.profile_get_public(user_id=user_id)).data)


class UserListApi(APIView):
    """Administrators' user directory: search, filters, keyset pagination with signed cursors."""

    permission_classes = [IsAdmin]
    OutputSerializer = s.UserListSerializer

    class FilterSerializer(filters.FilterSerializer):
        """``role`` exactly a role, ``is_active`` exactly ``true`` or ``false``."""

        search = StrictCharField(required=False, max_length=320,
                                 help_text="Case-insensitive prefix of the email or of the display name.")
        role = StrictChoiceField(required=False, choices=ROLES)
        is_active = StrictBooleanField(text=True, required=False, help_text="true or false")

    @extend_schema(operation_id="users_list", summary="List users (admin)", parameters=[FilterSerializer],
                   responses={200: OutputSerializer, **error_responses(400, 401, 403)})
    def get(self, request):
        walk = self.FilterSerializer.walk(request, name="users.list")
        page = selectors.profile_list(**walk.filters, after=walk.after, limit=walk.limit)
        return Response(self.OutputSerializer({"results": page.items, "next": walk.next_url(request.path, page)}).data)
