"""Test-only routes for the browsable API renderer: real DRF views with and without the ``action_allowed``
hook, on a collection route and on object routes, plus the product's own routes."""
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from tradesignals.kernel.drf.renderers import BrowsableAPIRenderer
from tradesignals.kernel.drf.urls import api_route
from tradesignals.kernel.errors import NotFound, RateLimited
from tradesignals.urls import handler400, handler403, handler404, handler500  # noqa: F401


class NoteInput(serializers.Serializer):
    title = serializers.CharField(max_length=80)
    body = serializers.CharField(max_length=500, allow_blank=True, required=False)


class Probe(APIView):
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]


class NoteListApi(Probe):
    """A collection anyone may read and any signed-in caller may add to."""

    def get_permissions(self):
        return [AllowAny()] if self.request.method in ("GET", "HEAD", "OPTIONS") else super().get_permissions()

    def get(self, request):
        return Response({"results": []})

    @extend_schema(request=NoteInput)
    def post(self, request):
        return Response(request.data, status=201)


NOTE = {"id": "n1", "owner_id": "", "title": "Levels", "body": "Watch the weekly close.", "version": 3}


class NoteApi(Probe):
    """An object whose permission classes admit every signed-in caller to PATCH and DELETE; the real rule
    (here: owner only) is known to the view alone."""

    def get(self, request, note_id: str):
        if note_id == "missing":
            raise NotFound()
        if note_id == "busy":
            raise RateLimited(retry_after=5)
        return Response({**NOTE, "owner_id": request.query_params.get("owner", "")})

    @extend_schema(request=NoteInput)
    def patch(self, request, note_id: str):
        return Response({**NOTE, **request.data})

    def delete(self, request, note_id: str):
        return Response(status=204)


class OwnedNoteApi(NoteApi):
    def action_allowed(self, request, method: str, data) -> bool:
        """The owner edits; nobody deletes."""
        return method == "PATCH" and isinstance(data, dict) and data.get("owner_id") == request.user.user_id


class BrokenNoteApi(NoteApi):
    def action_allowed(self, request, method: str, data) -> bool:
        raise RuntimeError("the ownership store is down")


class UnannotatedListApi(Probe):
    def get(self, request):
        return Response({"results": []})

    def post(self, request):
        return Response(request.data, status=201)


class BoomApi(Probe):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("secret internal detail /etc/passwd")


urlpatterns = [
    api_route("api/probe/notes", NoteListApi.as_view()),
    api_route("api/probe/plain", UnannotatedListApi.as_view()),
    api_route("api/probe/boom", BoomApi.as_view()),
    api_route(r"api/probe/notes/(?P<note_id>[a-z0-9]+)", NoteApi.as_view()),
    api_route(r"api/probe/owned/(?P<note_id>[a-z0-9]+)", OwnedNoteApi.as_view()),
    api_route(r"api/probe/broken/(?P<note_id>[a-z0-9]+)", BrokenNoteApi.as_view()),
    path("", include("tradesignals.urls")),
]
