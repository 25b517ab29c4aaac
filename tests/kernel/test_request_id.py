"""Every response carries X-Request-ID: a valid incoming id is kept, anything else replaced."""
import logging
import re

import pytest


def test_fresh_id_when_none_sent(client):
    response = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert client.get("/healthz")["X-Request-ID"] != response["X-Request-ID"]


def test_valid_incoming_id_is_kept(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="req-1234abcd-client")
    assert response["X-Request-ID"] == "req-1234abcd-client"


@pytest.mark.parametrize("bad", ["short", "has space inside it", "x" * 200, "<script>alert(1)</script>", "a\tb"])
def test_invalid_incoming_id_is_replaced(client, bad):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_request_id_in_error_body_and_access_log(client, caplog):
    with caplog.at_level(logging.INFO, logger="tradesignals.access"):
        response = client.get("/api/v1/nowhere", HTTP_X_REQUEST_ID="trace-abcdef123")
    assert response.json()["error"]["request_id"] == "trace-abcdef123"
    records = [r for r in caplog.records if r.name == "tradesignals.access"]
    assert records, "an access log line is written"
    line = records[-1]
    assert (line.request_id, line.method, line.path, line.status) == ("trace-abcdef123", "GET", "/api/v1/nowhere", 404)
    assert line.duration_ms >= 0
