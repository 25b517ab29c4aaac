"""The OpenAPI document is the contract a client can be built from: a Python client generated from the live
server's own ``/api/schema/`` (openapi-python-client, at test time, into pytest's temp dir) walks the README —
register, log in, create a signal, an administrator made with ``manage.py createadmin`` approves it, the
public feed shows it (and answers 304 to its tag), a stale If-Match is a 412 and the current one edits it
back to pending — against a real gunicorn, and every response of the walk is validated by openapi-core
against that same document, strictly: an undocumented property anywhere is a failure
(``additional_properties_default_policy="forbid"``), ``nullable`` is OpenAPI 3.0.3's (only next to a
``type``), and every documented required header must be there.
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from urllib.parse import parse_qsl

import httpx
import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.exceptions import OpenAPIError
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.support.procs import BIN, ROOT, Gunicorn

pytestmark = pytest.mark.cluster

PASSWORD = "a long passphrase 42"
ADMIN_PASSWORD = "another long passphrase 7"
PACKAGE = "ts_contract_client"


class OpenAPIRequest:
    """An ``httpx.Request`` as openapi-core reads a request (its ``contrib`` has no httpx adapter)."""

    def __init__(self, request: httpx.Request):
        self.host_url = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self.path = request.url.path
        self.method = request.method.lower()
        self.content_type = request.headers.get("Content-Type", "")
        self.body = request.content or None
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(request.url.query.decode(), keep_blank_values=True)),
            header=Headers(dict(request.headers)), cookie=ImmutableMultiDict())


class OpenAPIResponse:
    def __init__(self, response: httpx.Response):
        self.status_code = response.status_code
        self.headers = Headers(dict(response.headers))
        self.content_type = response.headers.get("Content-Type", "")
        self.data = response.content or None


class StrictValidation:
    """An httpx response hook: every response the generated client receives is validated against the
    document before the client parses it; a response that does not conform fails the step that got it."""

    def __init__(self, openapi: OpenAPI):
        self.openapi = openapi
        self.validated: list[tuple[str, str, int]] = []

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.openapi.validate_response(OpenAPIRequest(response.request), OpenAPIResponse(response))
        self.validated.append((response.request.method, response.request.url.path, response.status_code))


@pytest.fixture(scope="module")
def contract_server(mongo_uri, redis_server_url):
    server = Gunicorn({"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true"},
                      name="contract").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def document(contract_server) -> dict:
    response = requests.get(f"{contract_server.url}/api/schema/?format=json", timeout=10)
    assert response.status_code == 200, response.text[:500]
    return response.json()


@pytest.fixture(scope="module")
def openapi(document) -> OpenAPI:
    return OpenAPI.from_dict(document, config=Config(additional_properties_default_policy="forbid"))


@pytest.fixture(scope="module")
def client_package(document, tmp_path_factory):
    """The client openapi-python-client generates from the live document, imported; the whole document
    generates (the tool warns about every schema it cannot turn into code, and it warns about none)."""
    root = tmp_path_factory.mktemp("generated-client")
    source, config = root / "openapi.json", root / "config.yaml"
    source.write_text(json.dumps(document))
    config.write_text("post_hooks: []\n")  # no formatter run: the code is imported, not read
    result = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(source), "--output-path",
         str(root / PACKAGE), "--meta", "none", "--config", str(config)],
        cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Warning" not in result.stdout + result.stderr, result.stdout[-4000:] + result.stderr[-2000:]
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(package, name: str):
    return importlib.import_module(f"{package.__name__}.{name}")


def _create_admin(mongo_uri: str, redis_url: str, email: str) -> None:
    """README step 3: the first administrator comes from the management command."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", "MONGODB_URI": mongo_uri,
           "REDIS_URL": redis_url, "REDIS_ENABLED": "true", "ADMIN_PASSWORD": ADMIN_PASSWORD}
    result = subprocess.run([sys.executable, "manage.py", "createadmin", "--email", email, "--password-env",
                             "ADMIN_PASSWORD"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_generated_client_walks_the_readme(client_package, openapi, contract_server, mongo_uri,
                                           redis_server_url):
    api = _module(client_package, "api")
    models = _module(client_package, "models")
    register = _module(api, "v1.auth_register")
    login = _module(api, "v1.auth_login")
    create = _module(api, "trade_signals.trade_signals_create")
    review = _module(api, "trade_signals.trade_signal_review")
    public_feed = _module(api, "trade_signals.trade_signals_list_public")
    update = _module(api, "trade_signals.trade_signal_update")

    validation = StrictValidation(openapi)
    hooks = {"event_hooks": {"response": [validation]}}
    anonymous = client_package.Client(base_url=contract_server.url, httpx_args=hooks)

    def as_user(token: str):
        return client_package.AuthenticatedClient(base_url=contract_server.url, token=token, httpx_args=hooks)

    # 1. register a trader, then log in
    email = f"trader-{uuid.uuid4().hex[:8]}@example.com"
    registered = register.sync_detailed(client=anonymous, body=models.RegisterInputRequest(email=email,
                                                                                          password=PASSWORD))
    assert registered.status_code == 201 and registered.parsed.user.email == email
    logged_in = login.sync_detailed(client=anonymous, body=models.LoginInputRequest(email=email, password=PASSWORD))
    assert logged_in.status_code == 200
    trader = as_user(logged_in.parsed.access)

    # 2. create a signal: 201, Location, the first version's tag, pending with no review (null)
    created = create.sync_detailed(client=trader, body=models.SignalInputRequest(
        symbol="BTC/USDT", direction=models.DirectionEnum("long"), entry_price="64000.10", stop_loss="63000",
        take_profit="66000.50", timeframe=models.TimeframeEnum("4h"),
        rationale="Breakout above the weekly range."))
    assert created.status_code == 201, created.content
    signal = created.parsed
    assert signal.status == models.SignalStatusEnum("pending") and signal.review is None
    assert created.headers["Location"].endswith(f"/api/v1/trade-signals/{signal.id}")
    assert created.headers["ETag"] == '"v1"'

    # 3. an administrator (made by manage.py createadmin) approves it
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    _create_admin(mongo_uri, redis_server_url, admin_email)
    admin_login = login.sync_detailed(client=anonymous,
                                      body=models.LoginInputRequest(email=admin_email, password=ADMIN_PASSWORD))
    assert admin_login.status_code == 200
    admin = as_user(admin_login.parsed.access)
    approved = review.sync_detailed(signal.id, client=admin, if_match=created.headers["ETag"],
                                    body=models.PatchedReviewInputRequestType0(
                                        status=models.PatchedReviewInputRequestType0Status("approved")))
    assert approved.status_code == 200, approved.content
    assert approved.parsed.status == models.SignalStatusEnum("approved")
    assert approved.parsed.review.by == admin_login.parsed.user.id
    assert approved.headers["ETag"] == '"v2"'

    # 4. the public feed shows it, with no token; its tag answers 304
    feed = public_feed.sync_detailed(client=anonymous, symbol="BTC/USDT")
    assert feed.status_code == 200
    approved_status = models.SignalStatusEnum("approved")
    assert [(item.id, item.status) for item in feed.parsed.results] == [(signal.id, approved_status)]
    assert feed.parsed.results[0].risk_reward
    assert feed.headers["X-Cache"] in ("hit", "miss")
    unchanged = public_feed.sync_detailed(client=anonymous, symbol="BTC/USDT", if_none_match=feed.headers["ETag"])
    assert unchanged.status_code == 304

    # 5. a stale If-Match is a 412; the current one edits it, back to pending
    stale = update.sync_detailed(signal.id, client=trader, if_match=created.headers["ETag"],
                                 body=models.PatchedSignalInputRequest(rationale="Raised the target."))
    assert stale.status_code == 412 and stale.parsed.error.code == "precondition_failed"
    edited = update.sync_detailed(signal.id, client=trader, if_match=approved.headers["ETag"],
                                  body=models.PatchedSignalInputRequest(rationale="Raised the target."))
    assert edited.status_code == 200, edited.content
    assert edited.parsed.status == models.SignalStatusEnum("pending") and edited.parsed.review is None
    assert edited.headers["ETag"] == '"v3"'

    assert [status for _method, _path, status in validation.validated] == [
        201, 200, 201, 200, 200, 200, 304, 412, 200]


def test_the_validation_is_strict(openapi, contract_server):
    """The walk's validation can fail: a property the document does not name, or a required header
    missing, is refused."""
    url = f"{contract_server.url}/api/v1/trade-signals/public"
    response = httpx.get(url)
    assert response.status_code == 200
    openapi.validate_response(OpenAPIRequest(response.request), OpenAPIResponse(response))

    body = response.json()
    body["undocumented"] = True
    extra = httpx.Response(200, headers=response.headers, content=json.dumps(body).encode(),
                           request=response.request)
    with pytest.raises(OpenAPIError):
        openapi.validate_response(OpenAPIRequest(extra.request), OpenAPIResponse(extra))

    headers = {name: value for name, value in response.headers.items() if name.lower() != "etag"}
    untagged = httpx.Response(200, headers=headers, content=response.content, request=response.request)
    with pytest.raises(OpenAPIError):
        openapi.validate_response(OpenAPIRequest(untagged.request), OpenAPIResponse(untagged))
