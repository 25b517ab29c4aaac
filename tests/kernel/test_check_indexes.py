"""``manage.py check_indexes`` on the real test server: the declared shapes pass, a planted shape no index
serves fails by name (exit status 1 and the table of failures), and every query the API sends during a run
has a declared shape — recorded on the wire with a pymongo ``CommandListener``."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import mongoengine
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from pymongo import monitoring

from tests.support.accounts import Accounts
from tests.support.discussions import comment, hide_comment, report, signal_comment, start_thread
from tests.support.signals import BASE, review
from tests.support.tokens import make_token
from tradesignals.kernel import keyset, mongo
from tradesignals.kernel import query_shapes as q

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "planted: signals by rationale, newest entry price first"


def run(*args) -> str:
    out = io.StringIO()
    call_command("check_indexes", *args, stdout=out)
    return out.getvalue()


def planted() -> q.Shape:
    return q.find(PLANTED, "signals", "trade_signals", {"rationale": "why"}, [("entry_price", -1)])


def test_every_declared_shape_is_served_on_the_test_server(mongo_uri):
    output = run()
    embedded = "secantusVersion" in mongo.database("signals").client.admin.command("buildInfo")
    expected = "embedded server, prefix check" if embedded else "explain check"
    assert all(f"alias {alias}: " in output and expected in output for alias in settings.MONGODB_ALIASES)
    shapes = q.all_shapes()
    rows = [line for line in output.splitlines() if line.startswith(("ok ", "EXEMPT ", "FAIL "))]
    assert len(rows) == len(shapes) and not any(row.startswith("FAIL ") for row in rows)
    exempt = [row for row in rows if row.startswith("EXEMPT ")]
    assert len(exempt) == sum(1 for s in shapes if s.exempt) and all("exempt: " in row for row in exempt)
    for shape in shapes:
        assert f"  {shape.name}  " in output
    assert f"{len(shapes)} query shapes: " in output.splitlines()[-1]
    # The lists are all there: every filter combination of the three signal lists and of the console queue.
    assert "signals public list [owner_active+status+symbol]" in output
    assert "signals console queue [direction+owner_id+status+symbol] · later page" in output
    assert "users directory · ties" in output and "discussions comment page · above" in output
    assert "outbox signals · pending" in output


def test_a_planted_shape_without_an_index_fails_with_its_name(mongo_uri):
    with q.extra(planted()), pytest.raises(CommandError) as failed:
        run()
    assert failed.value.returncode == 1
    message = str(failed.value)
    assert "1 not:" in message and PLANTED in message and "FAIL" in message
    failures = [line for line in message.splitlines()[2:]]
    assert len(failures) == 1 and "no declared index serves it" in failures[0]
    # Without it the same run passes: nothing else failed.
    run()


def test_an_index_that_filters_but_does_not_order_is_not_enough(mongo_uri):
    unsorted = q.find("planted: own signals by price", "signals", "trade_signals", {"owner_id": "o"},
                      [("entry_price", 1)])
    with q.extra(unsorted), pytest.raises(CommandError) as failed:
        run("--only", "planted:")
    assert "gives the order" in str(failed.value) and "planted: own signals by price" in str(failed.value)


def test_the_explain_check_refuses_a_collection_scan_and_an_in_memory_sort(mongo_uri):
    """The MongoDB path (``--mode explain``) on the same server: a filter no index serves is a COLLSCAN, an order
    no index gives a SORT stage; an index scan passes."""
    scan = q.find("planted: signals by rationale", "signals", "trade_signals", {"rationale": "why"})
    unsorted = q.find("planted: own signals by price", "signals", "trade_signals", {"owner_id": "o"},
                      [("entry_price", 1)])
    by_owner = q.find("planted: signals of an owner", "signals", "trade_signals", {"owner_id": "o"})
    with q.extra(scan, unsorted, by_owner), pytest.raises(CommandError) as failed:
        run("--mode", "explain", "--only", "planted:")
    failures = {re.split(r"\s{2,}", line)[1]: line for line in str(failed.value).splitlines()[2:]}
    assert set(failures) == {"planted: signals by rationale", "planted: own signals by price"}
    assert "COLLSCAN" in failures["planted: signals by rationale"]
    assert "SORT" in failures["planted: own signals by price"]


def test_the_command_exits_1_with_the_table_of_failures(mongo_uri, tmp_path):
    (tmp_path / "planted_shapes.py").write_text(
        "from tradesignals.kernel import query_shapes as q\n"
        f"q.register(q.find({PLANTED!r}, 'signals', 'trade_signals', {{'rationale': 'x'}}, [('entry_price', -1)]))\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", "MONGODB_URI": mongo_uri,
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    env.pop("TEST_MONGODB_URI", None)
    passed = subprocess.run([sys.executable, "manage.py", "check_indexes"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert passed.returncode == 0, passed.stderr[-3000:]
    assert "served by an index" in passed.stdout
    failed = subprocess.run([sys.executable, "manage.py", "check_indexes", "--import", "planted_shapes"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1
    assert PLANTED in failed.stderr and "result  shape" in failed.stderr


# -- every query the API sends has a declared shape --------------------------------------------------------
class Recorder(monitoring.CommandListener):
    """The filter and sort of every read and every filtered write the clients send."""

    def __init__(self):
        self.seen: list[tuple[str, dict, tuple, str]] = []

    def started(self, event):
        command, name = event.command, event.command_name
        if name == "find":
            self._add(command["find"], command.get("filter") or {}, command.get("sort"), name)
        elif name == "aggregate" and isinstance(command.get("aggregate"), str):
            stages = list(command.get("pipeline") or ())
            query = stages[0]["$match"] if stages and "$match" in stages[0] else {}
            rest = stages[1:] if query or (stages and "$match" in stages[0]) else stages
            sort = rest[0]["$sort"] if rest and "$sort" in rest[0] else None
            self._add(command["aggregate"], query, sort, name)
        elif name in ("count", "distinct"):
            self._add(command[name], command.get("query") or {}, None, name)
        elif name == "findAndModify":
            self._add(command["findAndModify"], command.get("query") or {}, command.get("sort"), name)
        elif name == "update":
            for statement in command.get("updates", ()):
                self._add(command["update"], statement.get("q") or {}, None, name)
        elif name == "delete":
            for statement in command.get("deletes", ()):
                self._add(command["delete"], statement.get("q") or {}, None, name)

    def _add(self, collection, query, sort, name):
        if not collection.startswith("system."):
            self.seen.append((collection, query, q.normal_sort(sort), name))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
def recorder(mongo_uri):
    """Every alias reconnected with a recorder on its client for the test, then as before."""
    found = Recorder()
    for alias in settings.MONGODB_ALIASES:
        mongoengine.disconnect(alias=alias)
        mongoengine.connect(alias=alias, host=mongo_uri, db=mongo._db_name(mongo_uri), tz_aware=True,
                            uuidRepresentation="standard", event_listeners=[found], **mongo.client_options())
    try:
        yield found
    finally:
        mongo.connect_enabled_aliases(uri_override=mongo_uri)


def _walk(get, path: str, **params) -> list:
    """Every page of a keyset list, one item a page (so the cursor queries run too)."""
    items, response = [], get(path, limit=1, **params)
    for _ in range(20):
        assert response.status_code == 200, (path, params, response.content)
        body = response.json()
        items += body["results"]
        if not body.get("next"):
            return items
        response = get(body["next"])
    raise AssertionError(f"{path} {params}: more pages than expected")


class Api:
    """A caller with a real token, as in tests/support/api.py, over Django's test client."""

    def __init__(self, user_id: str, role: str | None, name: str = "Trader"):
        self.client, self.user_id = Client(), user_id
        self.token = make_token(user_id, role=role, name=name) if role else None

    def _auth(self):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, **params):
        return self.client.get(path, params or None, **self._auth())

    def send(self, method, path, body=None, headers=None):
        import json

        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        return getattr(self.client, method.lower())(path, data=json.dumps(body) if body is not None else None,
                                                    content_type="application/json", **self._auth(), **extra)

    def upload(self, path, *, method="POST"):
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.test.client import MULTIPART_CONTENT, encode_multipart

        from tests.support.images import png

        form = {"image": SimpleUploadedFile("chart.png", png(), content_type="image/png")}
        if method == "POST":
            response = self.client.post(path, form, **self._auth())
        else:
            response = getattr(self.client, method.lower())(
                path, data=encode_multipart("BoUnDaRy", form), content_type=f"{MULTIPART_CONTENT[:19]}; "
                "boundary=BoUnDaRy", **self._auth())
        assert response.status_code in (200, 201), response.content
        return response.json()

    def create(self, **fields):
        from tests.support.signals import VALID

        response = self.send("POST", BASE, {**VALID, **fields})
        assert response.status_code == 201, response.content
        return response.json()


def _console(user_id: str) -> Client:
    client = Client(HTTP_ACCEPT="text/html")
    client.cookies[settings.AUTH_ACCESS_COOKIE] = make_token(user_id, role="admin", name="Ada Admin")
    return client


def _drive_the_product(api_client):
    """A small but complete run: accounts, profiles and the directory, every signal list with each filter and
    its pages, the console, and the discussions slice."""
    accounts = Accounts(api_client)
    admin_pair = accounts.make_admin()
    first = accounts.register(display_name="Olivia Owner")
    second = accounts.register(display_name="Otto Other")
    for _ in range(2):  # two entries of one user and type: the audit walk has a second page
        accounts.login(first["user"]["email"])
    sessions = accounts.get("sessions", first["access"])
    assert sessions.status_code == 200, sessions.content
    owner = Api(first["user"]["id"], "user", "Olivia Owner")
    other = Api(second["user"]["id"], "user", "Otto Other")
    admin = Api(admin_pair["user"]["id"], "admin", "Ada Admin")
    anonymous = Api("", None)
    for params in ({}, {"user_id": owner.user_id}, {"type": "login_succeeded"},
                   {"user_id": owner.user_id, "type": "login_succeeded"}):
        _walk(admin.get, "/api/v1/auth/admin/audit", **params)

    btc = owner.create(symbol="BTC/USDT")
    eth = owner.create(symbol="ETH/USDT", direction="short", entry_price="3000", stop_loss="3100",
                       take_profit="2800", timeframe="1h")
    sol = other.create(symbol="SOL/USDT")
    for signal, status in ((btc, "approved"), (eth, "approved"), (sol, "rejected")):
        assert review(admin, signal["id"], status, reason="Reviewed").status_code == 200
    ada = owner.create(symbol="ADA/USDT")
    edited = owner.send("PATCH", f"{BASE}/{ada['id']}", {"rationale": "A tighter stop."},
                        headers={"If-Match": f'"v{ada["version"]}"'})
    assert edited.status_code == 200, edited.content
    keyset.forget_hints()

    filters = {"symbol": "BTC/USDT", "direction": "long", "timeframe": "4h"}
    combos = [{}, *({k: v} for k, v in filters.items()), {"symbol": "BTC/USDT", "direction": "long"},
              {"direction": "long", "timeframe": "4h"}]
    for combo in combos:
        _walk(owner.get, BASE, **combo)
        _walk(owner.get, BASE, status="approved", **combo)
        _walk(anonymous.get, f"{BASE}/public", **combo)
        _walk(admin.get, f"{BASE}/admin", **combo)
        _walk(admin.get, f"{BASE}/admin", status="approved", **combo)
        _walk(admin.get, f"{BASE}/admin", owner_id=owner.user_id, **combo)
        _walk(admin.get, f"{BASE}/admin", owner_id=owner.user_id, status="approved", **combo)
    assert anonymous.get(f"{BASE}/{btc['id']}").status_code == 200
    assert owner.get(f"{BASE}/{ada['id']}").status_code == 200

    console = _console(admin.user_id)
    for path in ("/console/", "/console/?symbol=ADA%2FUSDT", "/console/?direction=long",
                 f"/console/?owner_id={owner.user_id}", f"/console/?owner_id={owner.user_id}&symbol=ADA%2FUSDT",
                 "/console/reviewed/", "/console/reviewed/?who=anyone", "/console/overview/",
                 "/console/signals/", "/console/signals/?status=approved", f"/console/signals/{btc['id']}/"):
        assert console.get(path).status_code == 200, path

    profile = anonymous.get(f"/api/v1/users/{owner.user_id}")
    assert profile.status_code == 200, profile.content
    assert owner.get("/api/v1/users/me").status_code == 200
    for params in ({}, {"search": "olivia"}, {"role": "user"}, {"is_active": "true"},
                   {"search": "o", "role": "user", "is_active": "true"}):
        _walk(admin.get, "/api/v1/users", **params)

    thread = start_thread(owner)
    comments = [comment(other, thread["id"]) for _ in range(3)]
    under_signal = signal_comment(other, btc["id"])
    report(owner, comments[0]["id"])
    hide_comment(admin, thread["id"], comments[1]["id"])
    for caller in (anonymous, admin):
        _walk(caller.get, "/api/v1/discussions")
        _walk(caller.get, "/api/v1/discussions", signal_id=btc["id"])
        _walk(caller.get, f"/api/v1/discussions/{thread['id']}/comments")
        assert caller.get(f"/api/v1/discussions/{thread['id']}").status_code == 200
    _walk(anonymous.get, f"/api/v1/discussions/signals/{btc['id']}/comments")
    _walk(admin.get, "/api/v1/discussions/reports")
    assert console.get("/console/discussions/").status_code == 200
    assert console.get(f"/console/discussions/threads/{thread['id']}/").status_code == 200
    # Images: a chart on a signal and an avatar, replaced (one discarded), then the collector's sweeps.
    chart = owner.upload(f"{BASE}/images")
    owner.create(symbol="XRP/USDT", image_id=chart["id"])
    owner.upload("/api/v1/users/me/avatar", method="PUT")
    owner.upload("/api/v1/users/me/avatar", method="PUT")
    call_command("images_gc", stdout=io.StringIO())

    deleted = other.send("DELETE", f"/api/v1/discussions/{thread['id']}/comments/{comments[2]['id']}")
    assert deleted.status_code == 204, deleted.content
    assert owner.send("DELETE", f"/api/v1/discussions/{thread['id']}").status_code == 204
    assert under_signal["id"]
    assert owner.send("DELETE", f"{BASE}/{ada['id']}").status_code == 204
    # An account deactivated and reactivated: every slice's owner and author updates.
    for active in (False, True):
        changed = admin.send("PATCH", f"/api/v1/auth/admin/users/{other.user_id}", {"is_active": active})
        assert changed.status_code == 200, changed.content


def _undeclared(seen) -> list[str]:
    declared = {shape.signature() for shape in q.all_shapes()}
    return sorted({f"{name} {collection} {query} sort={list(sort)}" for collection, query, sort, name in seen
                   if not q.by_id(query) and q.signature(collection, query, sort) not in declared})


def test_every_query_the_api_sends_has_a_declared_shape(recorder, api_client):
    _drive_the_product(api_client)
    seen = list(recorder.seen)
    assert len({(c, repr(f), s, n) for c, f, s, n in seen}) > 60  # the run reached every slice, the recorder saw it
    missing = _undeclared(seen)
    assert not missing, "queries without a declared shape:\n" + "\n".join(missing)
    # The run did reach the shapes it is about…
    reached = {q.signature(c, f, s) for c, f, s, _n in seen}
    for name in ("signals public list [owner_active+status+symbol]", "signals console queue [owner_id+status]",
                 "signals admin list [owner_id+status]", "users directory", "discussions comment page",
                 "accounts audit [user+type] · later page", "outbox signals · pending for keys",
                 "chart images · unattached by age", "users avatars · discarded before",
                 "signals console counts per day", "signals of an owner · (de)activated",
                 "discussions comments of a thread", "users comment states of a thread",
                 "accounts revoke sessions of a user"):
        shape = next(s for s in q.all_shapes() if s.name == name)
        assert shape.signature() in reached, name
    # …and a query nobody declared, sent through the same clients, is reported.
    from apps.signals.models import TradeSignal

    recorder.seen.clear()
    TradeSignal._get_collection().find_one({"rationale": "why"}, sort=[("entry_price", -1)])
    assert _undeclared(recorder.seen) == ["find trade_signals {'rationale': 'why'} sort=[('entry_price', -1)]"]
