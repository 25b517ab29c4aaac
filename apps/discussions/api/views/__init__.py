"""Thin views of the discussions API: parse → service/selector → render. Cached reads answer with stored bytes
(and 304s): ``threads`` holds the list, one thread and hiding it; ``comments`` a thread's comments, the thread
under a signal, one comment, hiding and reporting; ``moderation`` the report queue; ``common`` what they share."""
from apps.discussions.api.views.comments import (
    CommentDetailApi,
    CommentHideApi,
    CommentListCreateApi,
    CommentReportApi,
    CommentUnhideApi,
    SignalCommentsApi,
)
from apps.discussions.api.views.moderation import ReportDismissApi, ReportListApi
from apps.discussions.api.views.threads import ThreadDetailApi, ThreadHideApi, ThreadListCreateApi, ThreadUnhideApi

__all__ = ["CommentDetailApi", "CommentHideApi", "CommentListCreateApi", "CommentReportApi", "CommentUnhideApi",
           "ReportDismissApi", "ReportListApi", "SignalCommentsApi", "ThreadDetailApi", "ThreadHideApi",
           "ThreadListCreateApi", "ThreadUnhideApi"]
