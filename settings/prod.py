"""Production: no secret defaults. Refuses to start with a weak or missing secret, with security state in process
memory while more than one process serves, with login cookies that could travel over plain HTTP, or (at app
start-up) on a security Redis that may evict keys."""
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from settings.base import *  # noqa: F401,F403
from settings.base import EVENT_BUS, JWT_SECRET, REDIS_ENABLED, SECRET_KEY, STATIC_ROOT, TRADESIGNALS_SLICES
from settings.env import env_bool, env_int, env_str
from tradesignals import slices

_WEAK = {"", "changeme", "secret", "change-me", "dev-insecure-jwt-secret-0123456789abcdef"}

if not SECRET_KEY or len(SECRET_KEY) < 32 or SECRET_KEY.startswith(("dev-insecure", "test-", "build-only-")):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random value of at least 32 characters")
if JWT_SECRET in _WEAK or len(JWT_SECRET.encode()) < 32 or JWT_SECRET.startswith(("dev-insecure", "test-")):
    raise ImproperlyConfigured("JWT_SECRET must be set to a random value of at least 32 bytes")

# Without Redis, revoked tokens and rate-limit counters live in process memory (the security store): a logout
# then reaches only the process that handled it. That is right only when one process serves everything.
if not REDIS_ENABLED:
    _workers = env_int("WEB_CONCURRENCY", 2, minimum=1)  # what deploy/gunicorn.conf.py starts (default 2)
    _others = []
    if _workers != 1:
        _others.append(f"WEB_CONCURRENCY={_workers} gunicorn workers" if env_str("WEB_CONCURRENCY", "").strip()
                       else f"WEB_CONCURRENCY unset, so gunicorn starts {_workers} workers")
    if set(TRADESIGNALS_SLICES) != set(slices.ALL):
        _others.append(f"TRADESIGNALS_SLICES={','.join(TRADESIGNALS_SLICES)}: the other slices run elsewhere")
    if EVENT_BUS != "inprocess":
        _others.append(f"EVENT_BUS={EVENT_BUS}: the event consumers run in other processes")
    if _others:
        raise ImproperlyConfigured(
            "REDIS_ENABLED=false keeps revoked tokens and rate-limit counters in each process's memory, so a "
            "logout would only take effect in the process that handled it, and this deployment runs more than "
            f"one ({'; '.join(_others)}). Set REDIS_ENABLED=true with REDIS_URL (and SECURITY_REDIS_URL) naming a "
            "Redis that every process shares, or serve from a single process: WEB_CONCURRENCY=1, "
            "TRADESIGNALS_SLICES unset (every slice), EVENT_BUS=inprocess."
        )

# Start-up refuses a security Redis that may evict (tradesignals/kernel/security_store.py); a Redis that cannot be
# asked (CONFIG disabled, unreachable) is one WARNING. SECURITY_REDIS_ALLOW_EVICTION=true opts out.
SECURITY_REDIS_CHECK_AT_START = REDIS_ENABLED

DEBUG = False
# The browser login's token cookies, the CSRF cookie and the session cookie are sent over HTTPS only: the
# browsable API and the console are served in production, and a token cookie sent once over plain HTTP is a
# stolen session. An operator's AUTH_COOKIE_SECURE=false is refused rather than obeyed.
if not env_bool("AUTH_COOKIE_SECURE", True):
    raise ImproperlyConfigured(
        "AUTH_COOKIE_SECURE=false would send the login cookies over plain HTTP; production sends them over HTTPS "
        "only (terminate TLS at the balancer, which sets X-Forwarded-Proto). Unset AUTH_COOKIE_SECURE."
    )
AUTH_COOKIE_SECURE = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Plain-HTTP requests are redirected (the balancer terminates TLS and sets X-Forwarded-Proto); probes exempt.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^health$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = False
# Preload-list submission is an owner's decision for the public domain, not a code default.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Static files (the browsable API's, Swagger UI's, the console's) are served from what collectstatic wrote at
# image build time; STATIC_ROOT names another place for a layout that collects elsewhere.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(STATIC_ROOT)))
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
