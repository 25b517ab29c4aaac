"""Root URLconf: kernel routes plus the URL mounts of the enabled slices only."""
from django.urls import include, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt

from tradesignals import slices

handler400 = "tradesignals.kernel.views.bad_request"
handler403 = "tradesignals.kernel.views.permission_denied"
handler404 = "tradesignals.kernel.views.not_found"
handler500 = "tradesignals.kernel.views.server_error"


def _bare_prefix(prefix: str):
    """``/api/v1/trade-signals`` answers like ``/api/v1/trade-signals/`` (the collection), without a redirect.

    A plain function view that delegates, so the OpenAPI schema lists the collection once; CSRF is left to
    the DRF view it calls (cookie-authenticated unsafe requests are still checked there).
    """

    @csrf_exempt
    def view(request, *args, **kwargs):
        match = resolve(f"/{prefix}")
        return match.func(request, *match.args, **match.kwargs)

    return view


urlpatterns = [path("", include("tradesignals.kernel.urls"))]

for _slice in slices.enabled():
    urlpatterns.append(path(_slice.api_prefix, include(_slice.urlconf)))
    urlpatterns.append(re_path(rf"^{_slice.api_prefix.rstrip('/')}$", _bare_prefix(_slice.api_prefix)))
    for _prefix, _urlconf in _slice.extra_urlconfs:
        urlpatterns.append(path(_prefix, include(_urlconf)))
