"""Input cost is bounded and linear: one hostile value — in any JSON field, query parameter, header or path
segment, sized up to the request body limit — is answered with a 4xx (never a 500) for about the worker CPU
of an ordinary request.

The operations come from the URL resolver (``routes.api_operations()``) and their fields, query parameters,
header parameters and path parameters from the OpenAPI schema, so an endpoint or field added later is
measured too. Each (operation, field, shape, size) is one request, timed with ``time.thread_time()`` around
the Django test client call: the whole worker, from the middleware to the rendered response, in the thread that
serves it (``process_time`` also counted the process's background threads — the outbox relay after a write —
and a valid create then read over the budget now and again).
"""
from __future__ import annotations

import gc
import json
import time
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings as django_settings
from drf_spectacular.generators import SchemaGenerator

from tests.security.routes import api_operations, concrete
from tests.support.discussions import BASE as DISCUSSIONS
from tests.support.discussions import approved_signal, comment, report, start_thread, text
from tests.support.signals import BASE, VALID
from tradesignals.kernel.drf.permissions import IsAdmin

BODY_LIMIT = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # 64 KiB
BUDGET_SECONDS = 0.050
SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [(method, path, view) for method, path, view in api_operations()]


def _repeat(unit: str, n: int, tail: str) -> str:
    """``unit`` repeated to ``n`` characters in all, then ``tail``: the shape that makes a backtracking
    pattern try every split of the run before the last character refuses it."""
    return (unit * (n // len(unit) + 1))[: max(0, n - len(tail))] + tail


# Pathological shapes of one value, each a function of its length in characters.
SHAPES = {
    "digits_then_letter": lambda n: _repeat("1", n, "x"),
    "dotted_repeats": lambda n: _repeat("1.", n, "x"),
    "digits_exponent": lambda n: _repeat("1", n // 2, "e") + _repeat("1", n - n // 2, "x"),
    "whitespace": lambda n: _repeat(" \t", n, "1"),
    "email_labels": lambda n: "a@" + _repeat("a.", n - 2, "!"),
    "url_labels": lambda n: "https://" + _repeat("a-a.", n - 8, "!"),
    "quotes_and_escapes": lambda n: _repeat('\\"', n, "@"),
    "non_ascii_digits": lambda n: _repeat("\u0661", n, "x"),
}
HEADER_SHAPES = ("digits_then_letter", "dotted_repeats", "whitespace", "quotes_and_escapes")
GENERIC_HEADERS = ("Authorization", "X-Request-ID", "Accept", "Cookie", "X-Forwarded-For", "User-Agent",
                   "Accept-Language", "If-Match", "If-None-Match")

# A base body per operation that takes one: what the header and path measurements send. Account operations
# that would hash a password get ``{}`` (hashing is the cost of a valid login, not of a hostile header).
BASE_BODIES = {
    "trade_signals_create": VALID,
    "trade_signal_update": {"rationale": "An updated rationale for the same setup."},
    "trade_signal_review": {"status": "approved", "reason": "Looks good"},
    "users_me_update": {"bio": "Swing trader."},
    "auth_register": {},
    "auth_login": {},
    "auth_password_change": {},
    "auth_refresh": {"refresh": "not-a-token"},
    "auth_verify": {},
    "auth_admin_user_update": {"role": "user"},
    # Posts get a fresh text each time (the same text again within a minute is refused as a duplicate).
    "discussions_threads_create": lambda: {"title": "Breakout retest", "body": text("Where does the stop go?")},
    "discussions_thread_update": {"title": "An edited title"},
    "discussions_comments_create": lambda: {"body": text()},
    "discussions_signal_comments_create": lambda: {"body": text()},
    "discussions_comment_update": {"body": "An edited comment."},
    "discussions_comment_report": {"reason": "Looks like spam"},
    "discussions_thread_hide": {"reason": "Off topic"},
    "discussions_comment_hide": {"reason": "Abusive"},
    "market_candles_ingest": {"symbol": "BTC/USDT", "candles": [
        {"t": "2026-01-05T10:00:00Z", "o": "100.5", "h": "101", "l": "100", "c": "100.75"}]},
}

# Headers of the base request: a delete names a version that never matches, so it is refused (412) on every
# call and the signal stays for the next one.
BASE_HEADERS = {"trade_signal_delete": {"HTTP_IF_MATCH": '"v999"'}}


def _operation(method: str, path: str) -> dict:
    return SCHEMA["paths"][path][method.lower()]


def _component(ref: str) -> dict:
    return SCHEMA["components"]["schemas"][ref.rsplit("/", 1)[1]]


def _body_fields(method: str, path: str) -> dict[str, dict]:
    content = _operation(method, path).get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return {}
    schema = content["application/json"]["schema"]
    schema = _component(schema["$ref"]) if "$ref" in schema else schema
    return {name: prop for name, prop in schema.get("properties", {}).items() if not prop.get("readOnly")}


def _parameters(method: str, path: str, where: str) -> list[dict]:
    return [p for p in _operation(method, path).get("parameters", []) if p["in"] == where]


def _fit(make, encoded_length, limit: int = BODY_LIMIT) -> str:
    """The longest value of a shape whose encoded request part stays within ``limit`` bytes."""
    n = limit
    while True:
        value = make(n)
        size = encoded_length(value)
        if size <= limit:
            return value
        n = max(1, min(n - 1, n * limit // size))


def _sizes(prop: dict) -> list[int | None]:
    """The field's own limit (where the schema states one) and ``None``: as large as the request allows."""
    limit = prop.get("maxLength") or prop.get("schema", {}).get("maxLength")
    return [limit, None] if limit else [None]


def _json_length(field: str):
    return lambda value: len(json.dumps({field: value}, ensure_ascii=False).encode())


def _query_length(name: str):
    return lambda value: len(urlencode({name: value}))


def _value(shape: str, size: int | None, encoded_length) -> str:
    make = SHAPES[shape]
    return make(size) if size else _fit(make, encoded_length)


class Target:
    """One operation with a caller allowed to reach its validation and, where it has a path id, a real one."""

    def __init__(self, method: str, path: str, view, caller, ids: dict):
        self.method, self.template, self.caller = method, path, caller
        self.operation_id = _operation(method, path)["operationId"]
        self.path = concrete(path, **ids)
        self.has_body = bool(_body_fields(method, path))
        if self.has_body:
            assert self.operation_id in BASE_BODIES, f"add a base body for {self.operation_id}"

    def base_body(self) -> bytes | None:
        if not self.has_body:
            return None
        body = BASE_BODIES[self.operation_id]
        return json.dumps(body() if callable(body) else body).encode()

    def call(self, *, path: str | None = None, query: str = "", body: bytes | None = None, headers=None):
        extra = self.caller._headers(None)
        extra.update(BASE_HEADERS.get(self.operation_id, {}))
        extra.update(headers or {})
        url = (path or self.path) + (f"?{query}" if query else "")
        data = body if body is not None else self.base_body()
        if data is None:
            return self.caller.client.generic(self.method, url, **extra)
        return self.caller.client.generic(self.method, url, data=data, content_type="application/json", **extra)

    def measure(self, **kwargs):
        """CPU seconds of one request; over the budget, the least of three runs. A value's real cost repeats
        on every run (a backtracking pattern costs seconds each time), a scheduler or collector pause on a
        loaded machine does not."""
        best = None
        for _ in range(3):
            started = time.thread_time()
            response = self.call(**kwargs)
            cost = time.thread_time() - started
            best = cost if best is None else min(best, cost)
            if best <= BUDGET_SECONDS:
                break
        return response, best


@pytest.fixture(scope="module", autouse=True)
def frozen_heap():
    """The heap as a preloaded gunicorn worker has it: what start-up built is frozen (``gc.freeze``), so a
    full collection a request triggers walks the garbage of requests, not the test session's whole heap
    (which would bill one unlucky request ~100 ms for everything allocated before it)."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def no_request_budget(settings):
    """The per-client request budget (and the per-user posting budgets of the discussions) would answer 429
    after a few hundred requests, hiding the cost measured."""
    settings.RATE_LIMIT_MAX = 10**9
    for kind in ("THREAD", "COMMENT", "REPORT"):
        setattr(settings, f"DISCUSSION_{kind}_RATE_MAX", 10**9)


def _discussion_ids(method: str, path: str, *, owner, other, admin) -> dict:
    """Real ids for a discussions operation, chosen so that every repetition of the base request does the same
    work: the caller (``owner``, or ``admin`` on admin routes) edits their own thread and comment, reports
    ``other``'s comment, and deletes what is ``other``'s (a 403 each time, so it stays for the next call)."""
    ids = {"signal_id": approved_signal(owner=owner, admin=admin)["id"]}
    deleting = method == "DELETE"
    author = other if deleting else owner
    thread = start_thread(author)
    reply = comment(other if deleting or "report" in path else author, thread["id"])
    ids.update(thread_id=thread["id"], comment_id=reply["id"])
    if "{report_id}" in path:
        ids["report_id"] = report(owner, comment(other, thread["id"])["id"])["id"]
    return ids


@pytest.fixture
def target(request, owner, other, admin):
    method, path, view = request.param
    caller = admin if any(issubclass(p, IsAdmin) for p in getattr(view, "permission_classes", [])) else owner
    ids = {}
    if path.startswith(DISCUSSIONS):
        ids = _discussion_ids(method, path, owner=owner, other=other, admin=admin)
    elif "{signal_id}" in path:
        ids["signal_id"] = owner.create()["id"]
    if "{user_id}" in path:
        ids["user_id"] = owner.user_id
    target = Target(method, path, view, caller, ids)
    target.call()  # warm-up: lazy imports and compiled patterns are not the hostile value's cost
    _, target.baseline = target.measure()
    return target


class Costs:
    """Collects every over-budget or server-error answer so one failure report lists them all.

    A refused value gets ``BUDGET_SECONDS``. A value that is accepted (a 5000-character rationale of digits is
    a rationale) does the request's real work, so it gets what the same request costs with an ordinary
    value, plus the budget."""

    def __init__(self, target: Target):
        self.problems: list[str] = []
        self.count = 0
        self.baseline = target.baseline

    def check(self, label: str, response, cost: float, *, must_refuse: bool = True):
        self.count += 1
        status = response.status_code
        if status >= 500 or (must_refuse and not 400 <= status < 500) or status == 429:
            self.problems.append(f"{label}: status {status} {response.content[:160]!r}")
        budget = BUDGET_SECONDS + (self.baseline if status < 400 else 0)
        if cost > budget:
            self.problems.append(f"{label}: {cost * 1000:.0f} ms of CPU (status {status}, budget "
                                 f"{budget * 1000:.0f} ms)")

    def assert_ok(self):
        assert self.count, "nothing was measured"
        assert not self.problems, "\n".join(self.problems)


def _ids(operations):
    return [f"{method} {path}" for method, path, _ in operations]


_BODY_OPERATIONS = [op for op in OPERATIONS if _body_fields(op[0], op[1])]
_QUERY_OPERATIONS = [op for op in OPERATIONS if _parameters(op[0], op[1], "query")]


def test_every_body_field_and_query_parameter_is_enumerated():
    fields = sum(len(_body_fields(method, path)) for method, path, _ in _BODY_OPERATIONS)
    params = sum(len(_parameters(method, path, "query")) for method, path, _ in _QUERY_OPERATIONS)
    assert fields >= 20 and params >= 25, "the schema lost its fields or parameters"


def test_the_discussions_fields_and_parameters_are_enumerated():
    ours = [op for op in OPERATIONS if op[1].startswith(DISCUSSIONS)]
    fields = {name for method, path, _ in ours for name in _body_fields(method, path)}
    params = {(where, p["name"]) for method, path, _ in ours for where in ("query", "path", "header")
              for p in _parameters(method, path, where)}
    assert len(ours) == 19 and fields == {"title", "body", "reason"}
    assert {("query", "limit"), ("query", "cursor"), ("query", "signal_id"), ("path", "thread_id"),
            ("path", "comment_id"), ("path", "signal_id"), ("path", "report_id"), ("header", "If-None-Match")} <= params


@pytest.mark.parametrize("target", _BODY_OPERATIONS, ids=_ids(_BODY_OPERATIONS), indirect=True)
def test_a_hostile_json_field_is_refused_cheaply(target):
    costs = Costs(target)
    for field, prop in _body_fields(target.method, target.template).items():
        for shape in SHAPES:
            for size in _sizes(prop):
                value = _value(shape, size, _json_length(field))
                body = json.dumps({field: value}, ensure_ascii=False).encode()
                assert len(body) <= BODY_LIMIT
                response, cost = target.measure(body=body)
                # At the field's own length limit a value may be acceptable (a 5000-character rationale is);
                # beyond it, it never is.
                costs.check(f"{field}={shape}[{len(value)}]", response, cost, must_refuse=size is None)
    costs.assert_ok()


@pytest.mark.parametrize("target", _QUERY_OPERATIONS, ids=_ids(_QUERY_OPERATIONS), indirect=True)
def test_a_hostile_query_parameter_is_refused_cheaply(target):
    costs = Costs(target)
    for param in _parameters(target.method, target.template, "query"):
        name = param["name"]
        for shape in SHAPES:
            for size in _sizes(param):
                value = _value(shape, size, _query_length(name))
                response, cost = target.measure(query=urlencode({name: value}))
                costs.check(f"?{name}={shape}[{len(value)}]", response, cost, must_refuse=size is None)
    costs.assert_ok()


@pytest.mark.parametrize("target", OPERATIONS, ids=_ids(OPERATIONS), indirect=True)
def test_a_hostile_header_costs_what_an_ordinary_request_costs(target):
    """Headers are not always refused (a strange User-Agent is just recorded, and the request does its work),
    but none costs more than the budget beyond the same request with ordinary headers, and none is a 500.
    A documented precondition header (If-Match) that is hostile is always refused."""
    costs = Costs(target)
    documented = [p["name"] for p in _parameters(target.method, target.template, "header")]
    for header in dict.fromkeys([*documented, *GENERIC_HEADERS]):
        key = "HTTP_" + header.upper().replace("-", "_")
        for shape in HEADER_SHAPES:
            raw = _fit(SHAPES[shape], lambda v: len(v.encode()))
            value = f"Bearer {raw}" if header == "Authorization" else raw
            # WSGI hands headers over as ISO-8859-1 text of the bytes received.
            response, cost = target.measure(headers={key: value.encode().decode("latin-1")})
            costs.check(f"{header}: {shape}[{len(value)}]", response, cost,
                        must_refuse=header == "If-Match" and header in documented)
    costs.assert_ok()


_PATH_OPERATIONS = [op for op in OPERATIONS if "{" in op[1]]


@pytest.mark.parametrize("target", _PATH_OPERATIONS, ids=_ids(_PATH_OPERATIONS), indirect=True)
def test_a_hostile_path_segment_is_refused_cheaply(target):
    costs = Costs(target)
    for param in _parameters(target.method, target.template, "path"):
        for shape in SHAPES:
            value = _fit(SHAPES[shape], lambda v: len(quote(v, safe="")))
            response, cost = target.measure(path=concrete(target.template, **{param["name"]: quote(value, safe="")}))
            costs.check(f"{{{param['name']}}}={shape}[{len(value)}]", response, cost)
    costs.assert_ok()


def _deep(opening: str, closing: str, inner: str = "", *, field: str | None = None) -> bytes:
    """Nesting as deep as the body limit allows, at the top or as the value of ``field``."""
    prefix, suffix = (f'{{"{field}":', "}") if field else ("", "")
    depth = (BODY_LIMIT - len(inner) - len(prefix) - len(suffix)) // (len(opening) + len(closing))
    return (prefix + opening * depth + inner + closing * depth + suffix).encode()


def _many_keys() -> bytes:
    parts, size, i = [], 2, 0
    while size + len(f'"k{i}":1,') <= BODY_LIMIT:
        parts.append(f'"k{i}":1')
        size += len(parts[-1]) + 1
        i += 1
    return ("{" + ",".join(parts) + "}").encode()


def _whole_bodies(field: str) -> dict[str, bytes]:
    return {
        "deep_arrays": _deep("[", "]"),
        "deep_objects": _deep('{"a":', "}", "1"),
        "deep_in_a_field": _deep("[", "]", field=field),
        "many_keys": _many_keys(),
        "long_key": json.dumps({_repeat("1", BODY_LIMIT - 10, "x"): 1}).encode(),
        "many_numbers": ("[" + ",".join(["1.1"] * (BODY_LIMIT // 4 - 1)) + "]").encode(),
        "long_exponent": ('{"' + field + '":1e' + "1" * (BODY_LIMIT - len(field) - 10) + "}").encode(),
        "long_number": ('{"' + field + '":' + "1" * (BODY_LIMIT - len(field) - 12) + ".5}").encode(),
    }


@pytest.mark.parametrize("target", _BODY_OPERATIONS, ids=_ids(_BODY_OPERATIONS), indirect=True)
def test_a_hostile_body_shape_is_refused_cheaply(target):
    costs = Costs(target)
    field = next(iter(_body_fields(target.method, target.template)))
    for shape, body in _whole_bodies(field).items():
        assert len(body) <= BODY_LIMIT, shape
        response, cost = target.measure(body=body)
        costs.check(f"body {shape}[{len(body)}]", response, cost)
    # 64 KiB of insignificant whitespace around an empty object is valid JSON: judged like "{}", as cheaply.
    response, cost = target.measure(body=b"{" + b" \t\r\n" * ((BODY_LIMIT - 2) // 4) + b"}")
    costs.check("body long_whitespace", response, cost, must_refuse=False)
    costs.assert_ok()


def test_a_valid_request_is_within_the_same_budget(owner):
    """The budget is not vacuous: an ordinary create is well inside it, so a hostile one is held to the
    cost of real work."""
    owner.create()
    started = time.thread_time()
    response = owner.send("POST", BASE, {**VALID, "symbol": "ETH/USDT"})
    cost = time.thread_time() - started
    assert response.status_code == 201
    assert cost < BUDGET_SECONDS
