"""Split deployment: accounts, signals, users and discussions each in its own gunicorn process and database,
with the Redis Streams bus between them and ``manage.py run_consumers`` processes for the consuming apps.

The discussions process knows nothing of signals or people but what the bus brings: a signal approved in the
signals process opens its thread there, the owner's name arrives with ``user.registered``, and a rejection
closes the thread again. The users process counts the comment from ``discussion.comment_created``.
"""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pymongo
import pytest

from tests.support.accounts import PASSWORD
from tests.support.discussions import BASE, text
from tests.support.live import api, make_admin, register
from tests.support.procs import Consumers, Gunicorn
from tests.support.servers import wait_until
from tests.support.signals import BASE as SIGNALS
from tests.support.signals import VALID

pytestmark = pytest.mark.cluster
SLICES = ("accounts", "signals", "users", "discussions")
CONSUMING = ("discussions", "users")
STEP = 60  # seconds for one hop over the bus (generous: six Django processes share the machine)


@pytest.fixture
def split(mongo_uri, redis_server_url, tmp_path):
    """The four slice processes and the two consumer processes, started together; all stopped, and their
    databases dropped, after the test."""
    run = uuid.uuid4().hex[:8]
    server = mongo_uri.rsplit("/", 1)[0]
    databases = {name: f"ts_split_{run}_{name}" for name in SLICES}
    common = {"EVENT_BUS": "redis", "REDIS_ENABLED": "true", "REDIS_URL": redis_server_url,
              "EVENT_REDIS_URL": redis_server_url, "EVENT_STREAM_PREFIX": f"ts:split:{run}:",
              "EVENT_CONSUMER_BLOCK_MS": "100", "EVENT_RELAY_INTERVAL_MS": "100",
              "MONGODB_URI": f"{server}/ts_split_{run}_unused"}
    envs = {name: {**common, "TRADESIGNALS_SLICES": name, f"MONGODB_URI_{name.upper()}": f"{server}/{db}"}
            for name, db in databases.items()}
    web = {name: Gunicorn(envs[name], name=f"split-{name}") for name in SLICES}
    consumers = {app: Consumers(envs[app], app, tmp_path / f"consumers-{app}.log") for app in CONSUMING}
    client = pymongo.MongoClient(server, serverSelectionTimeoutMS=5000)
    try:
        for process in consumers.values():
            process.start()
        with ThreadPoolExecutor(len(web)) as pool:
            for started in [pool.submit(process.start, 120) for process in web.values()]:
                started.result()
        yield web, consumers, {name: client[db] for name, db in databases.items()}
    finally:
        with ThreadPoolExecutor(len(web) + len(consumers)) as pool:
            list(pool.map(lambda process: process.stop(), [*web.values(), *consumers.values()]))
        for db in [*databases.values(), f"ts_split_{run}_unused"]:
            client.drop_database(db)
        client.close()


def test_a_signal_approved_in_the_signals_process_opens_its_thread_in_the_discussions_process(split):
    web, consumers, dbs = split
    accounts, signals, users, discussions = (web[name] for name in SLICES)

    trader = register(accounts, "Tara", password=PASSWORD)
    admin_email = make_admin(accounts, password=PASSWORD)
    admin = api(accounts, "POST", "/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})
    assert admin.status_code == 200, admin.text
    admin_token = admin.json()["access"]

    created = api(signals, "POST", SIGNALS, trader["access"], json=VALID)
    assert created.status_code == 201, created.text
    signal_id = created.json()["id"]
    path = f"{BASE}/signals/{signal_id}/comments"
    # Pending: the discussions process has no thread for it (once it has heard of it, and before).
    assert api(discussions, "GET", path).status_code == 404
    approved = api(signals, "PATCH", f"{SIGNALS}/{signal_id}/status", admin_token,
                   json={"status": "approved", "reason": "Clean setup"})
    assert approved.status_code == 200, approved.text

    def opened():
        consumers["discussions"].alive()
        response = api(discussions, "GET", path)
        return response if response.status_code == 200 else None

    empty = wait_until(opened, timeout=STEP, interval=0.1, message="the approval to open the signal's thread")
    assert empty.json() == {"results": [], "next": None}

    reader = register(accounts, "Rita", password=PASSWORD)
    body = text("Nice level")
    posted = api(discussions, "POST", path, reader["access"], json={"body": body})
    assert posted.status_code == 201, posted.text
    assert (posted.json()["author_id"], posted.json()["body"]) == (reader["user"]["id"], body)
    page = api(discussions, "GET", path).json()
    assert [c["id"] for c in page["results"]] == [posted.json()["id"]]

    def thread_by_trader():
        consumers["discussions"].alive()
        threads = api(discussions, "GET", BASE, params={"signal_id": signal_id}).json()["results"]
        return threads[0] if threads and threads[0]["author_name"] == "Tara" else None

    thread = wait_until(thread_by_trader, timeout=STEP, interval=0.1,
                        message="user.registered to name the signal's thread after its owner")
    assert (thread["author_id"], thread["signal_id"], thread["comment_count"]) == (
        trader["user"]["id"], signal_id, 1)
    assert thread["title"] == "BTC/USDT long 4h"

    # The users process counts the comment from discussion.comment_created.
    def counted():
        consumers["users"].alive()
        response = api(users, "GET", f"/api/v1/users/{reader['user']['id']}")
        return response.status_code == 200 and response.json()["comments"] == 1

    wait_until(counted, timeout=STEP, interval=0.1, message="the users process to count the comment")

    rejected = api(signals, "PATCH", f"{SIGNALS}/{signal_id}/status", admin_token,
                   json={"status": "rejected", "reason": "Taken down"})
    assert rejected.status_code == 200, rejected.text
    # The handler records the signal's status, then closes its thread: two writes, so wait for both.
    wait_until(lambda: consumers["discussions"].alive() and api(discussions, "GET", path).status_code == 404
               and api(discussions, "GET", f"{BASE}/{thread['id']}").status_code == 404,
               timeout=STEP, interval=0.1, message="the rejection to close the signal's thread")
    assert api(discussions, "GET", BASE, params={"signal_id": signal_id}).json()["results"] == []
    assert api(discussions, "POST", path, reader["access"], json={"body": text()}).status_code == 404
    closed = api(discussions, "GET", f"{BASE}/{thread['id']}", admin_token)
    assert closed.status_code == 200 and closed.json()["closed"] is True

    # The discussions process serves its own slice only: the signals routes are a JSON 404 there.
    for other in (f"{SIGNALS}/", f"{SIGNALS}/{signal_id}", f"{SIGNALS}/public"):
        response = api(discussions, "GET", other, trader["access"])
        assert response.status_code == 404, (other, response.status_code)
        assert response.headers["Content-Type"].startswith("application/json"), (other, response.headers)
        assert "error" in response.json()

    # Each process wrote its own database only.
    assert dbs["signals"]["trade_signals"].find_one({"_id": signal_id}) is not None or \
        dbs["signals"]["trade_signals"].count_documents({}) == 1
    projected = dbs["discussions"]["discussion_signals"].find_one({"_id": signal_id})
    assert (projected["status"], projected["owner_id"]) == ("rejected", trader["user"]["id"])
    assert dbs["discussions"]["discussion_authors"].find_one({"_id": trader["user"]["id"]})["name"] == "Tara"
    owners = {name: {c for c in db.list_collection_names() if not c.startswith("system.")} for name, db in dbs.items()}
    prefixes = {"accounts": "accounts_", "signals": ("trade_signals", "signal_"), "users": "user_",
                "discussions": "discussion_"}
    for name, collections in owners.items():
        foreign = [c for c in collections for other, prefix in prefixes.items()
                   if other != name and c.startswith(prefix)]
        assert not foreign, (name, foreign)
    for app, process in consumers.items():
        assert process.stop() == 0, f"{app} consumers: {process.log_path.read_text(errors='replace')}"
