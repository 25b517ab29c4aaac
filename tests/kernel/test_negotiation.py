"""The negotiation shortcut answers API clients with JSON and leaves every other ``Accept`` to DRF."""
import pytest
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from tradesignals.kernel.drf.negotiation import ApiContentNegotiation


class Probe(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    content_negotiation_class = ApiContentNegotiation

    def get(self, request):
        return Response({"ok": True})


def test_the_project_uses_it():
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is ApiContentNegotiation


@pytest.mark.parametrize(("accept", "query", "content_type"), [
    (None, "", "application/json"),
    ("*/*", "", "application/json"),
    ("application/json", "", "application/json"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", "text/html; charset=utf-8"),
    ("*/*", "?format=api", "text/html; charset=utf-8"),
    ("application/json; indent=4", "", "application/json"),
])
def test_api_clients_get_json_and_browsers_the_browsable_api(accept, query, content_type):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = Probe.as_view()(APIRequestFactory().get("/probe" + query, **headers))
    response.render()
    assert response.status_code == 200
    assert response["Content-Type"] == content_type


def test_an_unsupported_accept_is_still_406():
    response = Probe.as_view()(APIRequestFactory().get("/probe", HTTP_ACCEPT="application/xml"))
    response.render()
    assert response.status_code == 406


@pytest.mark.parametrize("accept", [
    "application/json;q=0",
    "application/json; q=0.0, text/plain",
    "image/png",
    "*/*;q=0",
    "text/html;q=0, application/*;q=0",
])
@pytest.mark.parametrize("path", ["/api/v1/trade-signals/public", "/api/v1/users/me"])
def test_an_accept_that_refuses_json_is_a_406_envelope(client, path, accept):
    """``q=0`` means "not acceptable" (RFC 9110 §12.4.2): never a silent JSON 200. The cached feed (stored bytes
    in a plain HttpResponse) is negotiated before its view runs, on a miss and on a hit alike."""
    for _ in range(2):  # the second request of the feed is a cache hit
        response = client.get(path, HTTP_ACCEPT=accept)
        assert response.status_code == 406, (accept, response.content[:200])
        assert response["Content-Type"] == "application/json"
        error = response.json()["error"]
        assert error["code"] == "not_acceptable"
        assert error["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize(("accept", "content_type"), [
    ("*/*;q=0.1", "application/json"),
    ("application/*", "application/json"),
    ("application/json, */*;q=0", "application/json"),
    ("application/json;q=0.5", "application/json"),
    ("text/html", "text/html; charset=utf-8"),
    ("*/*, application/json;q=0", "text/html; charset=utf-8"),  # JSON refused, anything else welcome
])
def test_accepts_that_allow_a_renderer_keep_working(client, accept, content_type):
    for _ in range(2):
        response = client.get("/api/v1/trade-signals/public", HTTP_ACCEPT=accept)
        assert response.status_code == 200, (accept, response.content[:200])
        assert response["Content-Type"] == content_type


def test_a_refused_format_override_is_406_too():
    response = Probe.as_view()(APIRequestFactory().get("/probe?format=json", HTTP_ACCEPT="application/json;q=0"))
    response.render()
    assert response.status_code == 406
