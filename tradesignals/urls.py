"""Root URLconf: kernel routes plus the URL mounts of the enabled slices only."""
from django.urls import include, path

from tradesignals import slices

handler400 = "tradesignals.kernel.views.bad_request"
handler403 = "tradesignals.kernel.views.permission_denied"
handler404 = "tradesignals.kernel.views.not_found"
handler500 = "tradesignals.kernel.views.server_error"

urlpatterns = [path("", include("tradesignals.kernel.urls"))]

for _slice in slices.enabled():
    urlpatterns.append(path(_slice.api_prefix, include(_slice.urlconf)))
    for _prefix, _urlconf in _slice.extra_urlconfs:
        urlpatterns.append(path(_prefix, include(_urlconf)))
