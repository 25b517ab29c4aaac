"""Split deployment: accounts and users in separate gunicorn processes, separate databases, Redis Streams bus.

A registration served by the accounts process becomes a profile served by the users process, carried only
by the bus (``manage.py run_consumers --app users``); until it arrives, /users/me answers from the token.
"""
from __future__ import annotations

import uuid

import pymongo
import pytest
import requests

from tests.support.accounts import PASSWORD
from tests.support.procs import Consumers, Gunicorn
from tests.support.servers import wait_until

pytestmark = pytest.mark.cluster


@pytest.fixture
def split_env(mongo_uri, redis_server_url, tmp_path):
    run = uuid.uuid4().hex[:8]
    server = mongo_uri.rsplit("/", 1)[0]
    databases = {name: f"ts_split_{run}_{name}" for name in ("accounts", "users")}
    common = {"EVENT_BUS": "redis", "REDIS_URL": redis_server_url, "EVENT_REDIS_URL": redis_server_url,
              "EVENT_STREAM_PREFIX": f"ts:split:{run}:", "EVENT_CONSUMER_BLOCK_MS": "100",
              "EVENT_RELAY_INTERVAL_MS": "100", "MONGODB_URI": f"{server}/ts_split_{run}_unused"}
    envs = {
        "accounts": {**common, "TRADESIGNALS_SLICES": "accounts",
                     "MONGODB_URI_ACCOUNTS": f"{server}/{databases['accounts']}"},
        "users": {**common, "TRADESIGNALS_SLICES": "users", "MONGODB_URI_USERS": f"{server}/{databases['users']}"},
    }
    client = pymongo.MongoClient(server, serverSelectionTimeoutMS=5000)
    yield envs, {name: client[db] for name, db in databases.items()}, tmp_path
    for db in databases.values():
        client.drop_database(db)
    client.close()


def test_a_registration_in_the_accounts_process_becomes_a_profile_in_the_users_process(split_env):
    envs, dbs, tmp_path = split_env
    email = f"split-{uuid.uuid4().hex[:8]}@example.com"
    with Gunicorn(envs["accounts"], name="accounts") as accounts, Gunicorn(envs["users"], name="users") as users:
        # Before the consumer runs, the profile cannot be projected: /me answers from the token.
        registered = requests.post(f"{accounts.url}/api/v1/auth/register", timeout=10,
                                   json={"email": email, "password": PASSWORD, "display_name": "Split Trader"})
        assert registered.status_code == 201, registered.text
        user_id, headers = registered.json()["user"]["id"], {"Authorization": f"Bearer {registered.json()['access']}"}
        early = requests.get(f"{users.url}/api/v1/users/me", headers=headers, timeout=10)
        assert early.status_code == 200, early.text
        assert (early.json()["id"], early.json()["email"], early.json()["display_name"]) == (
            user_id, None, "Split Trader")

        with Consumers(envs["users"], "users", tmp_path / "consumers.log") as consumers:
            def projected():
                assert consumers.proc.poll() is None, (tmp_path / "consumers.log").read_text()
                body = requests.get(f"{users.url}/api/v1/users/me", headers=headers, timeout=10).json()
                return body if body["email"] == email else None

            profile = wait_until(projected, timeout=30, message="the profile to reach the users process")
        assert (profile["display_name"], profile["role"], profile["is_active"]) == ("Split Trader", "user", True)
        public = requests.get(f"{users.url}/api/v1/users/{user_id}", timeout=10)
        assert public.status_code == 200 and public.json()["display_name"] == "Split Trader"

        # Each slice serves only its own routes and writes only its own database.
        assert requests.get(f"{accounts.url}/api/v1/users/me", headers=headers, timeout=10).status_code == 404
        assert requests.get(f"{users.url}/api/v1/auth/me", headers=headers, timeout=10).status_code == 404
    assert dbs["users"]["user_profiles"].find_one({"_id": user_id})["email"] == email
    accounts_collections = set(dbs["accounts"].list_collection_names())
    users_collections = set(dbs["users"].list_collection_names())
    assert "accounts_users" in accounts_collections and "user_profiles" not in accounts_collections
    assert not any(name.startswith("accounts_") for name in users_collections)
