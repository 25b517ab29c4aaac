"""Root URLconf: kernel routes plus the URL mounts of the enabled slices only."""
import re

from django.urls import include, path, re_path

from tradesignals import slices

handler400 = "tradesignals.kernel.views.bad_request"
handler403 = "tradesignals.kernel.views.permission_denied"
handler404 = "tradesignals.kernel.views.not_found"
handler500 = "tradesignals.kernel.views.server_error"

urlpatterns = [path("", include("tradesignals.kernel.urls"))]

for _slice in slices.enabled():
    # The prefix's own slash is optional too, so `/api/v1/trade-signals` (the collection) resolves.
    urlpatterns.append(re_path(rf"^{re.escape(_slice.api_prefix.rstrip('/'))}(?:/|$)", include(_slice.urlconf)))
    for _prefix, _urlconf in _slice.extra_urlconfs:
        urlpatterns.append(path(_prefix, include(_urlconf)))
