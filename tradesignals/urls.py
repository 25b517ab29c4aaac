"""Root URLconf: kernel routes, the URL mounts of the enabled slices only, and the whole API's document.

``/api/schema/`` and ``/api/docs/`` describe every slice, whichever slices this process mounts: the document
is generated from ``tradesignals.schema_urls`` (the all-in-one URLconf, against which nothing is resolved),
so in a split deployment the gateway can send the docs to any instance and every instance answers with the
all-in-one server's document. Generated from the code on each request, it cannot fall behind a route.
"""
from __future__ import annotations

from django.conf import settings
from django.urls import include, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tradesignals import slices

handler400 = "tradesignals.kernel.views.bad_request"
handler403 = "tradesignals.kernel.views.permission_denied"
handler404 = "tradesignals.kernel.views.not_found"
handler500 = "tradesignals.kernel.views.server_error"

SCHEMA_URLCONF = "tradesignals.schema_urls"


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


def mounts(selected) -> list:
    """The root URLconf of a process serving ``selected`` slices: the kernel's routes, the slices' mounts and
    the docs. With every slice it is the all-in-one URLconf the document is generated from
    (``tradesignals.schema_urls``), so what a process serves and what the document describes come from one
    builder and cannot disagree on a route."""
    patterns = [path("", include("tradesignals.kernel.urls"))]
    for _slice in selected:
        patterns.append(path(_slice.api_prefix, include(_slice.urlconf)))
        patterns.append(re_path(rf"^{_slice.api_prefix.rstrip('/')}$", _bare_prefix(_slice.api_prefix)))
        for prefix, urlconf in _slice.extra_urlconfs:
            patterns.append(path(prefix, include(urlconf)))
    patterns += [
        path("api/schema/", SpectacularAPIView.as_view(urlconf=SCHEMA_URLCONF, custom_settings=WHOLE_API_SETTINGS),
             name="schema"),
        path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    ]
    return patterns


def whole_api_description() -> str:
    """The document's description: what the product is, and that the document is the whole API behind the
    gateway — a slice instance reached directly answers 404 for the other slices' paths."""
    owners = "; ".join(
        f"{s.name}: " + ", ".join(f"`/{prefix}`" for prefix in (s.api_prefix, *(p for p, _ in s.extra_urlconfs)))
        for s in slices.SLICES.values()
    )
    return (
        f"{settings.SPECTACULAR_SETTINGS.get('DESCRIPTION', '')}\n\n"
        "This document describes the whole API — every slice — whichever instance serves it. In a split "
        "deployment the gateway routes each path prefix to the slice that owns it "
        f"({owners}); send requests to the gateway, not to an instance."
    )


# Relative: the host that served the document (the gateway, or the all-in-one server) serves every path.
WHOLE_API_SETTINGS = {
    "DESCRIPTION": whole_api_description(),
    "SERVERS": [{"url": "/", "description": "The gateway (or the all-in-one server): every path below."}],
}

urlpatterns = mounts(slices.enabled())
