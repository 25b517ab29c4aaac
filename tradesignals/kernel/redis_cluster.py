"""Redis Cluster: which URLs name a cluster, the cluster clients behind the cache aliases and the Streams bus,
and the hash tags that keep a multi-key operation on one slot.

A URL names a cluster when its scheme is ``redis+cluster://`` / ``rediss+cluster://``, or when
``REDIS_CLUSTER=true`` (every Redis URL of the deployment is then a cluster's). The URL names one seed node
(an ElastiCache configuration endpoint, or any master); the client discovers the others. A cluster has only
database 0: a cluster URL naming another one, or a unix socket, is refused at start-up.

Key layout (docs/decisions.md): a cache namespace's generation and its entries share the hash tag
``{namespace}``, so the one-round-trip read (a Lua script that builds the entry key from the generation) stays
on one slot; reads and writes over several namespaces are split per slot and pipelined (one parallel round
trip to the masters involved). Security keys keep their names; a revocation check reads its three keys per
slot in one parallel round trip. The Streams bus puts every stream of a deployment under one hash tag, so one
``XREADGROUP`` covers all of a consumer's streams and dead-lettering stays one ``MULTI``.

settings/base.py uses ``parse_url``; nothing here reads Django settings at import time.
"""
from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from django_redis.client.default import DefaultClient, _main_exceptions
from django_redis.exceptions import ConnectionInterrupted
from django_redis.pool import ConnectionFactory
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
# Retries of a cluster command after a connection error or a MOVED topology change (each re-reads the slot
# map); no back-off sleeps, so a dead master costs a few fast failures, not seconds per call.
CLUSTER_RETRIES = 2


class ClusterConfigurationError(ValueError):
    """A Redis URL that cannot name a cluster (settings turn it into ImproperlyConfigured)."""


def parse_url(url: str, *, forced: bool = False, setting: str = "REDIS_URL") -> tuple[str, bool]:
    """``(url, is_cluster)``: the URL redis-py understands (``+cluster`` dropped) and whether it names a cluster.

    Raises ``ClusterConfigurationError`` for a cluster URL that names a database other than 0, a unix socket,
    or no host.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    cluster = forced or scheme in CLUSTER_SCHEMES
    if scheme in CLUSTER_SCHEMES:
        parts = parts._replace(scheme=CLUSTER_SCHEMES[scheme])
    if not cluster:
        return url, False
    if parts.scheme not in {"redis", "rediss"}:
        raise ClusterConfigurationError(
            f"{setting}: a Redis Cluster is reached over redis:// or rediss:// (or redis+cluster://), "
            f"not {parts.scheme}://")
    if not parts.hostname:
        raise ClusterConfigurationError(f"{setting}: a Redis Cluster URL must name a seed node's host")
    db = parts.path.strip("/")
    if db not in {"", "0"}:
        why = "REDIS_CLUSTER=true" if scheme not in CLUSTER_SCHEMES else f"its scheme is {scheme}://"
        raise ClusterConfigurationError(
            f"{setting} names database {db}, but it is a Redis Cluster ({why}) and a cluster has only "
            f"database 0: drop /{db} from the URL, or point {setting} at a single Redis")
    if "db=" in parts.query and "db=0" not in parts.query:
        raise ClusterConfigurationError(f"{setting}: a Redis Cluster has only database 0 (db= in the query)")
    return urlunsplit(parts._replace(path="")), True


def hash_tag(text: str) -> str:
    """``{text}``: Redis Cluster hashes only what is inside the first braces, so keys sharing it share a slot."""
    if "{" in text or "}" in text:
        raise ValueError(f"a hash-tagged name cannot contain braces: {text!r}")
    return "{" + text + "}"


def has_hash_tag(key: str) -> bool:
    """Whether Redis Cluster would hash ``key`` by a tag (non-empty text between its first ``{`` and the
    next ``}``)."""
    start = key.find("{")
    if start < 0:
        return False
    end = key.find("}", start + 1)
    return end > start + 1


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)


def ping(client: Any) -> bool:
    """PING one Redis, or every master of a cluster (what readiness needs: any master may hold a key we read)."""
    if is_cluster(client):
        replies = client.ping(target_nodes=RedisCluster.PRIMARIES)
        return all(replies.values()) if isinstance(replies, dict) else bool(replies)
    return bool(client.ping())


class _Cluster(RedisCluster):
    """``RedisCluster`` whose "cannot reach the cluster" errors are ``redis.ConnectionError`` (what one Redis
    raises), so every caller's connection handling — django-redis ``IGNORE_EXCEPTIONS`` included — applies.
    redis-py raises ``RedisClusterException``, which is not a ``RedisError``, when no node answers a topology
    refresh or a slot has no master."""

    def execute_command(self, *args, **kwargs):
        try:
            return super().execute_command(*args, **kwargs)
        except RedisClusterException as exc:
            raise redis.ConnectionError(str(exc)) from exc


_clusters: dict[tuple, Any] = {}
_clusters_lock = threading.Lock()


def cluster_client(url: str, **kwargs) -> Any:
    """The process's ``RedisCluster`` for ``url`` and these connection options (one per combination: it
    holds a connection pool per node and is safe to share between threads). A cluster that cannot be reached
    raises ``redis.ConnectionError`` (what a single Redis raises), and is tried again on the next call."""
    plain, _ = parse_url(url, forced=True)
    key = (plain, tuple(sorted(kwargs.items())))
    with _clusters_lock:
        found = _clusters.get(key)
        if found is not None:
            return found
        try:
            # dynamic_startup_nodes=False keeps the URL's host (a configuration endpoint's DNS name) as the
            # node to rediscover the cluster from, even after every node it listed has been replaced.
            found = _Cluster.from_url(plain, retry=Retry(NoBackoff(), CLUSTER_RETRIES),
                                          dynamic_startup_nodes=False, **kwargs)
        except RedisClusterException as exc:  # no seed node answered: the caller's usual connection handling
            raise redis.ConnectionError(str(exc)) from exc
        _clusters[key] = found
        return found


def close_all() -> None:
    """Close every cluster client of the process (tests that stop a cluster)."""
    with _clusters_lock:
        clients = list(_clusters.values())
        _clusters.clear()
    for client in clients:
        client.close()


# --- django-redis -----------------------------------------------------------------------------------------


class ClusterConnectionFactory(ConnectionFactory):
    """django-redis ``CONNECTION_FACTORY`` that connects to a Redis Cluster (``OPTIONS`` as for one Redis:
    ``SOCKET_TIMEOUT``, ``SOCKET_CONNECT_TIMEOUT``, ``USERNAME``, ``PASSWORD``)."""

    def connect(self, url: str):
        kwargs: dict[str, Any] = {}
        for option, name in (("SOCKET_TIMEOUT", "socket_timeout"),
                             ("SOCKET_CONNECT_TIMEOUT", "socket_connect_timeout"),
                             ("USERNAME", "username"), ("PASSWORD", "password")):
            if self.options.get(option):
                kwargs[name] = self.options[option]
        return cluster_client(url, **kwargs)

    def disconnect(self, connection) -> None:
        connection.close()


class ClusterClient(DefaultClient):
    """django-redis ``CLIENT_CLASS`` for a cluster: what reads several keys splits them per slot.

    ``get_many`` is ``MGET`` per slot, pipelined to the masters in parallel (one round trip of latency);
    ``set_many`` and ``delete_many`` already pipeline or split per slot through ``RedisCluster``; single-key
    operations (``incr``'s script included) are routed by their key.
    """

    def get_client(self, write=True, tried=None):
        # Connecting to a cluster reads its topology (one Redis connects lazily): a failure here is a
        # connection failure of the operation, which django-redis handles only inside its own try blocks.
        try:
            return super().get_client(write, tried)
        except redis.ConnectionError as exc:
            raise ConnectionInterrupted(connection=None) from exc

    def get_many(self, keys, version=None, client=None) -> dict:
        if client is None:
            client = self.get_client(write=False)
        if not keys:
            return {}
        made = {self.make_key(k, version=version): k for k in keys}
        try:
            values = client.mget_nonatomic(list(made))
        except _main_exceptions as exc:
            raise ConnectionInterrupted(connection=client) from exc
        return {made[key]: self.decode(value) for key, value in zip(made, values, strict=True)
                if value is not None}
