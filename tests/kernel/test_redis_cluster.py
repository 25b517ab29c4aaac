"""The cache, the security store and the Streams bus on a real three-master Redis Cluster
(tests/support/redis_cluster.py).

What a deployment on a clustered Redis (ElastiCache cluster mode) relies on: cached reads stay fresh across
processes, generation bumps and the stampede lock work with keys spread over the masters, a revocation made by
one process is refused by another, rate limits count, a master that restarts keeps every revocation, and events
flow through the bus — all with ``REDIS_CLUSTER=true`` (or a ``redis+cluster://`` URL).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import pytest

from tests.support.procs import ROOT
from tests.support.redis_cluster import RedisCluster
from tests.support.servers import wait_until


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from tradesignals.kernel import redis_cluster

    servers = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        servers.start()
        yield servers
    finally:
        redis_cluster.close_all()
        servers.stop()


@pytest.fixture
def on_cluster(cluster, settings, fresh_cache_service):
    """This process's cache, security store and event bus on the cluster, as ``REDIS_CLUSTER=true`` sets them."""
    from settings.base import _redis_location
    from tradesignals.kernel.cache import reset_cache

    if not cluster.ok():  # a test that stopped a master and failed before restarting it
        for node in cluster.nodes:
            if node.proc is None:
                cluster.start_node(node)
        cluster.wait_ok()
    cluster.flush()
    seed = cluster.url.replace("redis://", "redis+cluster://")
    cache_location, cache_options = _redis_location("REDIS_URL", seed)
    security_location, security_options = _redis_location("SECURITY_REDIS_URL", seed)
    assert cache_options["CLIENT_CLASS"].endswith("ClusterClient")
    settings.REDIS_CLUSTER = True
    settings.REDIS_URL = settings.SECURITY_REDIS_URL = settings.EVENT_REDIS_URL = cluster.url
    settings.CACHE_BACKEND = "redis"
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": cache_location,
                    "OPTIONS": {**cache_options, "IGNORE_EXCEPTIONS": True}},
        "security": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": security_location,
                     "OPTIONS": security_options},
    }
    reset_cache()
    yield cluster
    reset_cache()


def in_another_process(cluster, mongo_uri, code: str) -> str:
    """Run ``code`` in a new Django process configured from the environment with ``REDIS_CLUSTER=true``
    (what another instance of the deployment is); returns its stdout."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", "REDIS_ENABLED": "true",
           "REDIS_CLUSTER": "true", "REDIS_URL": cluster.url, "SECURITY_REDIS_URL": cluster.url,
           "MONGODB_URI": mongo_uri, "CACHE_BACKEND": "redis"}
    env.pop("EVENT_REDIS_URL", None)
    done = subprocess.run([sys.executable, "-c", "import django\ndjango.setup()\n" + code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def masters_holding(cluster, keys) -> set[int]:
    return {cluster.owner(key).port for key in keys}


def principal(user_id: str, *, jti: str | None = None, family: str | None = None, version: int = 0):
    from tradesignals.kernel.identity import Principal

    return Principal(user_id=user_id, role="user", name="", jti=jti or uuid.uuid4().hex,
                     family=family or uuid.uuid4().hex, version=version, expires_at=int(time.time()) + 900)


# --- configuration ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["redis+cluster://127.0.0.1:7000/13", "redis://127.0.0.1:7000/2"])
def test_a_cluster_url_naming_a_database_stops_start_up(url):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", "REDIS_ENABLED": "true", "REDIS_URL": url,
           "REDIS_CLUSTER": "true" if url.startswith("redis://") else "false"}
    env.pop("SECURITY_REDIS_URL", None)
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and "only database 0" in done.stderr


@pytest.mark.parametrize(("url", "forced", "expected"), [
    ("redis://cache.internal:6379/0", False, ("redis://cache.internal:6379/0", False)),
    ("redis://cache.internal:6379/3", False, ("redis://cache.internal:6379/3", False)),  # one Redis: any db
    ("redis://cache.internal:6379/0", True, ("redis://cache.internal:6379", True)),
    ("redis+cluster://cache.internal:6379", False, ("redis://cache.internal:6379", True)),
    ("rediss+cluster://user:secret@cfg.example.cache.amazonaws.com:6379/", False,
     ("rediss://user:secret@cfg.example.cache.amazonaws.com:6379", True)),
])
def test_which_urls_name_a_cluster(url, forced, expected):
    from tradesignals.kernel.redis_cluster import parse_url

    assert parse_url(url, forced=forced) == expected


@pytest.mark.parametrize("url", ["unix:///run/redis.sock", "redis+cluster:///0", "rediss+cluster://h:1/?db=4"])
def test_urls_that_cannot_name_a_cluster_are_refused(url):
    from tradesignals.kernel.redis_cluster import ClusterConfigurationError, parse_url

    with pytest.raises(ClusterConfigurationError):
        parse_url(url, forced=True)


def test_another_process_configured_from_the_environment_uses_the_cluster(on_cluster, mongo_uri):
    out = in_another_process(on_cluster, mongo_uri, (
        "from django_redis import get_redis_connection\n"
        "from redis.cluster import RedisCluster\n"
        "from django.core.cache import caches\n"
        "for alias in ('default', 'security'):\n"
        "    assert isinstance(get_redis_connection(alias), RedisCluster), alias\n"
        "caches['security'].set('written-elsewhere', 7, timeout=60)\n"
        "print(len(get_redis_connection('security').get_primaries()))\n"))
    assert out.strip() == "3"
    from django.core.cache import caches

    assert caches["security"].get("written-elsewhere") == 7


# --- the cache ---------------------------------------------------------------------------------------------
def test_a_namespace_and_its_entries_share_one_slot_and_namespaces_spread(on_cluster):
    from tradesignals.kernel.cache import entry_key, get_cache

    cache = get_cache()
    namespaces = [f"trade-signals:user:{n}" for n in range(12)]
    for ns in namespaces:
        generation, _ = cache.current(ns, "q")
        cache.set(entry_key(ns, generation, "q"), {"body": b"x"})
    keys = on_cluster.keys()
    for ns in namespaces:
        mine = [k for k in keys if "{" + ns + "}" in k]
        assert len(mine) == 2 and len({on_cluster.slot(k) for k in mine}) == 1, mine
    assert len(masters_holding(on_cluster, keys)) == 3  # the namespaces are spread over every master


def test_a_read_stays_fresh_when_another_process_writes(on_cluster, mongo_uri):
    from tradesignals.kernel.cache import read_through

    builds = []

    def build(value):
        def run():
            builds.append(value)
            return {"body": value}
        return run

    ns = "trade-signals:public:approved"
    assert read_through(ns, "page-1", build(b"v1")) == ({"body": b"v1"}, False)
    assert read_through(ns, "page-1", build(b"never")) == ({"body": b"v1"}, True)  # a hit: no build
    # Another instance commits a write and bumps the namespace.
    in_another_process(on_cluster, mongo_uri,
                       f"from tradesignals.kernel.cache import get_cache\nget_cache().bump_many([{ns!r}])\n")
    assert read_through(ns, "page-1", build(b"v2")) == ({"body": b"v2"}, False)  # never the old entry
    assert builds == [b"v1", b"v2"]


def test_bump_many_moves_namespaces_on_every_master_at_once(on_cluster):
    from tradesignals.kernel.cache import get_cache

    cache = get_cache()
    namespaces = [f"trade-signal:{n}" for n in range(9)]
    before = cache.generations(namespaces)
    assert before is not None and len(masters_holding(on_cluster, [f"ts:v1:gen:{{{ns}}}" for ns in namespaces])) == 3
    cache.bump_many([*namespaces, namespaces[0]])  # a repeated namespace moves once
    assert cache.generations(namespaces) == {ns: before[ns] + 1 for ns in namespaces}
    found = cache.get_many([f"missing:{n}" for n in range(6)])  # a read over many slots is one call
    assert found == {}
    cache.bump(namespaces[1])  # one namespace: its INCR + EXPIRE in one MULTI on its master
    assert cache.generation(namespaces[1]) == before[namespaces[1]] + 2
    assert cache.incr("counter") == 1 and cache.incr("counter", 4) == 5


def test_a_namespace_cannot_carry_braces_of_its_own(on_cluster):
    from tradesignals.kernel.cache import get_cache

    with pytest.raises(ValueError, match="braces"):
        get_cache().bump("users:{me}")


def test_the_stampede_lock_lets_one_caller_build_on_the_cluster(on_cluster, settings):
    from tradesignals.kernel.cache import read_through

    settings.CACHE_STAMPEDE_WAIT_MS = 5000
    started = threading.Event()
    release = threading.Event()
    builds = []

    def slow_build():
        builds.append(1)
        started.set()
        release.wait(10)
        return {"body": b"built once"}

    results = []
    leader = threading.Thread(target=lambda: results.append(read_through("hot", "q", slow_build)))
    leader.start()
    assert started.wait(10)
    followers = [threading.Thread(target=lambda: results.append(read_through("hot", "q", slow_build)))
                 for _ in range(4)]
    for follower in followers:
        follower.start()
    wait_until(lambda: any(k.startswith("ts:v1:lock:{hot}") for k in on_cluster.keys()), timeout=5,
               message="the leader's lock")
    release.set()
    for thread in (leader, *followers):
        thread.join(15)
    assert len(builds) == 1
    assert sorted(r.hit for r in results) == [False, True, True, True, True]
    assert all(r.value == {"body": b"built once"} for r in results)


def test_a_master_outage_is_a_miss_for_the_cache_never_an_error(on_cluster):
    from tradesignals.kernel.cache import get_cache, read_through

    ns = "users:me:outage"
    master = on_cluster.owner(f"ts:v1:gen:{{{ns}}}")
    assert read_through(ns, "body", lambda: b"v1") == (b"v1", False)
    on_cluster.stop_node(master)
    try:
        assert read_through(ns, "body", lambda: b"from the database") == (b"from the database", False)
    finally:
        on_cluster.start_node(master)
        on_cluster.wait_ok()
    get_cache().reset_state()  # skip the breaker's pause instead of waiting CACHE_RETRY_SECONDS
    wait_until(lambda: read_through(ns, "body", lambda: b"v1").hit, timeout=20,
               message="the cache to serve from the restarted master")


def test_with_the_whole_cluster_down_the_cache_alias_ignores_and_the_security_store_refuses(on_cluster, client):
    from django.core.cache import caches

    from tradesignals.kernel import redis_cluster, revocation
    from tradesignals.kernel.errors import ServiceUnavailable

    on_cluster.stop()
    redis_cluster.close_all()  # a process that starts now: its first command has to find the cluster
    try:
        assert caches["default"].get("anything") is None  # IGNORE_EXCEPTIONS: a miss
        assert caches["default"].add("ts:v1:images:gc-lock", "1", timeout=5) is None
        with pytest.raises(ServiceUnavailable):
            revocation.check(principal("u-down"))
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["checks"]["redis:security"]["status"] == "fail"
    finally:
        for node in on_cluster.nodes:
            on_cluster.start_node(node)
        on_cluster.wait_ok()
    revocation.check(principal("u-down"))


# --- the security store ------------------------------------------------------------------------------------
def test_a_revocation_made_by_one_process_is_refused_by_another(on_cluster, mongo_uri):
    from tradesignals.kernel import revocation

    token, other = principal("u-1"), principal("u-1")
    stale = principal("u-2", version=3)
    in_another_process(on_cluster, mongo_uri, (
        "from tradesignals.kernel import revocation\n"
        f"revocation.revoke_token({token.jti!r}, ttl=600)\n"
        f"revocation.revoke_families([{other.family!r}, 'another-family'])\n"
        f"assert revocation.raise_epoch('u-2', 4) == 4\n"
        f"assert revocation.raise_epoch('u-2', 2) == 4\n"))  # an epoch never goes down
    # The three keys of one check live on different masters: the check reads them all the same.
    assert len(masters_holding(on_cluster, on_cluster.keys())) >= 2
    with pytest.raises(revocation.TokenRevoked):
        revocation.check(token)
    with pytest.raises(revocation.TokenRevoked):
        revocation.check(other)
    with pytest.raises(revocation.TokenRevoked) as superseded:
        revocation.check(stale)
    assert superseded.value.superseded
    revocation.check(principal("u-1"))  # an untouched token of the same user passes
    revocation.check(principal("u-2", version=4))


def test_logout_and_rate_limits_through_the_api(on_cluster, accounts, settings):
    settings.AUTH_RATE_LIMIT_MAX = 3
    settings.RATE_LIMIT_MAX = 6
    settings.RATE_LIMIT_WINDOW_MS = 3_600_000  # fixed windows: an hour, so none rolls over mid-test
    session = accounts.register()
    email = session["user"]["email"]
    # the gateway budget reads the token's revocation keys (spread over the masters) in its pipeline
    assert accounts.me(session["access"]).status_code == 200
    assert accounts.post("logout", {"refresh": session["refresh"]}, token=session["access"]).status_code == 204
    refused = accounts.me(session["access"])
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_invalid"
    assert accounts.post("refresh", {"refresh": session["refresh"]}).status_code == 401
    # login attempts per IP are counted in the cluster (django-ratelimit on the security alias)
    for _ in range(3):
        assert accounts.post("login", {"email": email, "password": "violet-harbour-lantern-42"},
                             REMOTE_ADDR="10.1.1.1").status_code == 200
    limited = accounts.post("login", {"email": email, "password": "violet-harbour-lantern-42"},
                            REMOTE_ADDR="10.1.1.1")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    # and the per-user gateway budget too (another user: every request of the first one counted already)
    fresh = accounts.register()
    statuses = [accounts.me(fresh["access"]).status_code for _ in range(7)]
    assert statuses.count(200) == 6 and statuses[-1] == 429
    assert any(k.startswith(":1:rl:") for k in on_cluster.keys())


def test_a_master_restart_loses_no_revocation(on_cluster):
    from tradesignals.kernel import revocation
    from tradesignals.kernel.errors import ServiceUnavailable

    tokens = [principal(f"user-{n}") for n in range(6)]
    for token in tokens:
        revocation.revoke_token(token.jti, ttl=600)
    jti_key = ":1:" + revocation._jti_key(tokens[0].jti)
    master = on_cluster.owner(jti_key)
    on_cluster.stop_node(master)  # SIGTERM: the clean shutdown of a restart
    # While it is away a check of a key it holds fails closed: never a silent pass.
    with pytest.raises((revocation.TokenRevoked, ServiceUnavailable)):
        revocation.check(tokens[0])
    on_cluster.start_node(master)  # same port, same directory: its nodes.conf and append-only file
    on_cluster.wait_ok()

    def refused_again():
        try:
            revocation.check(tokens[0])
        except revocation.TokenRevoked:
            return True
        except ServiceUnavailable:
            return False
        raise AssertionError("a revoked token passed the check after the master came back")

    wait_until(refused_again, timeout=20, message="the restarted master to serve the revocation")
    for token in tokens:
        with pytest.raises(revocation.TokenRevoked):
            revocation.check(token)


def test_readiness_pings_every_master(on_cluster, client):
    assert client.get("/health").json()["checks"]["redis:security"]["status"] == "ok"
    node = on_cluster.nodes[-1]
    on_cluster.stop_node(node)
    try:
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["checks"]["redis:security"]["status"] == "fail"
    finally:
        on_cluster.start_node(node)
        on_cluster.wait_ok()


def test_the_eviction_policy_of_every_master_is_checked(on_cluster):
    from django.core.exceptions import ImproperlyConfigured

    from tradesignals.kernel.security_store import check_redis_eviction_policy

    seed = on_cluster.url.replace("redis://", "redis+cluster://")
    assert check_redis_eviction_policy(seed) == "noeviction"
    node = on_cluster.nodes[1]
    node.client().config_set("maxmemory-policy", "volatile-lru")
    try:
        with pytest.raises(ImproperlyConfigured) as refused:
            check_redis_eviction_policy(seed)
        assert "volatile-lru" in str(refused.value) and node.address in str(refused.value)
    finally:
        node.client().config_set("maxmemory-policy", "noeviction")


# --- the Streams bus ---------------------------------------------------------------------------------------
@pytest.fixture
def cluster_bus(on_cluster, settings, mongo_uri):
    from tests.kernel.events import probe  # noqa: F401  (registers the probe consumer)
    from tests.support.bus import Bus
    from tradesignals.kernel.events import relay

    run = uuid.uuid4().hex[:10]
    overrides = {"EVENT_BUS": "redis", "EVENT_REDIS_URL": on_cluster.url, "EVENT_STREAM_PREFIX": f"ts:test:{run}:",
                 "EVENT_MAX_ATTEMPTS": 3, "EVENT_RETRY_IDLE_MS": 200, "EVENT_HANDLER_LEASE_MS": 1500,
                 "EVENT_CONSUMER_BLOCK_MS": 100, "EVENT_RELAY_INTERVAL_MS": 100, "EVENT_RELAY_MAX_BACKOFF_MS": 400,
                 "EVENT_PUBLISH_TIMEOUT_MS": 1500}
    for key, value in overrides.items():
        setattr(settings, key, value)
    relay._broker_down_until = 0.0
    harness = Bus(name="redis", overrides={**overrides, "MONGODB_URI": mongo_uri, "REDIS_CLUSTER": "true"})
    yield harness
    harness.close()


def test_events_flow_through_the_cluster_in_key_order_and_poison_is_dead_lettered(cluster_bus, on_cluster):
    from tests.kernel.events import probe

    cluster_bus.consume()
    published = [probe.publish(n, key="user-1") for n in (1, 2, 3)]
    poison = probe.publish(9, mode="fail", key="poison")
    wait_until(lambda: all(probe.effects().get(e.id) == 1 for e in published), timeout=30,
               message="the events to be handled through the cluster")
    wait_until(lambda: cluster_bus.dead_letters() == 1, timeout=30, message="the poison event to be dead-lettered")
    wait_until(cluster_bus.drained, timeout=15, message="the bus to be drained")
    assert probe.order("user-1") == [1, 2, 3]
    assert probe.runs(poison.id) == 3 and poison.id not in probe.effects()
    streams = [k for k in on_cluster.keys() if k.startswith("{ts:test:")]
    assert streams and len({on_cluster.slot(k) for k in streams}) == 1  # the bus's streams share one slot
    assert any(":dead-letter:" in k for k in streams)
