"""The one assertion on the product's error envelope, for Django test-client and requests responses alike."""
from __future__ import annotations


def assert_error(response, status: int, code: str) -> dict:
    """``response`` is the JSON error envelope with this status and code: ``{"error": {...}}`` and nothing
    else, a message for people, and the request id the ``X-Request-ID`` header carries (so a report can be
    matched to the logs). Returns the ``error`` object for further checks."""
    headers = response.headers  # case-insensitive on both Django's HttpResponse and requests' Response
    assert response.status_code == status, response.content[:500]
    assert headers["Content-Type"].startswith("application/json"), headers["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, error
    assert error["message"], error
    assert error["request_id"] == headers["X-Request-ID"]
    return error


def assert_unavailable(response) -> dict:
    """A dependency is down: the JSON 503 ``service_unavailable``, never a hang or an HTML page."""
    return assert_error(response, 503, "service_unavailable")
