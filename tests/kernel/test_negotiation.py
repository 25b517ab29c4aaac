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
