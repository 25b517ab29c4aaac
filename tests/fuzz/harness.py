"""Schema fuzzing: schemathesis generates requests for every operation of ``/api/schema/`` (valid and invalid
data) and sends them to a real gunicorn, with EVERY check schemathesis has (``CHECKS.get_all()``): no 5xx;
status code, content type, headers and body as documented (errors included); schema-valid data accepted and
schema-violating data refused; a missing required header refused; an undeclared method a 405 with ``Allow``
and ``OPTIONS`` advertising the documented methods; no use after delete, no resource missing after create,
authentication never ignored, no object reachable by the wrong caller. Every response within 2 s.

The document itself says what the parsers enforce (the request schemas: ``additionalProperties: false``,
patterns for NUL, blanks, symbols, URLs and prices, ``minProperties``, the review's reason rule as ``anyOf``,
``allowEmptyValue``; see tradesignals/kernel/drf/schema.py and tests/kernel/test_openapi_request_facts.py).
What no JSON Schema can state is handled here, openly:

- cursors are opaque and signed: a valid case's cursor is a real one, from the first page of the same list
  and filters (``real_cursor``), or none when there is no second page;
- the password policy (not common, not like the email or name): a valid register or password change sends a
  strong new password, and a change the caller's real current one (``valid_passwords``);
- prices must be in the direction's order (long: stop < entry < take), a rule across fields: a valid create
  gets its three generated prices put in that order (``prices_in_order``), and must then succeed — every
  run creates signals (``test_generated_signals_are_created`` asserts each generated one is a 201);
- an image is judged by its content and ``image_id`` must name one of the caller's own free uploads: a valid
  upload sends a real PNG, and a valid create or edit naming an image gets a real upload of the caller's
  (``real_images``);
- a generated id names nothing: a valid discussions case naming a thread, comment, report or signal gets a
  real one of the right caller's, made through the real API (its own thread and comment to edit or delete,
  another user's comment to report, an open report to dismiss, a hidden thread or comment to unhide, a signal
  created and approved to comment under), and then has one answer, asserted (tests/fuzz/discussions.py);
- a candle's prices must hold ``l ≤ o, c ≤ h`` and its minute must have started, once per request
  (``candles_in_order``), and a range's ``from`` not after its ``to`` (``range_in_order``);
- the same text by the same author within DISCUSSION_DUPLICATE_WINDOW is a 409 (documented): a valid post
  whose body its account has already sent gets a distinct ending, so a valid post is a new post;
- per operation, in ``schemathesis.toml`` next to this file, each with its reason: ``trade_signal_update``
  may answer 400 to a schema-valid body, because its prices are ordered together with the stored ones.

Three callers: anonymous, a user and an administrator. Each authenticated case gets a FRESH token from the real
API (a new account registered, or a new admin login), so a generated logout, logout-all, password change or
session deletion ends only its own case. The fuzz server runs with the rate limits raised (a fuzz run is one
client sending thousands of requests; the limits themselves are proven in tests/accounts and tests/security)
and without gunicorn's request-line limit: in deployment the gateway bounds the URL and answers 414 itself
(tests/deploy), which an over-long generated value would otherwise meet here as gunicorn's HTML page.

The tests are in three modules (anonymous, user, administrator), so the suite's workers share them; this module
holds what they share (fixtures, the per-case fix-ups, ``call_and_check``).

Bounded: ``FUZZ_MAX_EXAMPLES`` examples per operation and mode (default 8), about six minutes on 2 cores (the
discussions cases, with their seeded content, about four). ``FUZZ_OPERATIONS``, a regular
expression of operation ids, runs only those (``FUZZ_OPERATIONS='^discussions_'``: the discussions slice).
"""
from __future__ import annotations

import os
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from tests.fuzz.discussions import Seeds, expected_statuses, real_discussion_ids, unique_posts
from tests.support import images
from tests.support.procs import Gunicorn

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "8"))
MAX_SECONDS = 2.0
# Operations whose valid request is a large write by design get a bound of their own: a candle post stores up
# to 1 000 minutes in one transaction (about 1–2 s on the embedded server when the machine is idle).
MAX_SECONDS_FOR = {("/api/v1/trade-signals/market/candles", "POST"): 8.0}
PASSWORD = "violet-harbour-lantern-42"
RAISED_LIMITS = {
    "RATE_LIMIT_MAX": "1000000",
    "AUTH_RATE_LIMIT_MAX": "1000000",
    "REGISTER_RATE_LIMIT_MAX": "1000000",
    "LOGIN_ACCOUNT_BURST_MAX": "1000000",
    "LOGIN_ACCOUNT_FAILURE_MAX": "1000000",
    "REFRESH_RATE_LIMIT_MAX": "1000000",
    "IMAGE_UPLOAD_RATE_MAX": "1000000",
    "SIGNAL_CREATE_RATE_MAX": "1000000",
    "DISCUSSION_THREAD_RATE_MAX": "1000000",
    "DISCUSSION_COMMENT_RATE_MAX": "1000000",
    "DISCUSSION_REPORT_RATE_MAX": "1000000",
}
schemathesis.checks.load_all_checks()
CHECKS = schemathesis.checks.CHECKS.get_all()  # every check schemathesis has, none excluded
CONFIG = Path(__file__).with_name("schemathesis.toml")  # per-operation expectations, each with its reason


@pytest.fixture(scope="module")
def fuzz_server(mongo_uri, redis_server_url):
    env = {"DJANGO_SETTINGS_MODULE": "tests.fuzz.settings", "MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url,
           "REDIS_ENABLED": "true", **RAISED_LIMITS,
           # The gateway bounds the request line (8 KiB, like gunicorn behind it) and answers 414 as the JSON
           # envelope; here no gateway stands in front, and gunicorn's own limit would answer an HTML page.
           "GUNICORN_CMD_ARGS": "--limit-request-line 0"}
    server = Gunicorn(env, workers=2, name="fuzz").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/api/schema/?format=json",
                                         config=schemathesis.config.SchemathesisConfig.from_path(CONFIG))


schema = schemathesis.pytest.from_fixture("api_schema")
if os.environ.get("FUZZ_OPERATIONS"):  # a regex of operation ids, e.g. FUZZ_OPERATIONS='^discussions_'
    schema = schema.include(operation_id_regex=os.environ["FUZZ_OPERATIONS"])
fuzz_settings = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=False, print_blob=True,
                         suppress_health_check=list(HealthCheck))


class Account:
    """One account per mode; every case logs in again, so every case holds a token no other case has seen
    (a generated logout, logout-all, session delete or role change cannot end the next case's session)."""

    def __init__(self, base_url: str, *, admin: bool):
        from apps.accounts import services

        self.base_url = base_url
        self.email = f"fuzz-{'admin' if admin else 'user'}-{uuid.uuid4().hex[:12]}@example.com"
        if admin:
            services.user_create_admin(email=self.email, password=PASSWORD)
        else:
            response = requests.post(f"{base_url}/api/v1/auth/register",
                                     json={"email": self.email, "password": PASSWORD}, timeout=10)
            assert response.status_code == 201, response.text
        self.role = "admin" if admin else "user"
        self.password = PASSWORD  # a generated password change that succeeds sets a new one
        self.logins = 0
        self.posted: set[tuple[str, str]] = set()  # (kind, text) of the discussion posts this account sent

    def fresh_token(self) -> str:
        response = requests.post(f"{self.base_url}/api/v1/auth/login",
                                 json={"email": self.email, "password": self.password}, timeout=10)
        assert response.status_code == 200, response.text
        self.logins += 1
        return response.json()["access"]


@pytest.fixture
def user_account(fuzz_server):
    return Account(fuzz_server.url, admin=False)


@pytest.fixture
def admin_account(fuzz_server, settings):
    settings.PASSWORD_HASHERS = ["tests.fuzz.hashers.CheapArgon2idHasher"]  # the fuzz server's cost
    return Account(fuzz_server.url, admin=True)


@pytest.fixture
def seeds(fuzz_server):
    """Threads, comments, reports and an approved signal for the valid discussions cases to name (accounts of
    their own: no fuzz case ever holds their tokens). Per test: every test starts with empty collections."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["tests.fuzz.hashers.CheapArgon2idHasher"]):
        admin = Account(fuzz_server.url, admin=True)
    return Seeds(fuzz_server.url, owner=Account(fuzz_server.url, admin=False),
                 reporter=Account(fuzz_server.url, admin=False), admin=admin)


def _post_limits() -> dict[str, int]:
    from apps.discussions import enums

    return {"thread": enums.THREAD_BODY_MAX, "comment": enums.COMMENT_BODY_MAX}


def _query_text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def real_cursor(case, base_url: str, headers: dict | None) -> None:
    """A cursor is opaque and signed, so no schema can say which strings are one. A valid case continues a
    walk the server started: the first page of the same list with the same filters (``limit=1``), whose
    ``next`` carries a real cursor — or, with no second page, no cursor at all."""
    if not (case.query or {}).get("cursor"):
        return
    params = {name: _query_text(value) for name, value in case.query.items() if name != "cursor"}
    first = requests.get(f"{base_url}{case.formatted_path}", params={**params, "limit": "1"}, headers=headers,
                         timeout=10)
    if first.status_code != 200:  # no walk to continue: the case asks for a first page (refused alike if 401/403)
        del case.query["cursor"]
        return
    next_url = first.json()["next"]
    if next_url:
        case.query["cursor"] = parse_qs(urlsplit(next_url).query)["cursor"][0]
    else:
        del case.query["cursor"]


def valid_passwords(case, account: Account | None) -> str | None:
    """The password policy is one rule a schema can state (the minimum length) and two it cannot (not a
    common password, not like the email or name): a valid case gets a strong new password, and a password
    change the caller's real current one. Returns the new password of a change."""
    body = case.body if isinstance(case.body, dict) else {}
    if case.operation.path == "/api/v1/auth/register" and "password" in body:
        body["password"] = secrets.token_urlsafe(18)
    if case.operation.path == "/api/v1/auth/password" and account is not None:
        body.update(current_password=account.password, new_password=secrets.token_urlsafe(18))
        return body["new_password"]
    return None


PRICES = ("entry_price", "stop_loss", "take_profit")


def _price(value) -> Decimal:
    """A generated price as the server reads it: the text, or the JSON number as it is serialised."""
    return Decimal(value if isinstance(value, str) else repr(value))


def prices_in_order(case) -> None:
    """A create's prices must be in its direction's order (long: stop < entry < take; short: take < entry <
    stop), which no schema can say: a valid create gets its three generated prices in that order (three
    equal ones, which no order fits, become 1, 2 and 3)."""
    body = case.body if isinstance(case.body, dict) else {}
    if (case.operation.path, case.method.upper()) != ("/api/v1/trade-signals", "POST") \
            or not all(name in body for name in PRICES):
        return
    low, middle, high = sorted((body[name] for name in PRICES), key=_price)
    if len({_price(low), _price(middle), _price(high)}) < 3:
        low, middle, high = "1", "2", "3"
    body["entry_price"] = middle
    body["stop_loss"], body["take_profit"] = (low, high) if body.get("direction") == "long" else (high, low)


CANDLE_PRICES = ("o", "h", "l", "c")


def candles_in_order(case) -> None:
    """A candle's prices must hold ``l ≤ o, c ≤ h`` and its minute must have started and be the request's only
    one of that minute — rules across fields and items that no schema can say: a valid ingest gets each
    candle's four generated prices put in that order and distinct past minutes (one a minute, counting back)."""
    body = case.body if isinstance(case.body, dict) else {}
    candles = body.get("candles")
    if (case.operation.path, case.method.upper()) != ("/api/v1/trade-signals/market/candles", "POST") \
            or not isinstance(candles, list):
        return
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    for index, candle in enumerate(candles):
        if not isinstance(candle, dict) or not all(name in candle for name in CANDLE_PRICES):
            continue
        low, first, second, high = sorted((candle[name] for name in CANDLE_PRICES), key=_price)
        candle.update(l=low, o=first, c=second, h=high)
        candle["t"] = (minute - timedelta(minutes=index + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def range_in_order(case) -> None:
    """``from`` must not be after ``to`` (a rule across two parameters): a valid read gets them in order."""
    query = case.query if isinstance(case.query, dict) else {}
    try:
        start, end = (datetime.fromisoformat(query[name]) for name in ("from", "to"))
    except (KeyError, TypeError, ValueError):
        return
    if start > end:
        query["from"], query["to"] = query["to"], query["from"]


UPLOADS = {("/api/v1/trade-signals/images", "POST"), ("/api/v1/users/me/avatar", "PUT")}
IMAGE_ID_WRITES = {("/api/v1/trade-signals", "POST"), ("/api/v1/trade-signals/{signal_id}", "PATCH")}


def real_images(case, base_url: str, headers: dict | None) -> None:
    """A valid upload's file is a real image (random bytes are rightly refused), and a valid ``image_id`` is an
    upload of the caller's that no signal holds (what no schema can say)."""
    body = case.body if isinstance(case.body, dict) else None
    where = (case.operation.path, case.method.upper())
    if body is None:
        return
    if where in UPLOADS and "image" in body:
        body["image"] = images.png(32, 24)
    elif where in IMAGE_ID_WRITES and body.get("image_id") is not None and headers:
        response = requests.post(f"{base_url}/api/v1/trade-signals/images", headers=headers, timeout=10,
                                 files={"image": ("chart.png", images.png(32, 24), "image/png")})
        if response.status_code == 201:
            body["image_id"] = response.json()["id"]


def call_and_check(case, base_url: str, account: Account | None, seeds: Seeds) -> None:
    token = account.fresh_token() if account else None
    headers = {"Authorization": f"Bearer {token}"} if token else None
    new_password = None
    expected = None
    if case.meta is not None and case.meta.generation.mode.is_positive:
        if real_discussion_ids(case, seeds, headers):
            expected = expected_statuses(case, account.role if account else None)
        real_cursor(case, base_url, headers)
        new_password = valid_passwords(case, account)
        prices_in_order(case)
        candles_in_order(case)
        range_in_order(case)
        real_images(case, base_url, headers)
        unique_posts(case, account, _post_limits())
    started = time.monotonic()
    response = case.call(base_url=base_url, headers=headers, timeout=10)
    elapsed = time.monotonic() - started
    if new_password and response.status_code == 204:
        account.password = new_password
    case.validate_response(response, checks=CHECKS, headers=headers)
    bound = MAX_SECONDS_FOR.get((case.operation.path, case.method.upper()), MAX_SECONDS)
    if elapsed >= bound:
        # An input that stalls a worker (a backtracking pattern, a huge decode) is slow every time; a request that
        # waited behind the rest of a loaded run is not. So a slow answer is sent once more and must be slow again.
        retry_headers = {"Authorization": f"Bearer {account.fresh_token()}"} if account else None
        started = time.monotonic()
        case.call(base_url=base_url, headers=retry_headers, timeout=10)
        again = time.monotonic() - started
        assert again < bound, f"{case.method} {case.formatted_path} took {elapsed:.2f}s, then {again:.2f}s"
    if expected is not None:  # a valid case naming only real things has one answer
        assert response.status_code in expected, \
            f"{case.method} {case.formatted_path} {case.body!r}: {response.status_code} {response.text}"
