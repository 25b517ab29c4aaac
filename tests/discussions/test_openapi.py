"""The OpenAPI document describes the discussions API as it is served: every route of
apps/discussions/api/urls.py with exactly its methods, closed request bodies with the bounds and patterns the
parsers enforce, the error envelope for every 4xx, pages with their ``limit``/``cursor``, the cached reads'
ETag/X-Cache/If-None-Match — and real responses of the API match the schemas it documents for them."""
from __future__ import annotations

import re

import jsonschema_rs
import pytest
from rest_framework import serializers

from tests.support.discussions import BASE, comment, signal_comment, start_thread, text

JSON = "application/json"
ENVELOPE = "#/components/schemas/ErrorEnvelope"
THREAD = f"{BASE}/{{thread_id}}"
COMMENT = f"{THREAD}/comments/{{comment_id}}"

# operation id → (path, method, the statuses it answers besides the ones every operation documents)
OPERATIONS = {
    "discussions_threads_list": (BASE, "get", {"200", "304", "400", "401"}),
    "discussions_threads_create": (BASE, "post", {"201", "400", "401", "409", "413", "415"}),
    "discussions_thread_retrieve": (THREAD, "get", {"200", "304", "401", "404"}),
    "discussions_thread_update": (THREAD, "patch", {"200", "400", "401", "403", "404", "409", "413", "415"}),
    "discussions_thread_delete": (THREAD, "delete", {"204", "401", "403", "404", "409"}),
    "discussions_thread_hide": (f"{THREAD}/hide", "post", {"200", "400", "401", "403", "404", "409"}),
    "discussions_thread_unhide": (f"{THREAD}/unhide", "post", {"200", "400", "401", "403", "404", "409"}),
    "discussions_comments_list": (f"{THREAD}/comments", "get", {"200", "304", "400", "401", "404"}),
    "discussions_comments_create": (f"{THREAD}/comments", "post", {"201", "400", "401", "404", "409", "413"}),
    "discussions_comment_retrieve": (COMMENT, "get", {"200", "401", "404"}),
    "discussions_comment_update": (COMMENT, "patch", {"200", "400", "401", "403", "404", "409", "413"}),
    "discussions_comment_delete": (COMMENT, "delete", {"204", "401", "403", "404", "409"}),
    "discussions_comment_hide": (f"{COMMENT}/hide", "post", {"200", "400", "401", "403", "404", "409"}),
    "discussions_comment_unhide": (f"{COMMENT}/unhide", "post", {"200", "400", "401", "403", "404", "409"}),
    "discussions_comment_report": (f"{BASE}/comments/{{comment_id}}/report", "post",
                                   {"202", "400", "401", "403", "404", "409"}),
    "discussions_reports_list": (f"{BASE}/reports", "get", {"200", "304", "400", "401", "403"}),
    "discussions_report_dismiss": (f"{BASE}/reports/{{report_id}}/dismiss", "post",
                                   {"200", "400", "401", "403", "404"}),
    "discussions_signal_comments_list": (f"{BASE}/signals/{{signal_id}}/comments", "get",
                                         {"200", "304", "400", "401", "404"}),
    "discussions_signal_comments_create": (f"{BASE}/signals/{{signal_id}}/comments", "post",
                                           {"201", "400", "401", "404", "409"}),
}
LISTS = {"discussions_threads_list": "ThreadOutput", "discussions_comments_list": "CommentOutput",
         "discussions_signal_comments_list": "CommentOutput", "discussions_reports_list": "ReportOutput"}
CACHED_READS = (*LISTS, "discussions_thread_retrieve")


@pytest.fixture(scope="module")
def document():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(document) -> dict[str, dict]:
    return {operation["operationId"]: {**operation, "path": path, "method": method}
            for path, item in document["paths"].items() for method, operation in item.items()}


def _component(document, ref: str) -> dict:
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _body_schema(document, operation: dict) -> dict:
    return _component(document, operation["requestBody"]["content"][JSON]["schema"]["$ref"])


def _served_routes() -> dict[str, set[str]]:
    """Every route of apps/discussions/api/urls.py as the document spells it (mounted at ``BASE``, no trailing
    slash, ``(?P<name>…)`` as ``{name}``), with the methods its view answers."""
    from apps.discussions.api import urls

    routes = {}
    for pattern in urls.urlpatterns:
        regex = pattern.pattern.regex.pattern.removeprefix("^").removesuffix("$").removesuffix("/?")
        route = re.sub(r"\(\?P<(\w+)>(?:\[\^/\]\+|\[0-9a-f\]\{24\})\)", r"{\1}", regex)
        assert "(" not in route and "[" not in route, regex  # every segment is a literal or a named id
        view = pattern.callback.view_class
        routes[f"{BASE}/{route}".rstrip("/")] = {m for m in ("get", "post", "put", "patch", "delete")
                                                if hasattr(view, m)}
    return routes


def test_every_route_is_documented_with_exactly_the_methods_it_serves(document):
    documented = {path: set(item) for path, item in document["paths"].items()
                  if path == BASE or path.startswith(f"{BASE}/")}
    assert documented == _served_routes()
    found = _operations(document)
    assert {op_id for op_id, op in found.items() if op["path"] in documented} == set(OPERATIONS)
    for operation_id, (path, method, _statuses) in OPERATIONS.items():
        assert (found[operation_id]["path"], found[operation_id]["method"]) == (path, method), operation_id
        assert found[operation_id]["tags"] == ["discussions"], operation_id


def test_an_undocumented_method_is_a_405_naming_the_documented_ones(document, owner, admin):
    """(As an administrator: a caller an operation refuses is refused before its method is looked at.)"""
    thread = start_thread(owner)
    reply = comment(owner, thread["id"])
    ids = {"thread_id": thread["id"], "comment_id": reply["id"], "signal_id": "0" * 24, "report_id": "r1"}
    for path, item in document["paths"].items():
        if not path.startswith(BASE):
            continue
        response = admin.send("PUT", path.format(**ids), {})
        assert response.status_code == 405, (path, response.content)
        allowed = {m.strip().lower() for m in response["Allow"].split(",")} - {"head", "options"}
        assert allowed == set(item), path
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_every_operation_documents_the_error_envelope_for_its_4xx(document):
    found = _operations(document)
    for operation_id, (_path, _method, statuses) in OPERATIONS.items():
        responses = found[operation_id]["responses"]
        assert statuses <= set(responses), (operation_id, statuses - set(responses))
        for status, response in responses.items():
            if status.startswith("4"):
                assert response["content"][JSON]["schema"] == {"$ref": ENVELOPE}, (operation_id, status)
        for status in statuses - {"200", "201", "202", "204", "304"}:
            assert status in responses, (operation_id, status)


# component → {field: (min length, max length, pattern name)}, and the fields a body must hold.
BODIES = {
    "discussions_threads_create": ({"title": (3, 200, "TITLE"), "body": (10, 5000, "BODY")}, {"title", "body"}),
    "discussions_thread_update": ({"title": (3, 200, "TITLE"), "body": (10, 5000, "BODY")}, set()),
    "discussions_comments_create": ({"body": (1, 2000, "BODY")}, {"body"}),
    "discussions_signal_comments_create": ({"body": (1, 2000, "BODY")}, {"body"}),
    "discussions_comment_update": ({"body": (1, 2000, "BODY")}, None),  # see test_the_comment_edit_body_…
    "discussions_thread_hide": ({"reason": (1, 500, "BODY")}, {"reason"}),
    "discussions_comment_hide": ({"reason": (1, 500, "BODY")}, {"reason"}),
    "discussions_comment_report": ({"reason": (1, 500, "BODY")}, {"reason"}),
    "discussions_thread_unhide": ({}, set()),
    "discussions_comment_unhide": ({}, set()),
    "discussions_report_dismiss": ({}, set()),
}


def test_request_bodies_are_closed_with_their_lengths_and_patterns(document):
    from apps.discussions import models

    patterns = {"TITLE": models.TITLE_PATTERN, "BODY": models.BODY_PATTERN}
    found = _operations(document)
    assert {op_id for op_id, op in found.items() if op_id.startswith("discussions_") and "requestBody" in op} \
        == set(BODIES)
    for operation_id, (fields, required) in BODIES.items():
        schema = _body_schema(document, found[operation_id])
        assert schema["type"] == "object" and schema["additionalProperties"] is False, operation_id
        assert set(schema.get("properties", {})) == set(fields), operation_id
        for name, (low, high, pattern) in fields.items():
            field = schema["properties"][name]
            assert (field["type"], field["minLength"], field["maxLength"], field["pattern"]) == (
                "string", low, high, patterns[pattern]), (operation_id, name)
        if required is not None:
            assert set(schema.get("required", [])) == required, operation_id
    assert _body_schema(document, found["discussions_thread_update"])["minProperties"] == 1


def _validator(document, schema):
    from openapi_schema_validator import OAS30Validator

    return OAS30Validator({**schema, "components": document["components"]})


def test_the_comment_edit_body_is_required_in_the_document_as_by_the_server(document, owner):
    thread = start_thread(owner)
    reply = comment(owner, thread["id"])
    operation = _operations(document)["discussions_comment_update"]
    schema = _body_schema(document, operation)
    assert operation["requestBody"]["required"] is True
    assert not _validator(document, schema).is_valid({})
    assert _validator(document, schema).is_valid({"body": "Edited text"})
    path = f"{BASE}/{thread['id']}/comments/{reply['id']}"
    assert owner.send("PATCH", path, {}).status_code == 400
    assert owner.send("PATCH", path, {"body": "Edited text"}).status_code == 200


PROBES = ["", " ", "\t", "\n", "\x00", "a\x00b", "a", "ab", "abc", " a ", "\u00a0\u00a0\u00a0", "\u3000x\u3000",
          "line\nbreak", "tab\there", "cr\r\nlf", "x\x0by", "x\x0cy", "\x1cabc", "ok\x7f", "\x85abc", "x\u2028y",
          "<b>kept</b>", "Zoë 👍", "\u200b\u200b\u200b", "0123456789", " " * 12 + "x", "y" * 201, "z" * 501,
          "w" * 2001, "v" * 5000, "u" * 5001, "\t\n\r" * 4]


def _field_takes(field, value) -> bool:
    try:
        value = field.run_validation(value)
        if getattr(field, "normalize", None) is not None:
            field.normalize(value)
    except (serializers.ValidationError, ValueError):
        return False
    return True


def test_what_a_body_field_schema_takes_the_field_takes(document):
    """The same probes to both sides: the document's schema of each text field, and the field with its
    normaliser (which the service runs again)."""
    from apps.discussions.api import serializers as s

    fields = {"discussions_threads_create": s.ThreadInputSerializer,
              "discussions_thread_update": s.ThreadInputSerializer,
              "discussions_comments_create": s.CommentInputSerializer,
              "discussions_comment_update": s.CommentInputSerializer,
              "discussions_thread_hide": s.HideInputSerializer, "discussions_comment_report": s.ReportInputSerializer}
    found = _operations(document)
    checked = 0
    for operation_id, serializer_class in fields.items():
        schema = _body_schema(document, found[operation_id])
        for name, field_schema in schema["properties"].items():
            validator = jsonschema_rs.Draft4Validator(field_schema)
            field = serializer_class().fields[name]
            for probe in PROBES:
                assert validator.is_valid(probe) == _field_takes(field, probe), (operation_id, name, probe)
                checked += 1
    assert checked == 8 * len(PROBES)


def test_lists_document_limit_cursor_and_the_page(document):
    from tradesignals.kernel.drf import pagination

    found = _operations(document)
    for operation_id, item in LISTS.items():
        operation = found[operation_id]
        query = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
        assert (query["limit"]["type"], query["limit"]["minimum"], query["limit"]["maximum"]) == (
            "integer", 1, pagination.MAX_LIMIT), operation_id
        assert query["cursor"] == {"type": "string", "maxLength": pagination.MAX_CURSOR_LENGTH}, operation_id
        page = _component(document, operation["responses"]["200"]["content"][JSON]["schema"]["$ref"])
        assert set(page["properties"]) == set(page["required"]) == {"results", "next"}, operation_id
        assert page["properties"]["results"]["items"] == {"$ref": f"#/components/schemas/{item}"}, operation_id
        assert page["properties"]["next"]["type"] == "string" and page["properties"]["next"]["nullable"] is True
    threads = {p["name"] for p in found["discussions_threads_list"]["parameters"] if p["in"] == "query"}
    assert threads == {"limit", "cursor", "signal_id"}


def test_cached_reads_document_etag_x_cache_and_if_none_match(document):
    found = _operations(document)
    for operation_id in CACHED_READS:
        operation = found[operation_id]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert "If-None-Match" in headers, operation_id
        for status in ("200", "304"):
            documented = operation["responses"][status]["headers"]
            assert {name for name, header in documented.items() if header["required"]} == {"ETag", "X-Cache"}, (
                operation_id, status)
            assert documented["X-Cache"]["schema"]["enum"] == ["hit", "miss"]
        assert "content" not in operation["responses"]["304"], operation_id


# -- real responses against the document ------------------------------------------------------------------------
class Checker:
    """Validates a real response against what the document says of its operation and status."""

    def __init__(self, document):
        self.document = document
        self.operations = _operations(document)
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, operation_id: str, response, status: int):
        assert response.status_code == status, (operation_id, response.status_code, response.content)
        documented = self.operations[operation_id]["responses"][str(status)]
        for name, header in documented.get("headers", {}).items():
            if header.get("required"):
                assert response.has_header(name), (operation_id, status, name)
            if response.has_header(name):
                assert _validator(self.document, header["schema"]).is_valid(
                    int(response[name]) if header["schema"].get("type") == "integer" else response[name]), (
                    operation_id, name, response[name])
        if "content" in documented:
            assert response["Content-Type"].startswith(JSON), operation_id
            schema = documented["content"][JSON]["schema"]
            errors = [e.message for e in _validator(self.document, schema).iter_errors(response.json())]
            assert not errors, (operation_id, status, errors, response.json())
        else:
            assert not response.content, (operation_id, status)
        self.seen.add((operation_id, str(status)))
        return response.json() if response.content else None


def test_real_responses_match_the_documented_schemas(document, owner, other, admin, anonymous, signal):
    check = Checker(document)
    start_thread(other)  # a second page of threads
    thread = check("discussions_threads_create", owner.send("POST", BASE, {"title": "Stops on breakouts",
                                                                          "body": text("Where does it go?")}), 201)
    tid = thread["id"]
    reply = check("discussions_comments_create", other.send("POST", f"{BASE}/{tid}/comments",
                                                            {"body": "Below the range\nwith room"}), 201)
    cid = reply["id"]
    comment(owner, tid)
    for caller in (anonymous, admin):
        listed = check("discussions_threads_list", caller.get(BASE, limit="1"), 200)
        assert listed["next"] and listed["results"][0]["id"] == tid
        page = check("discussions_comments_list", caller.get(f"{BASE}/{tid}/comments", limit="1"), 200)
        assert page["next"] and page["results"][0]["id"] == cid
        check("discussions_comments_list", caller.get(page["next"]), 200)
        check("discussions_thread_retrieve", caller.get(f"{BASE}/{tid}"), 200)
        check("discussions_comment_retrieve", caller.get(f"{BASE}/{tid}/comments/{cid}"), 200)
    first = anonymous.get(f"{BASE}/{tid}")
    check("discussions_thread_retrieve", anonymous.get(f"{BASE}/{tid}", {"If-None-Match": first["ETag"]}), 304)
    check("discussions_threads_list", anonymous.get(BASE, {"If-None-Match": anonymous.get(BASE)["ETag"]}), 304)
    check("discussions_thread_update", owner.send("PATCH", f"{BASE}/{tid}", {"title": "Stops, again"}), 200)
    check("discussions_comment_update", other.send("PATCH", f"{BASE}/{tid}/comments/{cid}",
                                                   {"body": "Edited"}), 200)
    # Under the approved signal: its thread is created by the first comment.
    signal_path = f"{BASE}/signals/{signal['id']}/comments"
    check("discussions_signal_comments_list", anonymous.get(signal_path), 200)
    check("discussions_signal_comments_create", other.send("POST", signal_path, {"body": text()}), 201)
    signal_comment(owner, signal["id"])
    listed = check("discussions_signal_comments_list", anonymous.get(signal_path, limit="1"), 200)
    assert listed["next"]
    under = check("discussions_threads_list", anonymous.get(BASE, signal_id=signal["id"]), 200)["results"]
    assert len(under) == 1 and under[0]["signal_id"] == signal["id"] and under[0]["body"] == ""
    # Reports and moderation, as the administrators see them.
    report = check("discussions_comment_report", owner.send("POST", f"{BASE}/comments/{cid}/report",
                                                            {"reason": "Spam"}), 202)
    assert report["state"] == "open"
    check("discussions_reports_list", admin.get(f"{BASE}/reports"), 200)
    check("discussions_report_dismiss", admin.send("POST", f"{BASE}/reports/{report['id']}/dismiss", {}), 200)
    hidden = check("discussions_comment_hide", admin.send("POST", f"{BASE}/{tid}/comments/{cid}/hide",
                                                          {"reason": "Off topic"}), 200)
    assert hidden["hidden"] is True
    check("discussions_comment_unhide", admin.send("POST", f"{BASE}/{tid}/comments/{cid}/unhide", {}), 200)
    shut = check("discussions_thread_hide", admin.send("POST", f"{BASE}/{tid}/hide", {"reason": "Spam"}), 200)
    assert shut["hidden"] is True and shut["closed"] is False
    check("discussions_threads_list", admin.get(BASE), 200)
    check("discussions_thread_unhide", admin.send("POST", f"{BASE}/{tid}/unhide"), 200)
    # Refusals, each in the documented envelope (and headers).
    check("discussions_threads_create", anonymous.send("POST", BASE, {"title": "abc", "body": text()}), 401)
    check("discussions_threads_create", owner.send("POST", BASE, {"title": "ab", "body": text()}), 400)
    check("discussions_threads_create", owner.send("POST", BASE, {"title": "abc", "body": text(), "id": "x"}), 400)
    duplicate = text("The same text twice")
    check("discussions_comments_create", owner.send("POST", f"{BASE}/{tid}/comments", {"body": duplicate}), 201)
    check("discussions_comments_create", owner.send("POST", f"{BASE}/{tid}/comments", {"body": duplicate}), 409)
    check("discussions_threads_list", anonymous.get(BASE, cursor="forged"), 400)
    check("discussions_thread_retrieve", anonymous.get(f"{BASE}/{'0' * 24}"), 404)
    check("discussions_thread_update", other.send("PATCH", f"{BASE}/{tid}", {"title": "Not mine"}), 403)
    check("discussions_comment_report", other.send("POST", f"{BASE}/comments/{cid}/report", {"reason": "x"}), 403)
    check("discussions_reports_list", other.get(f"{BASE}/reports"), 403)
    check("discussions_reports_list", anonymous.get(f"{BASE}/reports"), 401)
    check("discussions_signal_comments_list", anonymous.get(f"{BASE}/signals/{'0' * 24}/comments"), 404)
    check("discussions_comment_delete", other.send("DELETE", f"{BASE}/{tid}/comments/{cid}"), 204)
    check("discussions_thread_delete", owner.send("DELETE", f"{BASE}/{tid}"), 204)
    check("discussions_comments_list", anonymous.get(f"{BASE}/{tid}/comments"), 404)
    assert {operation_id for operation_id, _status in check.seen} == set(OPERATIONS)
