"""The users endpoints are documented: request and response shapes, parameters, error responses."""
import pytest


@pytest.fixture(scope="module")
def operations():
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    found = {}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            found[operation["operationId"]] = {**operation, "path": path, "method": method}
    return schema, found


def test_every_users_operation_documents_its_responses(operations):
    _schema, found = operations
    expected = {
        "users_me_retrieve": ("/api/v1/users/me", "get", {"200", "401"}),
        "users_me_update": ("/api/v1/users/me", "patch", {"200", "400", "401"}),
        "users_public_retrieve": ("/api/v1/users/{user_id}", "get", {"200", "404"}),
        "users_list": ("/api/v1/users", "get", {"200", "400", "401", "403"}),
    }
    for operation_id, (path, method, statuses) in expected.items():
        assert operation_id in found, operation_id
        assert (found[operation_id]["path"], found[operation_id]["method"]) == (path, method)
        assert statuses <= set(found[operation_id]["responses"]), operation_id


def test_patch_body_documents_only_the_editable_fields(operations):
    schema, found = operations
    ref = found["users_me_update"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["properties"]) == {"display_name", "bio", "avatar_url"}
    assert component["properties"]["display_name"]["maxLength"] == 80
    assert component["properties"]["bio"]["maxLength"] == 500


def test_list_documents_its_query_parameters(operations):
    _schema, found = operations
    names = {param["name"] for param in found["users_list"]["parameters"] if param["in"] == "query"}
    assert {"search", "role", "is_active", "limit", "cursor"} <= names
