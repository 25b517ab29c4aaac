"""The OpenAPI facts every signals operation shares: its tag, its error answers, the conditional headers."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from tradesignals.kernel.drf.conditional import IF_NONE_MATCH, read_headers
from tradesignals.kernel.drf.schema import ErrorEnvelopeSerializer

__all__ = ["IF_MATCH", "IF_NONE_MATCH", "TAG", "errors", "read_headers", "written_headers"]

TAG = "trade-signals"


def errors(*codes: int) -> dict:
    text = {400: "Validation error", 401: "Not authenticated", 403: "Permission denied", 404: "Not found",
            409: "Conflict", 412: "Precondition failed (stale If-Match)", 429: "Rate limited"}
    return {code: OpenApiResponse(ErrorEnvelopeSerializer, description=text[code]) for code in codes}


IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False,
                            description='The ETag of the version you edit, compared strongly (exactly "v3"; '
                                        'W/"v3" or v3 never match); stale → 412. A list matches if any tag does.')


# Response headers, each documented on exactly the responses that send it (a read's: kernel read_headers).
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

