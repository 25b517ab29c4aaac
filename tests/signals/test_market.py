"""Market data through the real API: a feed (or an admin) posts one-minute candles, stored once per minute and
replaced when changed, refused with a 400 naming the bad candle; anyone reads them back, oldest first."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.errors import assert_error
from tests.support.signals import BASE
from tradesignals.kernel import events

CANDLES = f"{BASE}/market/candles"
T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def minute(n: int, start: datetime = T0) -> str:
    return (start + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def candle(n: int = 0, **overrides) -> dict:
    return {"t": minute(n), "o": "100.5", "h": "101.25", "l": "99.75", "c": "100.00", **overrides}


def body(*candles, symbol: str = "btc/usdt") -> dict:
    return {"symbol": symbol, "candles": list(candles)}


@pytest.fixture
def feed(make_caller):
    return make_caller("feed", name="Exchange Bridge")


@pytest.fixture
def received():
    seen = []
    events.subscribe("market.candles_received", seen.append, app="tests")
    yield seen
    subscribers = events._subscribers["market.candles_received"]
    subscribers[:] = [s for s in subscribers if s[0] != "tests"]


def post(caller, payload):
    return caller.send("POST", CANDLES, payload)


def test_a_feed_posts_candles_and_anyone_reads_them_back(feed, anonymous, received):
    response = post(feed, body(candle(1, o="64000.10", h="64010", l="63990.5", c="64005.12345678"), candle(0)))
    assert response.status_code == 200, response.content
    assert response.json() == {"symbol": "BTC/USDT", "received": 2, "stored": 2, "changed": 0, "unchanged": 0}
    assert response["Cache-Control"] == "no-store"
    assert [(e.key, e.data) for e in received] == [
        ("BTC/USDT", {"symbol": "BTC/USDT", "first": minute(0), "last": minute(1), "count": 2})]

    read = anonymous.get(CANDLES, symbol="BTC/USDT")
    assert read.status_code == 200, read.content
    assert read.json() == {"symbol": "BTC/USDT", "next": None, "results": [
        {"t": minute(0), "o": "100.5", "h": "101.25", "l": "99.75", "c": "100.00"},
        {"t": minute(1), "o": "64000.10", "h": "64010", "l": "63990.5", "c": "64005.12345678"}]}
    assert read["Cache-Control"].startswith("public, max-age=")
    assert anonymous.get(CANDLES, symbol="eth/usdt").json()["results"] == []


def test_the_same_candles_again_are_stored_once_and_a_changed_one_replaces_it(feed, received):
    first = post(feed, body(candle(0), candle(1), candle(2)))
    assert first.json()["stored"] == 3
    received.clear()

    again = post(feed, body(candle(0), candle(1), candle(2)))
    assert again.status_code == 200
    assert again.json() == {"symbol": "BTC/USDT", "received": 3, "stored": 0, "changed": 0, "unchanged": 3}
    assert received == []  # a replay wakes nobody

    # The same prices in another spelling are the same candle; a new close is a change.
    changed = post(feed, body(candle(0, o="100.50"), candle(1, c="100.75"), candle(3)))
    assert changed.json() == {"symbol": "BTC/USDT", "received": 3, "stored": 1, "changed": 1, "unchanged": 1}
    assert [e.data for e in received] == [{"symbol": "BTC/USDT", "first": minute(1), "last": minute(3), "count": 2}]
    rows = feed.get(CANDLES, symbol="BTC/USDT").json()["results"]
    assert [(row["t"], row["c"]) for row in rows] == [(minute(0), "100.00"), (minute(1), "100.75"),
                                                      (minute(2), "100.00"), (minute(3), "100.00")]


def test_who_may_post(make_caller, anonymous, owner):
    admin = make_caller("admin")
    assert post(admin, body(candle(0))).status_code == 200
    assert_error(post(owner, body(candle(1))), 403, "permission_denied")
    assert_error(post(anonymous, body(candle(1))), 401, "not_authenticated")
    assert [row["t"] for row in anonymous.get(CANDLES, symbol="BTC/USDT").json()["results"]] == [minute(0)]


def test_the_feed_role_is_given_through_the_admin_users_endpoint(accounts, anonymous):
    """An administrator makes an account a feed; after logging in again it may post, a plain user still not."""
    admin = accounts.make_admin()
    bridge = accounts.register()
    plain = accounts.register()
    payload = body(candle(0))
    refused = anonymous.client.post(CANDLES, payload, content_type="application/json",
                                    HTTP_AUTHORIZATION=f"Bearer {bridge['access']}")
    assert_error(refused, 403, "permission_denied")

    changed = accounts.client.patch(f"/api/v1/auth/admin/users/{bridge['user']['id']}", {"role": "feed"},
                                    format="json", HTTP_AUTHORIZATION=f"Bearer {admin['access']}")
    assert changed.status_code == 200, changed.content
    assert changed.json()["role"] == "feed"

    again = accounts.login(bridge["user"]["email"])
    posted = anonymous.client.post(CANDLES, payload, content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Bearer {again['access']}")
    assert posted.status_code == 200, posted.content
    assert posted.json()["stored"] == 1
    still = anonymous.client.post(CANDLES, payload, content_type="application/json",
                                  HTTP_AUTHORIZATION=f"Bearer {plain['access']}")
    assert_error(still, 403, "permission_denied")


def _now_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


# (field, value, expected field error) — each sent as candle 1 of two, so the error must name index "1".
BAD_CANDLES = [
    ("l", "100.6", "low"),                  # above the open
    ("h", "100.4", "high"),                 # below the open
    ("o", "0", "greater than zero"),
    ("c", "-1", "greater than zero"),
    ("o", "NaN", "finite"),
    ("o", "Infinity", "finite"),
    ("o", "-inf", "finite"),
    ("o", "1e999999", "less than"),
    ("o", "1e-999999", "decimal places"),
    ("o", "١٢", "digits 0-9"),
    ("o", "１２", "digits 0-9"),
    ("o", "1_0", "digits 0-9"),
    ("o", " 100.5", "digits 0-9"),
    ("o", "9" * 65, "64 characters"),
    ("o", "1" * 19, "less than"),
    ("o", "100.123456789", "decimal places"),
    ("o", 100.5, "string"),                 # a JSON number: prices are strings
    ("o", 100, "string"),
    ("o", True, "string"),
    ("o", None, "string"),
    ("o", ["100"], "string"),
    ("o", {"$numberDecimal": "100"}, "string"),
    ("t", "2026-01-05T09:30:15Z", "seconds 0"),
    ("t", "2026-01-05T09:30:00.5Z", "seconds 0"),
    ("t", "2026-01-05T10:30:00+01:00", "UTC"),
    ("t", "2026-01-05 09:30:00Z", "RFC 3339"),
    ("t", "2026-01-05T09:30Z", "RFC 3339"),
    ("t", "2026-13-05T09:30:00Z", "RFC 3339"),
    ("t", "２０２６-01-05T09:30:00Z", "RFC 3339"),
    ("t", "2026-01-05", "RFC 3339"),
    ("t", 1767605400, "RFC 3339"),
    ("t", "x" * 10_000, "RFC 3339"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_CANDLES)
def test_a_bad_candle_is_a_400_naming_it_and_nothing_is_stored(feed, field, value, message):
    response = post(feed, body(candle(0), candle(1, **{field: value})))
    error = assert_error(response, 400, "validation_error")
    assert list(error["details"]) == ["candles"]
    assert list(error["details"]["candles"]) == ["1"]
    problems = error["details"]["candles"]["1"]
    assert list(problems) == [field], problems
    assert message.lower() in " ".join(problems[field]).lower(), problems
    assert feed.get(CANDLES, symbol="BTC/USDT").json()["results"] == []


def test_future_minutes_are_refused_and_the_current_minute_is_taken(feed):
    current = _now_minute()
    later = (current + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    error = assert_error(post(feed, body({**candle(), "t": later})), 400, "validation_error")
    assert "future" in error["details"]["candles"]["0"]["t"][0]
    now = current.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert post(feed, body({**candle(), "t": now})).json()["stored"] == 1
    assert post(feed, body({**candle(), "t": now.replace("Z", ".000+00:00")})).json()["unchanged"] == 1


def test_shapes_of_the_body_are_checked(feed):
    cases = [
        ({**body(candle(0)), "source": "x"}, {"source"}),
        ({"candles": [candle(0)]}, {"symbol"}),
        (body(candle(0), symbol="BTC-USD"), {"symbol"}),
        (body(candle(0), symbol="ＢＴＣ"), {"symbol"}),
        ({"symbol": "BTC", "candles": "abc"}, {"candles"}),
        ({"symbol": "BTC", "candles": {"0": candle(0)}}, {"candles"}),
        ({"symbol": "BTC", "candles": []}, {"candles"}),
        ({"symbol": "BTC", "candles": None}, {"candles"}),
        ({"symbol": "BTC", "candles": [candle(n) for n in range(1001)]}, {"candles"}),
    ]
    for payload, fields in cases:
        error = assert_error(post(feed, payload), 400, "validation_error")
        assert set(error["details"]) == fields, (payload if len(str(payload)) < 300 else fields, error)
    assert_error(feed.send("POST", CANDLES, raw="[1, 2]"), 400, "validation_error")
    assert_error(feed.send("POST", CANDLES, raw='{"symbol": "BTC", "symbol": "ETH", "candles": []}'), 400,
                 "validation_error")
    assert_error(feed.send("POST", CANDLES, raw="{" * 100_000), 400, "malformed_request")


def test_nested_junk_and_unknown_fields_in_a_candle_name_the_candle(feed):
    payload = body(candle(0), [candle(1)], "x", {**candle(3), "v": "12"}, {"t": minute(4)}, candle(0))
    error = assert_error(post(feed, payload), 400, "validation_error")
    bad = error["details"]["candles"]
    assert set(bad) == {"1", "2", "3", "4", "5"}
    assert bad["3"] == {"v": ["Unknown field."]}
    assert set(bad["4"]) == {"o", "h", "l", "c"}
    assert "same minute as candle 0" in bad["5"]["t"][0]


def test_a_thousand_hostile_candles_are_a_400_never_a_500(feed):
    hostile = [candle(n, o="9" * 64, h="1e999999999", l="١٢", c="NaN") for n in range(1000)]
    error = assert_error(post(feed, body(*hostile)), 400, "validation_error")
    assert len(error["details"]["candles"]) == 1000
    assert set(error["details"]["candles"]["999"]) == {"o", "h", "l", "c"}
    good = [candle(n) for n in range(1000)]
    assert post(feed, body(*good)).json()["stored"] == 1000


def test_reading_a_range_page_by_page(feed, anonymous):
    post(feed, body(*[candle(n) for n in range(7)]))
    post(feed, body(candle(0), symbol="ETH/USDT"))
    page = anonymous.get(CANDLES, symbol="btc/usdt", **{"from": minute(1), "to": minute(5)}, limit="2")
    seen = []
    while True:
        assert page.status_code == 200, page.content
        data = page.json()
        seen += [row["t"] for row in data["results"]]
        if data["next"] is None:
            break
        assert len(data["results"]) == 2
        page = anonymous.client.get(data["next"])
    assert seen == [minute(n) for n in range(1, 6)]
    everything = anonymous.get(CANDLES, symbol="BTC/USDT", unknown="ignored").json()["results"]
    assert len(everything) == 7
    offset = anonymous.get(CANDLES, symbol="BTC/USDT", **{"from": minute(5).replace("Z", "+00:00")})
    assert offset.status_code == 200, offset.content
    assert [row["t"] for row in offset.json()["results"]] == [minute(5), minute(6)]


@pytest.mark.parametrize("params", [
    {},
    {"symbol": ""},
    {"symbol": "BTC-USD"},
    {"symbol": "BTC", "from": "yesterday"},
    {"symbol": "BTC", "to": "2026-01-05T09:30:00"},
    {"symbol": "BTC", "from": minute(5), "to": minute(1)},
    {"symbol": "BTC", "limit": "1001"},
    {"symbol": "BTC", "limit": "٥"},
    {"symbol": "BTC", "cursor": "forged.cursor"},
])
def test_bad_read_parameters_are_a_400(anonymous, params):
    assert_error(anonymous.get(CANDLES, **params), 400, "validation_error")


def test_a_cursor_continues_only_its_own_walk(feed, anonymous):
    post(feed, body(*[candle(n) for n in range(3)]))
    post(feed, body(*[candle(n) for n in range(3)], symbol="ETH"))
    link = anonymous.get(CANDLES, symbol="BTC/USDT", limit="1").json()["next"]
    cursor = link.split("cursor=")[1]
    assert_error(anonymous.get(CANDLES, symbol="ETH", limit="1", cursor=cursor), 400, "validation_error")


def test_posts_have_a_per_user_budget(feed, make_caller, settings):
    settings.MARKET_CANDLES_RATE_MAX = 2
    assert post(feed, body(candle(0))).status_code == 200
    assert post(feed, {"symbol": "BTC", "candles": "junk"}).status_code == 400  # a refused post counts too
    limited = assert_error(post(feed, body(candle(1))), 429, "rate_limited")
    assert limited  # and Retry-After says when
    assert int(post(feed, body(candle(1)))["Retry-After"]) >= 1
    assert post(make_caller("feed"), body(candle(1))).status_code == 200  # another feed has its own budget


def test_concurrent_posts_of_the_same_minutes_store_each_once(feed):
    import threading

    from apps.signals import market

    batch = [candle(n) for n in range(50)]
    results, failures = [], []
    start = threading.Barrier(4)

    def run():
        start.wait()
        try:
            results.append(market.candles_ingest(symbol="BTC/USDT", candles=batch))
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sum(r.stored for r in results) == 50 and sum(r.unchanged for r in results) == 150
    assert len(feed.get(CANDLES, symbol="BTC/USDT", limit="100").json()["results"]) == 50
