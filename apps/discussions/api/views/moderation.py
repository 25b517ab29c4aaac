"""The administrators' report queue."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apps.discussions import selectors, services
from apps.discussions.api import serializers as s
from apps.discussions.api.views.common import TAG, CachedPageMixin, written
from tradesignals.kernel.drf.conditional import IF_NONE_MATCH, read_headers
from tradesignals.kernel.drf.permissions import IsAdmin
from tradesignals.kernel.drf.schema import error_responses


class ReportListApi(CachedPageMixin, APIView):
    permission_classes = [IsAdmin]
    FilterSerializer = s.PageFilterSerializer

    @extend_schema(tags=[TAG], operation_id="discussions_reports_list", summary="Open reports, oldest first (admin)",
                   parameters=[FilterSerializer, IF_NONE_MATCH, *read_headers(200, 304)],
                   responses={200: s.ReportPageOutputSerializer, 304: None, **error_responses(400, 401, 403, 429)})
    def get(self, request):
        walk = self.FilterSerializer.walk(request, name="discussions.reports")
        entry = selectors.report_list_rendered(after=walk.after, limit=walk.limit,
                                               render=self.renderer(request, walk, s.report_data))
        # Who reported what: personal data, kept by no cache (the server's own entry is invalidated exactly).
        return self.cached_response(request, body=entry["body"], etag=entry["etag"], hit=entry["hit"],
                                    cache_control="no-store")


class ReportDismissApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(tags=[TAG], operation_id="discussions_report_dismiss",
                   summary="Close an open report without hiding the comment (admin)",
                   request=s.UnhideInputSerializer,
                   responses={200: s.ReportOutputSerializer, **error_responses(400, 401, 403, 404, 429)})
    def post(self, request, report_id: str):
        serializer = s.UnhideInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return written(s.report_data(services.report_dismiss(report_id=report_id, actor=request.user)))
