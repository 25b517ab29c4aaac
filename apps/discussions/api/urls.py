"""HTTP API of the discussions slice (mounted at /api/v1/discussions/ when the slice is enabled)."""
from django.urls import re_path

from apps.discussions.api import views
from tradesignals.kernel.drf.urls import api_route

# Thread and comment ids are ObjectIds as the product spells them; anything else is the API's JSON 404, and no
# id pattern overlaps a named route (``reports``, ``signals``, ``comments``).
_ID = r"(?P<thread_id>[0-9a-f]{24})"
_CID = r"(?P<comment_id>[0-9a-f]{24})"

urlpatterns = [
    # The bare `/api/v1/discussions` reaches this route through the root URLconf's prefix delegate.
    re_path(r"^$", views.ThreadListCreateApi.as_view(), name="discussions"),
    api_route("reports", views.ReportListApi.as_view(), name="discussions-reports"),
    api_route(r"reports/(?P<report_id>[^/]+)/dismiss", views.ReportDismissApi.as_view(),
              name="discussions-report-dismiss"),
    api_route(rf"comments/{_CID}/report", views.CommentReportApi.as_view(), name="discussions-comment-report"),
    api_route(r"signals/(?P<signal_id>[^/]+)/comments", views.SignalCommentsApi.as_view(),
              name="discussions-signal-comments"),
    api_route(rf"{_ID}/comments/{_CID}/hide", views.CommentHideApi.as_view(), name="discussions-comment-hide"),
    api_route(rf"{_ID}/comments/{_CID}/unhide", views.CommentUnhideApi.as_view(), name="discussions-comment-unhide"),
    api_route(rf"{_ID}/comments/{_CID}", views.CommentDetailApi.as_view(), name="discussions-comment"),
    api_route(rf"{_ID}/comments", views.CommentListCreateApi.as_view(), name="discussions-comments"),
    api_route(rf"{_ID}/hide", views.ThreadHideApi.as_view(), name="discussions-thread-hide"),
    api_route(rf"{_ID}/unhide", views.ThreadUnhideApi.as_view(), name="discussions-thread-unhide"),
    api_route(_ID, views.ThreadDetailApi.as_view(), name="discussions-thread"),
]
