"""With the in-process bus there is no consumers process: the web worker itself retries what failed."""
import pytest
import redis
import requests

from tests.support.flaky_keys import ATTEMPTS_KEY, DONE_KEY
from tests.support.procs import Gunicorn
from tests.support.servers import wait_until


@pytest.mark.cluster
def test_a_handler_that_failed_after_commit_is_retried_by_the_worker(mongo_uri, redis_server_url):
    store = redis.Redis.from_url(redis_server_url)
    env = {"DJANGO_SETTINGS_MODULE": "tests.support.flaky_receiver_settings", "MONGODB_URI": mongo_uri,
           "REDIS_URL": redis_server_url, "EVENT_BUS": "inprocess", "EVENT_RELAY_INTERVAL_MS": "200"}
    with Gunicorn(env, name="inprocess-relay") as web:
        response = requests.post(f"{web.url}/api/v1/auth/register", timeout=30,
                                 json={"email": "relay@example.com", "password": "relay test passphrase 9"})
        assert response.status_code == 201  # the write stands although a receiver failed
        user_id = response.json()["user"]["id"]
        done = wait_until(lambda: store.get(DONE_KEY), timeout=30, message="the failed delivery to be retried")
        assert done.decode() == user_id
        assert int(store.get(ATTEMPTS_KEY)) == 2
