"""Threads: the forum list (and starting a thread), one thread, hiding it."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.discussions import selectors, services
from apps.discussions.api import serializers as s
from apps.discussions.api.views.common import TAG, CachedPageMixin, cache_control, count_post, viewer, written
from tradesignals.kernel.drf.conditional import IF_NONE_MATCH, read_headers
from tradesignals.kernel.drf.permissions import IsAdmin, IsAuthenticatedPrincipal
from tradesignals.kernel.drf.schema import error_responses
from tradesignals.kernel.errors import NotFound

CREATED_LOCATION = OpenApiParameter("Location", {"type": "string", "format": "uri"}, OpenApiParameter.HEADER,
                                    required=True, response=[201], description="The absolute URL of the new thread.")


class ThreadListCreateApi(CachedPageMixin, APIView):
    FilterSerializer = s.ThreadFilterSerializer

    def get_permissions(self):
        return [AllowAny()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [IsAuthenticatedPrincipal()]

    @extend_schema(tags=[TAG], operation_id="discussions_threads_list", summary="Threads, newest activity first",
                   description="Forum threads and the threads under approved signals; `signal_id` narrows to the "
                               "thread under one signal. Hidden and closed threads are listed for administrators "
                               "only.",
                   parameters=[FilterSerializer, IF_NONE_MATCH, *read_headers(200, 304)],
                   responses={200: s.ThreadPageOutputSerializer, 304: None, **error_responses(400, 401, 429)})
    def get(self, request):
        who = viewer(request)
        walk = self.FilterSerializer.walk(request, name="discussions.threads", private={"viewer": who})
        render = self.renderer(request, walk, lambda thread: s.thread_data(thread, who))
        entry = selectors.thread_list_rendered(viewer=who, filters=walk.filters, after=walk.after, limit=walk.limit,
                                               render=render)
        return self.page_response(request, entry)

    @extend_schema(tags=[TAG], operation_id="discussions_threads_create", summary="Start a forum thread",
                   description="At most DISCUSSION_THREAD_RATE_MAX threads per DISCUSSION_THREAD_RATE_WINDOW (429); "
                               "the same body twice within DISCUSSION_DUPLICATE_WINDOW is a 409.",
                   request=s.ThreadInputSerializer, parameters=[CREATED_LOCATION],
                   responses={201: s.ThreadOutputSerializer, **error_responses(400, 401, 409, 429)})
    def post(self, request):
        serializer = s.ThreadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count_post(request, "thread")
        thread = services.thread_create(actor=request.user, **serializer.validated_data)
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{thread.id}")
        return written(s.thread_data(thread, viewer(request)), status=http.HTTP_201_CREATED,
                       headers={"Location": location})


class ThreadDetailApi(CachedPageMixin, APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [IsAuthenticatedPrincipal()]

    def action_allowed(self, request, method: str, data) -> bool:
        thread = selectors.thread_get(thread_id=self.kwargs["thread_id"])
        if not selectors.thread_visible_to(thread, viewer=viewer(request)):
            return False
        if method == "PATCH":
            return services.thread_may_update(actor=request.user, thread=thread)
        if method == "DELETE":
            return services.thread_may_delete(actor=request.user, thread=thread)
        return False

    @extend_schema(tags=[TAG], operation_id="discussions_thread_retrieve", summary="One thread",
                   parameters=[IF_NONE_MATCH, *read_headers(200, 304)],
                   responses={200: s.ThreadOutputSerializer, 304: None, **error_responses(401, 404, 429)})
    def get(self, request, thread_id: str):
        entry = selectors.thread_detail_rendered(thread_id=thread_id, render=s.render_thread)
        who = viewer(request)
        # Authorisation runs on every read, cached or not.
        if entry is None or not (who == selectors.ADMIN or entry["meta"]["visible"]):
            raise NotFound(services.THREAD_NOT_FOUND)
        return self.cached_response(request, body=entry[who], etag=entry["etags"][who], hit=entry["hit"],
                                    cache_control=cache_control(request))

    @extend_schema(tags=[TAG], operation_id="discussions_thread_update", summary="Edit your forum thread",
                   description="Its author only; a signal's thread follows its signal and is edited by no one (403). "
                               "`edited_at` is set.",
                   request=s.ThreadUpdateInputSerializer,
                   responses={200: s.ThreadOutputSerializer, **error_responses(400, 401, 403, 404, 409, 429)})
    def patch(self, request, thread_id: str):
        serializer = s.ThreadUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        thread = services.thread_update(thread_id=thread_id, actor=request.user, data=serializer.validated_data)
        return written(s.thread_data(thread, viewer(request)))

    @extend_schema(tags=[TAG], operation_id="discussions_thread_delete", summary="Delete a thread and its comments",
                   description="Its author (forum threads) or an administrator.",
                   responses={204: None, **error_responses(401, 403, 404, 409, 429)})
    def delete(self, request, thread_id: str):
        services.thread_delete(thread_id=thread_id, actor=request.user)
        return Response(status=http.HTTP_204_NO_CONTENT)


class ThreadHideApi(APIView):
    permission_classes = [IsAdmin]
    hidden = True

    @extend_schema(tags=[TAG], operation_id="discussions_thread_hide", summary="Hide a thread (admin)",
                   description="It disappears, with its comments, for everyone but administrators. Hiding a hidden "
                               "thread changes nothing.",
                   request=s.HideInputSerializer,
                   responses={200: s.ThreadOutputSerializer, **error_responses(400, 401, 403, 404, 409, 429)})
    def post(self, request, thread_id: str):
        serializer = s.HideInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thread = services.thread_set_hidden(thread_id=thread_id, actor=request.user, hidden=True,
                                            reason=serializer.validated_data["reason"])
        return written(s.thread_data(thread, selectors.ADMIN))


class ThreadUnhideApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(tags=[TAG], operation_id="discussions_thread_unhide", summary="Show a hidden thread again (admin)",
                   request=s.UnhideInputSerializer,
                   responses={200: s.ThreadOutputSerializer, **error_responses(400, 401, 403, 404, 409, 429)})
    def post(self, request, thread_id: str):
        serializer = s.UnhideInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thread = services.thread_set_hidden(thread_id=thread_id, actor=request.user, hidden=False)
        return written(s.thread_data(thread, selectors.ADMIN))
