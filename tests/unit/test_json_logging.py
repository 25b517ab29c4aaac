"""The JSON log line: the request fields an operator searches by, in one object per line."""
import json
import logging

from tradesignals.kernel.logging import JsonFormatter


def test_json_log_formatter_emits_request_fields():
    record = logging.LogRecord("tradesignals.access", logging.INFO, __file__, 1, "request", (), None)
    record.request_id, record.status, record.path = "rid-00000001", 201, "/x"
    payload = json.loads(JsonFormatter().format(record))
    assert payload["request_id"] == "rid-00000001" and payload["status"] == 201 and payload["path"] == "/x"
    assert payload["level"] == "INFO" and payload["ts"].endswith("Z")
