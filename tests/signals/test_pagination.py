"""Keyset pagination: complete walks under concurrent inserts, signed cursors, limits, filters."""
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from apps.signals.models import TradeSignal
from tests.support.signals import BASE, VALID, review


def walk(caller, path, **params):
    seen, pages, url = [], 0, None
    while True:
        response = caller.get(url) if url else caller.get(path, **params)
        assert response.status_code == 200, response.content
        body = response.json()
        seen.extend(item["id"] for item in body["results"])
        pages += 1
        url = body["next"]
        if url is None:
            return seen, pages
        assert url.startswith(path)


def test_walk_returns_every_signal_once_while_others_are_inserted(owner, make_caller):
    existing = [owner.create(rationale=f"n{i}")["id"] for i in range(25)]
    writer = make_caller("user", user_id=owner.user_id)
    stop = threading.Event()
    inserted = []

    def insert_forever():
        while not stop.is_set():
            inserted.append(writer.create(rationale="late")["id"])

    thread = threading.Thread(target=insert_forever)
    thread.start()
    try:
        seen, pages = walk(owner, BASE, limit="4")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert inserted, "no concurrent inserts happened"
    assert len(seen) == len(set(seen)), "a signal appeared twice"
    assert set(existing) <= set(seen)
    assert [s for s in seen if s in existing] == list(reversed(existing))  # newest first
    assert pages >= 7


def test_same_created_at_is_ordered_by_id_and_not_skipped(owner):
    ids = [owner.create()["id"] for _ in range(6)]
    moment = TradeSignal.objects.first().created_at
    TradeSignal._get_collection().update_many({}, {"$set": {"created_at": moment}})
    seen, _ = walk(owner, BASE, limit="2")
    assert seen == sorted(ids, reverse=True)


@pytest.mark.parametrize("mutate", [
    lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),
    lambda c: "x" + c,
    lambda c: c.split(".")[0],
    lambda c: "garbage",
    lambda c: "a.b.c",
])
def test_forged_cursor_is_400(owner, mutate):
    for _ in range(3):
        owner.create()
    cursor = parse_qs(urlsplit(owner.get(BASE, limit="1").json()["next"]).query)["cursor"][0]
    response = owner.get(BASE, cursor=mutate(cursor), limit="1")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"cursor": ["Invalid or tampered cursor."]}


def test_cursor_of_one_list_is_refused_by_another(owner, admin):
    for _ in range(3):
        review(admin, owner.create()["id"], "approved")
    cursor = parse_qs(urlsplit(owner.get(BASE, limit="1").json()["next"]).query)["cursor"][0]
    assert owner.get(f"{BASE}/public", cursor=cursor, limit="1").status_code == 400
    assert owner.get(BASE, cursor=cursor, limit="1", symbol="ETH").status_code == 400


@pytest.mark.parametrize(("limit", "status"), [("0", 400), ("101", 400), ("-1", 400), ("abc", 400),
                                               ("1", 200), ("100", 200)])
def test_limit_bounds(owner, limit, status):
    assert owner.get(BASE, limit=limit).status_code == status


def test_default_limit_is_20(owner):
    for _ in range(21):
        owner.create()
    body = owner.get(BASE).json()
    assert len(body["results"]) == 20 and body["next"]


def test_filters_narrow_each_list(owner, admin, anonymous):
    eth = owner.create(symbol="ETH", timeframe="1h")
    btc_short = owner.create(direction="short", entry_price="100", stop_loss="110", take_profit="80")
    for signal in (eth, btc_short):
        review(admin, signal["id"], "approved")
    pending = owner.create(symbol="ETH")
    assert [s["id"] for s in owner.get(BASE, symbol="eth").json()["results"]] == [pending["id"], eth["id"]]
    assert [s["id"] for s in owner.get(BASE, status="pending").json()["results"]] == [pending["id"]]
    assert [s["id"] for s in anonymous.get(f"{BASE}/public", direction="short").json()["results"]] == [
        btc_short["id"]]
    assert [s["id"] for s in anonymous.get(f"{BASE}/public", timeframe="1h").json()["results"]] == [eth["id"]]
    admin_ids = [s["id"] for s in admin.get(f"{BASE}/admin", owner_id=owner.user_id, status="approved")
                 .json()["results"]]
    assert admin_ids == [btc_short["id"], eth["id"]]
    assert admin.get(f"{BASE}/admin", owner_id="nobody").json()["results"] == []


@pytest.mark.parametrize(("param", "value"), [("status", "done"), ("direction", "up"), ("timeframe", "3h"),
                                              ("symbol", "B-T-C")])
def test_invalid_filter_is_400(owner, param, value):
    response = owner.get(BASE, **{param: value})
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == [param]


def test_next_keeps_filters_and_limit(owner):
    for _ in range(3):
        owner.create(symbol="ETH")
    owner.create(**{**VALID, "symbol": "BTC"})
    body = owner.get(BASE, symbol="ETH", limit="2").json()
    query = parse_qs(urlsplit(body["next"]).query)
    assert query["symbol"] == ["ETH"] and query["limit"] == ["2"]
    second = owner.get(body["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
