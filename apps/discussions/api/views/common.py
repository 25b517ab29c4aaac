"""What every discussions view shares: the tag, cache headers by viewer, rate limits, a written response."""
from __future__ import annotations

from django.conf import settings
from rest_framework import status as http
from rest_framework.response import Response

from apps.discussions import selectors
from apps.discussions.api.serializers import render_page
from tradesignals.kernel import ratelimit
from tradesignals.kernel.drf.conditional import PRIVATE, CachedResponseMixin
from tradesignals.kernel.drf.pagination import Page, Walk

TAG = "discussions"


def viewer(request) -> str:
    return selectors.viewer_class(request.user)


def cache_control(request) -> str:
    """Anonymous readers share one representation a cache may keep briefly; a signed-in caller's is private."""
    if request.user is None:
        return f"public, max-age={settings.CACHE_PUBLIC_MAX_AGE}"
    return PRIVATE


def count_post(request, kind: str) -> None:
    """One post against the caller's hourly budget of ``kind`` (thread, comment, report): 429 beyond it."""
    maximum = getattr(settings, f"DISCUSSION_{kind.upper()}_RATE_MAX")
    window = getattr(settings, f"DISCUSSION_{kind.upper()}_RATE_WINDOW")
    ratelimit.hit(request, group=f"discussions:{kind}:user", key=request.user.user_id,
                  rate=ratelimit.rate(maximum, window), message=f"Too many {kind}s posted; retry later.")


def written(data: dict, *, status: int = http.HTTP_200_OK, headers: dict | None = None) -> Response:
    response = Response(data, status=status)
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class CachedPageMixin(CachedResponseMixin):
    def page_response(self, request, entry: dict):
        return self.cached_response(request, body=entry["body"], etag=entry["etag"], hit=entry["hit"],
                                    cache_control=cache_control(request))

    @staticmethod
    def renderer(request, walk: Walk, item):
        """``render(page)`` for a selector: the items as ``item`` shapes them, and the next page's link."""
        def render(page: Page) -> bytes:
            return render_page([item(row) for row in page.items], walk.next_url(request.path, page))

        return render
