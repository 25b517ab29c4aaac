"""Rate limits shared by every instance: client-IP resolution behind trusted proxies, limit helpers, and
the gateway-wide per-client budget.

Counters live in the ``security`` cache alias (django-ratelimit over Redis; the per-request gateway budget
uses one pipelined ``INCR``/``EXPIRE``), so N instances behind a balancer enforce one budget. Over the limit
is always 429 ``rate_limited`` with ``Retry-After`` — never 403.

The client IP is the right-most ``X-Forwarded-For`` entry that is not one of ``TRUSTED_PROXIES``: each
trusted proxy appends the address it saw, so everything left of the first untrusted hop is whatever the
client chose to send (a spoofed left-most value must never pick the rate-limit bucket).
"""
from __future__ import annotations

import functools
import ipaddress
import logging
import time
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.cache import caches
from django_ratelimit.core import get_usage

from tradesignals.kernel import revocation, tokens
from tradesignals.kernel.errors import ApplicationError, RateLimited, ServiceUnavailable, error_response
from tradesignals.kernel.identity import Principal
from tradesignals.kernel.redis_cluster import is_cluster

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return address is not None and any(address in net for net in networks)


def client_ip(request) -> str:
    """The client's IP (``RATELIMIT_IP_META_KEY``): walk ``X-Forwarded-For`` right-to-left past trusted proxies."""
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 - a unix-socket peer has no address
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    peer = _parse(remote)
    if not networks or not _trusted(peer, networks):
        return str(peer) if peer is not None else remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    last_trusted = peer
    for raw in reversed(hops):
        address = _parse(raw)
        if address is None:
            # Garbage where a trusted proxy should have written an address: trust the proxy, not the text.
            return str(last_trusted)
        if not _trusted(address, networks):
            return str(address)
        last_trusted = address
    return str(last_trusted)


def ip_bucket(ip: str) -> str:
    """The key a per-IP limit counts ``ip`` under: an IPv4 address as it is, an IPv6 address by its
    ``RATE_LIMIT_IPV6_PREFIX`` network (a subscriber routinely holds a whole /64 and can rotate through it,
    so per-address buckets would give one client 2**64 budgets). Anything unparsable is its own bucket."""
    address = _parse(ip)
    if address is None or address.version == 4:
        return ip
    if address.ipv4_mapped is not None:  # ::ffff:203.0.113.7 is the IPv4 client it wraps
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(address), settings.RATE_LIMIT_IPV6_PREFIX), strict=False))


def rate(maximum: int, window_seconds: int) -> str:
    """A django-ratelimit rate string: ``rate(20, 60)`` → ``"20/60s"``."""
    return f"{int(maximum)}/{max(1, int(window_seconds))}s"


def _usage(request, *, group: str, key: str, rate_: str, increment: bool) -> dict | None:
    try:
        return get_usage(request, group=group, key=lambda _group, _request: key, rate=rate_, increment=increment)
    except ApplicationError:
        raise
    except Exception as exc:  # redis down or timing out: the caller decides between 503 and fail-open
        logger.warning("rate-limit store unavailable: %s", exc.__class__.__name__)
        raise ServiceUnavailable("The rate-limit store is unavailable; retry later.") from None


def _refuse(usage: dict, message: str | None) -> RateLimited:
    return RateLimited(message, retry_after=max(1, usage.get("time_left") or 1))


def hit(request, *, group: str, key: str, rate: str, message: str | None = None) -> None:
    """Count one request against ``(group, key)``; raise ``RateLimited`` once the count exceeds the rate."""
    usage = _usage(request, group=group, key=key, rate_=rate, increment=True)
    if usage is not None and usage["should_limit"]:
        raise _refuse(usage, message)


def check(request, *, group: str, key: str, rate: str, message: str | None = None) -> None:
    """Raise ``RateLimited`` when ``(group, key)`` has used its whole budget, without counting this request.

    Used with :func:`hit` to count only failures (e.g. failed logins per account).
    """
    usage = _usage(request, group=group, key=key, rate_=rate, increment=False)
    if usage is not None and usage["count"] >= usage["limit"]:
        raise _refuse(usage, message)


VERIFIED_ATTR = "_ts_verified_access"  # a VerifiedAccess on the request: one verify per request


@dataclass(frozen=True)
class VerifiedAccess:
    """What the gateway learnt about the request's access token, for the authentication class to reuse."""

    raw: str                         # the token as sent; reused only for this very token
    claims: dict                     # its verified claims
    revocation: dict | None = None   # revocation values read in the budget's round trip (None: not read)


def verified_access(request, raw: str) -> VerifiedAccess | None:
    """The gateway's verification of ``raw`` in this request, if it verified that very token."""
    found = getattr(getattr(request, "_request", request), VERIFIED_ATTR, None)
    return found if found is not None and found.raw == raw else None


@dataclass(frozen=True)
class GatewayIdentity:
    """Whom the gateway budget counts a request against."""

    key: str                  # "user:<id>" for a valid access token, else "ip:<bucket>"
    claims: dict | None       # the token's claims when it is valid


def _gateway_identity(request) -> GatewayIdentity:
    """The budget's key and, for a valid access token, its claims."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    raw = header[7:].strip() if header[:7].lower() == "bearer " else request.COOKIES.get(settings.AUTH_ACCESS_COOKIE)
    if raw:
        try:
            claims = tokens.verify(raw)
        except ApplicationError:
            pass  # an invalid token is anonymous here; the authentication class answers 401 for it
        else:
            setattr(request, VERIFIED_ATTR, VerifiedAccess(raw=raw, claims=claims))
            return GatewayIdentity("user:" + str(claims["sub"]), claims)
    return GatewayIdentity("ip:" + ip_bucket(client_ip(request)), None)


def _gateway_hit(request, identity: GatewayIdentity) -> int | None:
    """Count one request in the identity's fixed window; the seconds to wait when over budget, else None.

    One round trip on Redis (pipelined ``INCR`` + ``EXPIRE``): this runs on every API request. For a
    verified token the same round trip also reads its revocation state (same ``security`` store), which the
    authentication class then uses instead of asking again. On a Redis Cluster the pipeline is split per master and sent
    to all of them in parallel: still one round trip of latency.
    """
    period = max(1, settings.RATE_LIMIT_WINDOW_MS // 1000)
    now = int(time.time())
    key = f"ts:v1:rl:gw:{now // period}:{identity.key}"
    claims = identity.claims
    store = caches[settings.RATELIMIT_USE_CACHE]
    if _is_redis(store):
        from django_redis import get_redis_connection

        connection = get_redis_connection(settings.RATELIMIT_USE_CACHE)
        cluster = is_cluster(connection)
        pipe = connection.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, period + 5)
        revocation_keys = None
        if claims is not None and settings.RATELIMIT_USE_CACHE == revocation.STORE_ALIAS:
            revocation_keys = revocation.keys_for(Principal.from_claims(claims))
            made = [store.client.make_key(k) for k in revocation_keys]
            if cluster:  # the keys hash to different slots: one GET each, every master gets its own in parallel
                for made_key in made:
                    pipe.get(made_key)
            else:
                pipe.mget(made)
        results = pipe.execute()
        count = int(results[0])
        if revocation_keys is not None:
            values = results[2:] if cluster else results[2]
            found = {k: store.client.decode(v) for k, v in zip(revocation_keys, values, strict=True)
                     if v is not None}
            setattr(request, VERIFIED_ATTR, replace(getattr(request, VERIFIED_ATTR), revocation=found))
    else:
        store.add(key, 0, period + 5)
        count = store.incr(key)
    if count > settings.RATE_LIMIT_MAX:
        return period - now % period
    return None


def _is_redis(store) -> bool:
    try:
        from django_redis.cache import RedisCache
    except ImportError:  # pragma: no cover - django-redis is a production dependency
        return False
    return isinstance(store, RedisCache)


class GatewayRateLimitMiddleware:
    """Every API request counts against its client's budget: per user when authenticated, else per IP.

    ``RATE_LIMIT_MAX`` requests per ``RATE_LIMIT_WINDOW_MS``. If the store is down, this budget fails open
    (public endpoints keep working); authenticated requests still fail closed in the revocation check.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and settings.RATELIMIT_ENABLE:
            try:
                wait = _gateway_hit(request, _gateway_identity(request))
            except Exception as exc:  # store down: fail open here, authenticated requests still get 503
                logger.warning("gateway rate-limit store unavailable: %s", exc.__class__.__name__)
                wait = None
            if wait is not None:
                limited = RateLimited(retry_after=wait)
                return error_response(limited.code, limited.message, limited.status, headers=limited.headers)
        return self.get_response(request)
