"""The real URLconf plus a receiver that fails its first delivery (to prove the in-process relay retries).

Only the server under test imports this (as its ROOT_URLCONF): importing it subscribes the receiver in that
process for good, so the test itself takes the Redis keys from ``flaky_keys``."""
import os

import redis

from tests.support.flaky_keys import ATTEMPTS_KEY, DONE_KEY
from tradesignals.kernel import events
from tradesignals.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401

_redis = redis.Redis.from_url(os.environ["REDIS_URL"])


def flaky_welcome(event):
    if _redis.incr(ATTEMPTS_KEY) == 1:
        raise RuntimeError("first delivery fails on purpose")
    _redis.set(DONE_KEY, event.data["user_id"])


events.subscribe("user.registered", flaky_welcome, app="users")
