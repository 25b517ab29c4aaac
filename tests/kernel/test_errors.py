"""The one error envelope, for DRF-level and Django-level errors alike."""
import json

import pytest

from tests.support.errors import assert_error

pytestmark = pytest.mark.urls("tests.support.probe_urls")


def test_unknown_api_path_is_json_404(client):
    assert_error(client.get("/api/v1/does-not-exist"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    assert_error(client.get("/api/probe/echo"), 405, "method_not_allowed")


def test_malformed_json_is_400(client):
    response = client.post("/api/probe/echo", data='{"a": ', content_type="application/json")
    assert_error(response, 400, "malformed_request")


def test_valid_json_round_trips_with_or_without_trailing_slash(client):
    for path in ("/api/probe/echo", "/api/probe/echo/"):
        response = client.post(path, data=json.dumps({"a": 1}), content_type="application/json")
        assert response.status_code == 200
        assert response.json() == {"received": {"a": 1}}


def test_oversized_body_is_413(client, settings):
    body = json.dumps({"blob": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    assert_error(client.post("/api/probe/echo", data=body, content_type="application/json"), 413,
                    "payload_too_large")


def test_wrong_content_type_is_415(client):
    assert_error(client.post("/api/probe/echo", data="a=1", content_type="text/plain"), 415,
                    "unsupported_media_type")


def test_unhandled_exception_is_500_without_stack_trace(client):
    response = client.get("/api/probe/boom")
    error = assert_error(response, 500, "internal_error")
    text = response.content.decode()
    assert "Traceback" not in text and "/etc/passwd" not in text and "RuntimeError" not in text
    assert error["details"] is None


def test_protected_endpoint_without_credentials_is_401(client):
    response = client.get("/api/probe/whoami")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_lost_transaction_is_a_409_not_a_500():
    from pymongo.errors import OperationFailure

    from tradesignals.kernel.errors import to_application_error

    conflict = to_application_error(OperationFailure("WriteConflict", code=112))
    assert (conflict.status, conflict.code) == (409, "conflict")
    labelled = OperationFailure("aborted", code=251, details={"errorLabels": ["TransientTransactionError"]})
    assert to_application_error(labelled).status == 409
    assert to_application_error(OperationFailure("other", code=2)) is None  # still an unexpected 500
