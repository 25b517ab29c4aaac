"""The OpenAPI facts every signals operation shares: its tag, its error answers, the conditional headers."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from tradesignals.kernel.drf.schema import ErrorEnvelopeSerializer

TAG = "trade-signals"


def errors(*codes: int) -> dict:
    text = {400: "Validation error", 401: "Not authenticated", 403: "Permission denied", 404: "Not found",
            409: "Conflict", 412: "Precondition failed (stale If-Match)", 429: "Rate limited"}
    return {code: OpenApiResponse(ErrorEnvelopeSerializer, description=text[code]) for code in codes}


IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False,
                            description='The ETag of the version you edit, compared strongly (exactly "v3"; '
                                        'W/"v3" or v3 never match); stale → 412. A list matches if any tag does.')
IF_NONE_MATCH = OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False,
                                 description="A previously received ETag; unchanged → 304.")

# Response headers, each documented on exactly the responses that send it.
_ENTITY_TAG = {"type": "string", "pattern": '^(?:W/)?"[!#-~]*"$'}  # RFC 9110 entity-tag


def read_headers(*statuses: int) -> list[OpenApiParameter]:
    """What ``cached_response`` sends with every answer it gives (a 304 included)."""
    return [
        OpenApiParameter("ETag", _ENTITY_TAG, OpenApiParameter.HEADER, required=True, response=list(statuses),
                         description="Tag of this representation, for If-None-Match (the gateway weakens it "
                                     "to W/ when it compresses a list)."),
        OpenApiParameter("X-Cache", {"type": "string", "enum": ["hit", "miss"]}, OpenApiParameter.HEADER,
                         required=True, response=list(statuses),
                         description="hit: served from the rendered-response cache; miss: read from MongoDB."),
    ]


def written_headers(status: int, *, location: bool = False) -> list[OpenApiParameter]:
    """What ``written`` sends: the strong tag of the new version (for If-Match), and a create's Location."""
    headers = [OpenApiParameter("ETag", {"type": "string", "pattern": '^"v[1-9][0-9]*"$'},
                                OpenApiParameter.HEADER, required=True, response=[status],
                                description='The new version\'s strong tag ("v<version>"); send it as If-Match '
                                            "with the next edit, review or delete.")]
    if location:
        headers.append(OpenApiParameter("Location", {"type": "string", "format": "uri"}, OpenApiParameter.HEADER,
                                        required=True, response=[status],
                                        description="The absolute URL of the created signal."))
    return headers

