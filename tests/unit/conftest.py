"""The unit tier: pure logic that needs no server (``make test-unit``).

Everything under tests/unit is marked ``unit`` by tests/conftest.py, which then skips its per-test cleaning of
MongoDB and Redis and refuses a unit test that asks for a server fixture (``client``, ``mongo_uri``,
``redis_server_url``, ``browser``…). So the tier runs with no MongoDB, Redis, nginx or browser, and the full
run still includes it once. Fixtures a unit test needs go here, and must start nothing.
"""
