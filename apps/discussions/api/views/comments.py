"""Comments: a thread's pages (and posting), the thread under a signal, one comment, hiding, reporting."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
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


def _read_or_post(view) -> list:
    return [AllowAny()] if view.request.method in ("GET", "HEAD", "OPTIONS") else [IsAuthenticatedPrincipal()]


def _created(request, comment):
    return written(s.comment_data(comment, viewer(request)), status=http.HTTP_201_CREATED)


class CommentListCreateApi(CachedPageMixin, APIView):
    FilterSerializer = s.PageFilterSerializer

    def get_permissions(self):
        return _read_or_post(self)

    @extend_schema(tags=[TAG], operation_id="discussions_comments_list", summary="A thread's comments, oldest first",
                   parameters=[FilterSerializer, IF_NONE_MATCH, *read_headers(200, 304)],
                   responses={200: s.CommentPageOutputSerializer, 304: None, **error_responses(400, 401, 404, 429)})
    def get(self, request, thread_id: str):
        who = viewer(request)
        walk = self.FilterSerializer.walk(request, name="discussions.comments",
                                          private={"thread": thread_id, "viewer": who})
        render = self.renderer(request, walk, lambda comment: s.comment_data(comment, who))
        entry = selectors.comment_page_rendered(thread_id=thread_id, viewer=who, after=walk.after, limit=walk.limit,
                                                render=render)
        if entry is None or not (who == selectors.ADMIN or entry["meta"]["visible"]):
            raise NotFound(services.THREAD_NOT_FOUND)
        return self.page_response(request, entry)

    @extend_schema(tags=[TAG], operation_id="discussions_comments_create", summary="Comment in a thread",
                   description="A hidden or closed thread takes no comment (404). At most "
                               "DISCUSSION_COMMENT_RATE_MAX comments per DISCUSSION_COMMENT_RATE_WINDOW (429); the "
                               "same body twice within DISCUSSION_DUPLICATE_WINDOW is a 409.",
                   request=s.CommentInputSerializer,
                   responses={201: s.CommentOutputSerializer, **error_responses(400, 401, 404, 409, 429)})
    def post(self, request, thread_id: str):
        serializer = s.CommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count_post(request, "comment")
        comment = services.comment_create(thread_id=thread_id, actor=request.user, **serializer.validated_data)
        return _created(request, comment)


class SignalCommentsApi(CachedPageMixin, APIView):
    FilterSerializer = s.PageFilterSerializer

    def get_permissions(self):
        return _read_or_post(self)

    @extend_schema(tags=[TAG], operation_id="discussions_signal_comments_list",
                   summary="The comments under an approved trade signal, oldest first",
                   description="A signal that is not approved (or does not exist) is a 404; one without comments yet "
                               "has an empty page.",
                   parameters=[FilterSerializer, IF_NONE_MATCH, *read_headers(200, 304)],
                   responses={200: s.CommentPageOutputSerializer, 304: None, **error_responses(400, 401, 404, 429)})
    def get(self, request, signal_id: str):
        who = viewer(request)
        ref = selectors.signal_ref_get(signal_id=signal_id)
        if not selectors.signal_is_open(ref):
            raise NotFound(services.SIGNAL_NOT_FOUND)
        walk = self.FilterSerializer.walk(request, name="discussions.signal-comments",
                                          private={"signal": signal_id, "viewer": who})
        render = self.renderer(request, walk, lambda comment: s.comment_data(comment, who))
        if ref.thread_id is None:
            _ = walk.after  # a forged cursor is a 400 here too
            return self.page_response(request, selectors.empty_page_rendered(render=render))
        entry = selectors.comment_page_rendered(thread_id=str(ref.thread_id), viewer=who, after=walk.after,
                                                limit=walk.limit, render=render, route="signal")
        if entry is None or not (who == selectors.ADMIN or entry["meta"]["visible"]):
            raise NotFound(services.SIGNAL_NOT_FOUND)
        return self.page_response(request, entry)

    @extend_schema(tags=[TAG], operation_id="discussions_signal_comments_create",
                   summary="Comment under an approved trade signal",
                   description="The signal's thread is created with its first comment. Limits as for any comment.",
                   request=s.CommentInputSerializer,
                   responses={201: s.CommentOutputSerializer, **error_responses(400, 401, 404, 409, 429)})
    def post(self, request, signal_id: str):
        serializer = s.CommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count_post(request, "comment")
        comment = services.signal_comment_create(signal_id=signal_id, actor=request.user, **serializer.validated_data)
        return _created(request, comment)


class CommentDetailApi(APIView):
    def get_permissions(self):
        return _read_or_post(self)

    def _comment(self, request):
        thread = selectors.thread_get(thread_id=self.kwargs["thread_id"])
        who = viewer(request)
        if not selectors.thread_visible_to(thread, viewer=who):
            return None, None
        comment = selectors.comment_get(comment_id=self.kwargs["comment_id"], thread_id=self.kwargs["thread_id"])
        if not selectors.comment_visible_to(comment, viewer=who):
            return thread, None
        return thread, comment

    def action_allowed(self, request, method: str, data) -> bool:
        thread, comment = self._comment(request)
        if comment is None:
            return False
        if method == "PATCH":
            return services.comment_may_update(actor=request.user, comment=comment)
        if method == "DELETE":
            return services.comment_may_delete(actor=request.user, thread=thread, comment=comment)
        return False

    @extend_schema(tags=[TAG], operation_id="discussions_comment_retrieve", summary="One comment",
                   responses={200: s.CommentOutputSerializer, **error_responses(401, 404, 429)})
    def get(self, request, thread_id: str, comment_id: str):
        _thread, comment = self._comment(request)
        if comment is None:
            raise NotFound(services.COMMENT_NOT_FOUND)
        response = Response(s.comment_data(comment, viewer(request)))
        response["Cache-Control"] = cache_control(request)
        return response

    @extend_schema(tags=[TAG], operation_id="discussions_comment_update", summary="Edit your comment",
                   description="Its author, within DISCUSSION_EDIT_WINDOW (15 minutes) of posting it; then 403. "
                               "`edited_at` is set.",
                   request=s.CommentUpdateInputSerializer,
                   responses={200: s.CommentOutputSerializer, **error_responses(400, 401, 403, 404, 409, 429)})
    def patch(self, request, thread_id: str, comment_id: str):
        serializer = s.CommentUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_update(thread_id=thread_id, comment_id=comment_id, actor=request.user,
                                          **serializer.validated_data)
        return written(s.comment_data(comment, viewer(request)))

    @extend_schema(tags=[TAG], operation_id="discussions_comment_delete", summary="Delete a comment",
                   description="Its author, the thread's author (a signal's owner under their signal) or an "
                               "administrator.",
                   responses={204: None, **error_responses(401, 403, 404, 409, 429)})
    def delete(self, request, thread_id: str, comment_id: str):
        services.comment_delete(thread_id=thread_id, comment_id=comment_id, actor=request.user)
        return Response(status=http.HTTP_204_NO_CONTENT)


class CommentHideApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(tags=[TAG], operation_id="discussions_comment_hide", summary="Hide a comment (admin)",
                   description="It disappears for everyone but administrators; its open reports are resolved. "
                               "Publishes `discussion.comment_hidden`.",
                   request=s.HideInputSerializer,
                   responses={200: s.CommentOutputSerializer, **error_responses(400, 401, 403, 404, 409, 429)})
    def post(self, request, thread_id: str, comment_id: str):
        serializer = s.HideInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_set_hidden(thread_id=thread_id, comment_id=comment_id, actor=request.user,
                                              hidden=True, reason=serializer.validated_data["reason"])
        return written(s.comment_data(comment, selectors.ADMIN))


class CommentUnhideApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(tags=[TAG], operation_id="discussions_comment_unhide", summary="Show a hidden comment again (admin)",
                   request=s.UnhideInputSerializer,
                   responses={200: s.CommentOutputSerializer, **error_responses(400, 401, 403, 404, 409, 429)})
    def post(self, request, thread_id: str, comment_id: str):
        serializer = s.UnhideInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_set_hidden(thread_id=thread_id, comment_id=comment_id, actor=request.user,
                                              hidden=False)
        return written(s.comment_data(comment, selectors.ADMIN))


class CommentReportApi(APIView):
    permission_classes = [IsAuthenticatedPrincipal]

    @extend_schema(tags=[TAG], operation_id="discussions_comment_report", summary="Report a comment",
                   description="Once per user per comment (409 the second time); not your own (403). At most "
                               "DISCUSSION_REPORT_RATE_MAX reports per DISCUSSION_REPORT_RATE_WINDOW (429).",
                   request=s.ReportInputSerializer,
                   responses={202: s.ReportOutputSerializer, **error_responses(400, 401, 403, 404, 409, 429)})
    def post(self, request, comment_id: str):
        serializer = s.ReportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count_post(request, "report")
        report = services.report_create(comment_id=comment_id, actor=request.user, **serializer.validated_data)
        return written(s.report_data(report), status=http.HTTP_202_ACCEPTED)
