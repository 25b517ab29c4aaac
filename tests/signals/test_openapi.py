"""The OpenAPI schema documents every signals operation with its body, filters and error responses."""
import pytest

OPERATIONS = {
    ("/api/v1/trade-signals", "get"): ({"status", "symbol", "direction", "timeframe", "limit", "cursor"},
                                        {"200", "400", "401"}),
    ("/api/v1/trade-signals", "post"): (set(), {"201", "400", "401"}),
    ("/api/v1/trade-signals/public", "get"): ({"symbol", "direction", "timeframe", "limit", "cursor"}, {"200", "400"}),
    ("/api/v1/trade-signals/admin", "get"): ({"owner_id", "status", "symbol", "limit", "cursor"},
                                              {"200", "400", "401", "403"}),
    ("/api/v1/trade-signals/{signal_id}", "get"): (set(), {"200", "304", "404"}),
    ("/api/v1/trade-signals/{signal_id}", "patch"): (set(), {"200", "400", "401", "403", "404", "409", "412"}),
    ("/api/v1/trade-signals/{signal_id}", "delete"): (set(), {"204", "401", "403", "404", "412"}),
    ("/api/v1/trade-signals/{signal_id}/status", "patch"): (set(), {"200", "400", "401", "403", "404", "409",
                                                                    "412"}),
}


@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize(("path", "method"), list(OPERATIONS))
def test_operation_is_documented(schema, path, method):
    operation = schema["paths"][path][method]
    params, codes = OPERATIONS[(path, method)]
    assert params <= {p["name"] for p in operation.get("parameters", [])}
    assert codes <= set(operation["responses"])
    for code in codes - {"200", "201", "204", "304"}:
        ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorEnvelope")


def test_signal_fields_and_decimals_are_described(schema):
    components = schema["components"]["schemas"]
    output = components["SignalDetailOutput"]["properties"]
    assert {"id", "owner_id", "owner_name", "symbol", "direction", "entry_price", "stop_loss", "take_profit",
            "risk_reward", "timeframe", "rationale", "image_url", "status", "review", "version", "created_at",
            "updated_at", "history"} <= set(output)
    assert output["entry_price"]["type"] == "string" and output["entry_price"]["format"] == "decimal"
    request = components["SignalInputRequest"]["properties"]
    assert "status" not in request and "owner_id" not in request
    enum = components[request["timeframe"]["$ref"].rsplit("/", 1)[1]]["enum"]
    assert set(enum) == {"1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"}
