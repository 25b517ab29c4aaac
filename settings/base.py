"""Base settings: everything, driven by environment variables. dev/test/prod only adjust defaults."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from settings.env import env_bool, env_choice, env_duration, env_int, env_list, env_str
from settings.storage import filesystem_media_storage, s3_media_storage
from tradesignals import slices

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")

# --- slices -------------------------------------------------------------------------------------
TRADESIGNALS_SLICES = slices.parse(env_str("TRADESIGNALS_SLICES"))
ENABLED_SLICES = [slices.SLICES[name] for name in TRADESIGNALS_SLICES]

INSTALLED_APPS = [
    # contenttypes/auth for the password hashers and validators, and because djangorestframework-simplejwt
    # imports django.contrib.auth's models: no tables are used, migrate is never run.
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "tradesignals.kernel.apps.KernelConfig",
    *[s.app for s in ENABLED_SLICES],
]

MIDDLEWARE = [
    "tradesignals.kernel.middleware.RequestIdMiddleware",
    "tradesignals.kernel.metrics.MetricsMiddleware",
    "tradesignals.kernel.middleware.AccessLogMiddleware",
    "tradesignals.kernel.middleware.BodySizeLimitMiddleware",
    "tradesignals.kernel.middleware.NoStoreByDefaultMiddleware",
    "tradesignals.kernel.ratelimit.GatewayRateLimitMiddleware",
    "tradesignals.kernel.drf.authentication.CookieRenewalMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tradesignals.kernel.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "tradesignals.urls"
WSGI_APPLICATION = "tradesignals.wsgi.application"
APPEND_SLASH = False  # API paths accept an optional trailing slash themselves; never redirect.

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
            ],
        },
    }
]

# No SQL database: MongoDB (mongoengine) holds the data.
DATABASES: dict = {}

# --- MongoDB ------------------------------------------------------------------------------------
MONGODB_URI = env_str("MONGODB_URI", "mongodb://127.0.0.1:27017/tradesignals")
MONGODB_DB = env_str("MONGODB_DB", "tradesignals")
MONGODB_TIMEOUT_MS = env_int("MONGODB_TIMEOUT_MS", 2000, minimum=100, maximum=60000)
HEALTH_CHECK_TIMEOUT = env_int("HEALTH_CHECK_TIMEOUT_MS", 1000, minimum=50, maximum=10000) / 1000
# Durable writes: every write and transaction acknowledged by a majority and journaled, retried once on a
# failover (retryable writes and reads), reads of majority-committed data, transactions on a snapshot. The
# embedded single-node server takes the same options (its majority is itself).
_WRITE_CONCERN = env_str("MONGODB_WRITE_CONCERN", "majority").strip()
if _WRITE_CONCERN != "majority":
    _WRITE_CONCERN = env_int("MONGODB_WRITE_CONCERN", 1, minimum=1, maximum=50)
MONGODB_WRITE_CONCERN = _WRITE_CONCERN
MONGODB_WRITE_JOURNAL = env_bool("MONGODB_WRITE_JOURNAL", True)
MONGODB_WRITE_TIMEOUT_MS = env_int("MONGODB_WRITE_TIMEOUT_MS", 10000, minimum=100, maximum=120000)
MONGODB_RETRY_WRITES = env_bool("MONGODB_RETRY_WRITES", True)
MONGODB_RETRY_READS = env_bool("MONGODB_RETRY_READS", True)
MONGODB_READ_CONCERN = env_choice("MONGODB_READ_CONCERN", "majority", ("local", "available", "majority"))
MONGODB_TRANSACTION_READ_CONCERN = env_choice("MONGODB_TRANSACTION_READ_CONCERN", "snapshot",
                                              ("snapshot", "majority", "local"))
# Public reads (the public feed, public profiles, the public discussion lists) may come from a secondary at
# most this far behind (the drivers require >= 90 s); per slice with MONGODB_PUBLIC_READ_PREFERENCE_<ALIAS> and
# MONGODB_MAX_STALENESS_SECONDS_<ALIAS>. Every other read is on the primary (read-your-writes).
_READ_MODES = ("primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest")
MONGODB_PUBLIC_READ_PREFERENCE = env_choice("MONGODB_PUBLIC_READ_PREFERENCE", "secondaryPreferred", _READ_MODES)
MONGODB_MAX_STALENESS_SECONDS = env_int("MONGODB_MAX_STALENESS_SECONDS", 90, minimum=90, maximum=86400)
MONGODB_PUBLIC_READS = {
    s.db_alias: (
        env_choice(f"MONGODB_PUBLIC_READ_PREFERENCE_{s.db_alias.upper()}", MONGODB_PUBLIC_READ_PREFERENCE,
                   _READ_MODES),
        env_int(f"MONGODB_MAX_STALENESS_SECONDS_{s.db_alias.upper()}", MONGODB_MAX_STALENESS_SECONDS, minimum=90,
                maximum=86400),
    )
    for s in ENABLED_SLICES
}
# Keyset lists: the plain index-range reader on MongoDB, the bounded time windows on the embedded server
# (detected from buildInfo); force one with plain or windowed.
MONGODB_KEYSET_READER = env_choice("MONGODB_KEYSET_READER", "auto", ("auto", "plain", "windowed"))
# One alias per enabled slice; each may point elsewhere via MONGODB_URI_<ALIAS>.
MONGODB_ALIASES = {
    s.db_alias: env_str(f"MONGODB_URI_{s.db_alias.upper()}", MONGODB_URI) for s in ENABLED_SLICES
}

# --- Redis / cache ------------------------------------------------------------------------------
REDIS_ENABLED = env_bool("REDIS_ENABLED", False)
# Redis Cluster (e.g. ElastiCache cluster mode): REDIS_CLUSTER=true makes every Redis URL of this block (cache,
# security, events) a cluster's seed node; a redis+cluster:// or rediss+cluster:// URL makes only that one a
# cluster. A cluster has only database 0: a cluster URL naming another database is refused at start-up.
REDIS_CLUSTER = env_bool("REDIS_CLUSTER", False)
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Security state (revocation, login counters) may live on its own Redis; it never ignores errors.
SECURITY_REDIS_URL = env_str("SECURITY_REDIS_URL", REDIS_URL)
# That Redis must never evict (maxmemory-policy noeviction): an evicted revocation lets a logged-out token work
# again. settings.prod checks it at start-up (kernel AppConfig.ready(), CONFIG GET with a 1 s timeout) and refuses
# any other policy; SECURITY_REDIS_ALLOW_EVICTION=true skips the check for an operator who accepts the risk.
SECURITY_REDIS_ALLOW_EVICTION = env_bool("SECURITY_REDIS_ALLOW_EVICTION", False)
SECURITY_REDIS_CHECK_AT_START = False  # a network call at start-up: production only (settings/prod.py)
REDIS_SOCKET_TIMEOUT = float(env_str("REDIS_SOCKET_TIMEOUT", "0.25"))
CACHE_TTL_SECONDS = env_int("CACHE_TTL_SECONDS", 300, minimum=1, maximum=3600)
# CacheService (tradesignals/kernel/cache/): backend redis|locmem|null (default follows REDIS_ENABLED),
# how long to skip a failed Redis before retrying, stampede lock/wait, public feed max-age.
CACHE_BACKEND = env_str("CACHE_BACKEND", "redis" if REDIS_ENABLED else "locmem")
CACHE_RETRY_SECONDS = env_int("CACHE_RETRY_SECONDS", 2, minimum=1, maximum=300)
CACHE_WARN_INTERVAL_SECONDS = env_int("CACHE_WARN_INTERVAL_SECONDS", 60, minimum=1, maximum=3600)
CACHE_STAMPEDE_LOCK_SECONDS = env_int("CACHE_STAMPEDE_LOCK_SECONDS", 5, minimum=1, maximum=60)
CACHE_STAMPEDE_WAIT_MS = env_int("CACHE_STAMPEDE_WAIT_MS", 2000, minimum=0, maximum=10000)
CACHE_PUBLIC_MAX_AGE = env_int("CACHE_PUBLIC_MAX_AGE", 10, minimum=0, maximum=3600)


def _redis_location(setting: str, url: str) -> tuple[str, dict]:
    """The django-redis LOCATION and client OPTIONS for one Redis URL (a cluster's, or one server's)."""
    from tradesignals.kernel import redis_cluster

    try:
        location, cluster = redis_cluster.parse_url(url, forced=REDIS_CLUSTER, setting=setting)
    except redis_cluster.ClusterConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    options = {
        "CLIENT_CLASS": "tradesignals.kernel.redis_cluster.ClusterClient" if cluster
        else "django_redis.client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
        "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
    }
    if cluster:
        options["CONNECTION_FACTORY"] = "tradesignals.kernel.redis_cluster.ClusterConnectionFactory"
    return location, options


if REDIS_ENABLED:
    _cache_location, _cache_options = _redis_location("REDIS_URL", REDIS_URL)
    _security_location, _security_options = _redis_location("SECURITY_REDIS_URL", SECURITY_REDIS_URL)
    CACHES = {
        # The response cache: an outage is a miss, never an error.
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": _cache_location,
            "OPTIONS": {**_cache_options, "IGNORE_EXCEPTIONS": True},
        },
        # Security state: errors propagate (→ 503), a revoked token is never accepted silently.
        "security": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": _security_location,
            "OPTIONS": _security_options,
        },
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
        # Security state in process memory that only expires, never evicts (LocMemCache would drop the oldest
        # revocations and counters past 300 entries): see tradesignals/kernel/security_store.py.
        "security": {"BACKEND": "tradesignals.kernel.security_store.SecurityStore", "LOCATION": "security"},
    }

# --- events ---------------------------------------------------------------------------------------
EVENT_BUS = env_str("EVENT_BUS", "inprocess")
if EVENT_BUS not in {"inprocess", "redis", "kafka"}:
    raise ImproperlyConfigured(f"EVENT_BUS must be inprocess, redis or kafka; got {EVENT_BUS!r}")
if EVENT_BUS == "inprocess" and set(TRADESIGNALS_SLICES) != set(slices.ALL):
    raise ImproperlyConfigured(
        "EVENT_BUS=inprocess needs every slice in one process; a split deployment "
        f"(TRADESIGNALS_SLICES={','.join(TRADESIGNALS_SLICES)}) must use EVENT_BUS=redis or kafka"
    )
EVENT_STREAM_PREFIX = env_str("EVENT_STREAM_PREFIX", "ts:events:")
KAFKA_BOOTSTRAP_SERVERS = env_str("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
# Streams need their own Redis connection: production points EVENT_REDIS_URL at a Redis with
# maxmemory-policy noeviction (and persistence), so events are never evicted like cache entries.
EVENT_REDIS_URL = env_str("EVENT_REDIS_URL", REDIS_URL)
if EVENT_BUS == "redis":
    _redis_location("EVENT_REDIS_URL", EVENT_REDIS_URL)  # a cluster URL naming a database fails here, not later
if REDIS_CLUSTER and not REDIS_ENABLED and EVENT_BUS != "redis":
    raise ImproperlyConfigured("REDIS_CLUSTER=true, but nothing uses Redis: set REDIS_ENABLED=true (cache and "
                               "security store) or EVENT_BUS=redis, or drop REDIS_CLUSTER")
EVENT_REDIS_TIMEOUT = float(env_str("EVENT_REDIS_TIMEOUT", "1.0"))
EVENT_STREAM_MAXLEN = env_int("EVENT_STREAM_MAXLEN", 1_000_000, minimum=1000)  # approximate XADD MAXLEN
EVENT_MAX_ATTEMPTS = env_int("EVENT_MAX_ATTEMPTS", 5, minimum=1, maximum=100)  # then dead-letter
EVENT_RETRY_IDLE_MS = env_int("EVENT_RETRY_IDLE_MS", 30_000, minimum=10)  # reclaim / retry after this idle
EVENT_HANDLER_LEASE_MS = env_int("EVENT_HANDLER_LEASE_MS", 60_000, minimum=10)  # longest handler run
EVENT_PROCESSED_TTL = env_duration("EVENT_PROCESSED_TTL", "7d")  # how long handled ids are remembered
EVENT_CONSUMER_BLOCK_MS = env_int("EVENT_CONSUMER_BLOCK_MS", 1000, minimum=10, maximum=30_000)
EVENT_PUBLISH_TIMEOUT_MS = env_int("EVENT_PUBLISH_TIMEOUT_MS", 2000, minimum=100)
EVENT_RELAY_INTERVAL_MS = env_int("EVENT_RELAY_INTERVAL_MS", 1000, minimum=10)
# In-process bus only: each web worker retries its outbox from a background thread (no consumers process).
EVENT_INPROCESS_RELAY = env_bool("EVENT_INPROCESS_RELAY", True)
EVENT_RELAY_MAX_BACKOFF_MS = env_int("EVENT_RELAY_MAX_BACKOFF_MS", 60_000, minimum=10)
KAFKA_TOPIC_PREFIX = env_str("KAFKA_TOPIC_PREFIX", "ts.events.")  # topic = prefix + event type
KAFKA_GROUP_PREFIX = env_str("KAFKA_GROUP_PREFIX", "tradesignals.")  # group = prefix + consuming app
KAFKA_SECURITY_PROTOCOL = env_str("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")  # SSL, SASL_SSL, SASL_PLAINTEXT
KAFKA_SASL_MECHANISM = env_str("KAFKA_SASL_MECHANISM", "")  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
KAFKA_SASL_USERNAME = env_str("KAFKA_SASL_USERNAME", "")
KAFKA_SASL_PASSWORD = env_str("KAFKA_SASL_PASSWORD", "")
KAFKA_SSL_CA_LOCATION = env_str("KAFKA_SSL_CA_LOCATION", "")
KAFKA_SESSION_TIMEOUT_MS = env_int("KAFKA_SESSION_TIMEOUT_MS", 10_000, minimum=1000)

# --- tokens ---------------------------------------------------------------------------------------
JWT_SECRET = env_str("JWT_SECRET", "")
# Container secrets: DJANGO_SECRET_KEY_FILE / JWT_SECRET_FILE name a file (e.g. /run/secrets/jwt_secret) whose
# content wins over the variable, so the value never shows in the environment (docker inspect, /proc).
if env_str("DJANGO_SECRET_KEY_FILE"):
    SECRET_KEY = Path(env_str("DJANGO_SECRET_KEY_FILE")).read_text().strip()
if env_str("JWT_SECRET_FILE"):
    JWT_SECRET = Path(env_str("JWT_SECRET_FILE")).read_text().strip()
JWT_ACCESS_EXPIRY = env_duration("JWT_ACCESS_EXPIRY", "15m")
JWT_REFRESH_EXPIRY = env_duration("JWT_REFRESH_EXPIRY", "7d")
JWT_ISSUER = env_str("JWT_ISSUER", "tradesignals")
JWT_AUDIENCE = env_str("JWT_AUDIENCE", "tradesignals-api")
JWT_LEEWAY_SECONDS = env_int("JWT_LEEWAY_SECONDS", 10, minimum=0, maximum=30)
# djangorestframework-simplejwt reads SIMPLE_JWT; every value that varies comes from the JWT_* settings above,
# so JWT_SECRET (variable or file) and production's secret checks govern the signing key. kernel.tokens refuses
# a SIMPLE_JWT that disagrees with them or unpins anything below. Revocation is kernel.revocation (Redis):
# simplejwt's SQL-bound pieces (stock views, token_blacklist, JWTAuthentication.get_user) are not used.
SIMPLE_JWT = {
    "ALGORITHM": "HS256",  # pinned: alg none, another HMAC or an RS/ES header is refused
    "SIGNING_KEY": JWT_SECRET,
    "VERIFYING_KEY": "",  # HS256: the signing key verifies
    "JWK_URL": None,
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "LEEWAY": JWT_LEEWAY_SECONDS,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=JWT_ACCESS_EXPIRY),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=JWT_REFRESH_EXPIRY),
    "USER_ID_FIELD": "id",  # the accounts User document's id (Principal.id on the verifying side)
    "USER_ID_CLAIM": "sub",
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_HEADER_NAME": "HTTP_AUTHORIZATION",
    "AUTH_TOKEN_CLASSES": ("tradesignals.kernel.tokens.AccessToken",),  # never a refresh token
    "TOKEN_USER_CLASS": "tradesignals.kernel.identity.TokenPrincipal",
    # Rotation with reuse detection is apps.accounts' own (sessions in MongoDB); no blacklist tables.
    "ROTATE_REFRESH_TOKENS": False,
    "BLACKLIST_AFTER_ROTATION": False,
    "UPDATE_LAST_LOGIN": False,
    "CHECK_REVOKE_TOKEN": False,  # the per-user epoch (claim ``ver``) does this, for every cause
}
AUTH_ACCESS_COOKIE = "ts_access"
AUTH_REFRESH_COOKIE = "ts_refresh"
AUTH_COOKIE_SECURE = env_bool("AUTH_COOKIE_SECURE", False)
# Two requests refreshing with the same token within this many seconds (two tabs, a retry after a timeout)
# are a race, not theft: the loser gets 409 and the session survives. 0 turns the grace off.
JWT_REFRESH_REUSE_GRACE = env_int("JWT_REFRESH_REUSE_GRACE", 10, minimum=0, maximum=60)

# Argon2id at the OWASP minimum (m=19 MiB, t=2, p=1): ~22 ms of CPU per hash instead of ~180 ms.
PASSWORD_HASHERS = ["apps.accounts.hashers.Argon2idHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("email", "display_name")}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- rate limits and proxies ----------------------------------------------------------------------
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")
# Per-IP limits count an IPv6 client by its network prefix (one subscriber usually holds a whole /64).
RATE_LIMIT_IPV6_PREFIX = env_int("RATE_LIMIT_IPV6_PREFIX", 64, minimum=32, maximum=128)
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_USE_CACHE = "security"
RATELIMIT_IP_META_KEY = "tradesignals.kernel.ratelimit.client_ip"
RATE_LIMIT_WINDOW_MS = env_int("RATE_LIMIT_WINDOW_MS", 60_000, minimum=1000)
RATE_LIMIT_MAX = env_int("RATE_LIMIT_MAX", 600, minimum=1)
AUTH_RATE_LIMIT_MAX = env_int("AUTH_RATE_LIMIT_MAX", 20, minimum=1)
# accounts: login attempts per IP use AUTH_RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS; failed logins per account
# (an hourly cap plus a short burst cap); registrations per IP; refreshes per session family. Windows in seconds.
LOGIN_ACCOUNT_FAILURE_MAX = env_int("LOGIN_ACCOUNT_FAILURE_MAX", 100, minimum=1)
LOGIN_ACCOUNT_FAILURE_WINDOW = env_duration("LOGIN_ACCOUNT_FAILURE_WINDOW", "1h")
LOGIN_ACCOUNT_BURST_MAX = env_int("LOGIN_ACCOUNT_BURST_MAX", 10, minimum=1)
LOGIN_ACCOUNT_BURST_WINDOW = env_duration("LOGIN_ACCOUNT_BURST_WINDOW", "1m")
REGISTER_RATE_LIMIT_MAX = env_int("REGISTER_RATE_LIMIT_MAX", 20, minimum=1)
REGISTER_RATE_LIMIT_WINDOW = env_duration("REGISTER_RATE_LIMIT_WINDOW", "1h")
REFRESH_RATE_LIMIT_MAX = env_int("REFRESH_RATE_LIMIT_MAX", 30, minimum=1)
REFRESH_RATE_LIMIT_WINDOW = env_duration("REFRESH_RATE_LIMIT_WINDOW", "1m")
# signals: created trade signals per user (mass creation); 429 + Retry-After once over the budget.
SIGNAL_CREATE_RATE_MAX = env_int("SIGNAL_CREATE_RATE_MAX", 100, minimum=1)
SIGNAL_CREATE_RATE_WINDOW = env_duration("SIGNAL_CREATE_RATE_WINDOW", "1h")
# Separation of duties: an administrator may not review their own signal unless this is on (single-admin installs).
SIGNAL_SELF_REVIEW = env_bool("SIGNAL_SELF_REVIEW", False)
# Outcomes (docs/outcomes.md): a signal not entered (or, once open, not closed) within this many candles of its
# timeframe expires.
# Candle posts per feed account (every post counts, valid or not: validating 1 000 candles is the cost).
MARKET_CANDLES_RATE_MAX = env_int("MARKET_CANDLES_RATE_MAX", 600, minimum=1)
MARKET_CANDLES_RATE_WINDOW = env_duration("MARKET_CANDLES_RATE_WINDOW", "1m")
SIGNAL_EXPIRY_CANDLES = env_int("SIGNAL_EXPIRY_CANDLES", 100, minimum=1, maximum=100000)

# --- images and file storage (docs/images.md) -------------------------------------------------------
# An upload larger than IMAGE_MAX_BYTES is a 413 (the body limit of the upload routes is this plus the multipart
# envelope); more than IMAGE_MAX_PIXELS (width x height, read from the header before decoding) is a 400.
IMAGE_MAX_BYTES = env_int("IMAGE_MAX_BYTES", 5 * 1024 * 1024, minimum=1024, maximum=64 * 1024 * 1024)
# The body an upload route accepts: the image plus the multipart envelope (boundaries, part headers); the gateway's
# client_max_body_size on those routes is the same sum (deploy/nginx).
IMAGE_UPLOAD_MAX_BODY_BYTES = IMAGE_MAX_BYTES + 64 * 1024
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 40_000_000, minimum=10_000, maximum=200_000_000)
# discussions: posts per user per window (threads, comments, reports), the comment edit window, the
# duplicate-post window, and how often a signal's owner is emailed about new comments under it.
DISCUSSION_THREAD_RATE_MAX = env_int("DISCUSSION_THREAD_RATE_MAX", 10, minimum=1)
DISCUSSION_THREAD_RATE_WINDOW = env_duration("DISCUSSION_THREAD_RATE_WINDOW", "1h")
DISCUSSION_COMMENT_RATE_MAX = env_int("DISCUSSION_COMMENT_RATE_MAX", 60, minimum=1)
DISCUSSION_COMMENT_RATE_WINDOW = env_duration("DISCUSSION_COMMENT_RATE_WINDOW", "1h")
DISCUSSION_REPORT_RATE_MAX = env_int("DISCUSSION_REPORT_RATE_MAX", 30, minimum=1)
DISCUSSION_REPORT_RATE_WINDOW = env_duration("DISCUSSION_REPORT_RATE_WINDOW", "1h")
DISCUSSION_EDIT_WINDOW = env_duration("DISCUSSION_EDIT_WINDOW", "15m")
DISCUSSION_DUPLICATE_WINDOW = env_duration("DISCUSSION_DUPLICATE_WINDOW", "1m")
DISCUSSION_NOTIFY_INTERVAL = env_duration("DISCUSSION_NOTIFY_INTERVAL", "1h")
IMAGE_UPLOAD_RATE_MAX = env_int("IMAGE_UPLOAD_RATE_MAX", 60, minimum=1)  # uploads per user per hour
IMAGE_UPLOAD_RATE_WINDOW = env_duration("IMAGE_UPLOAD_RATE_WINDOW", "1h")
IMAGE_ORPHAN_TTL = env_duration("IMAGE_ORPHAN_TTL", "24h")  # an upload never attached is then deleted
IMAGE_THUMBNAIL_WIDTH = env_int("IMAGE_THUMBNAIL_WIDTH", 480, minimum=64, maximum=2048)
IMAGE_AVATAR_SIZE = env_int("IMAGE_AVATAR_SIZE", 256, minimum=32, maximum=1024)  # square avatar thumbnails
# images_gc leaves a stored file without a record alone for this long (an upload between its files and its record).
IMAGE_GC_GRACE = env_duration("IMAGE_GC_GRACE", "1h")
# How often the consumers process (or, with the in-process bus, the web process) sweeps; 0 turns it off.
IMAGE_GC_INTERVAL = env_int("IMAGE_GC_INTERVAL", 900, minimum=0, maximum=86400)
# An upload's files are written before its record (seconds on a slow store): a shorter grace would let the sweep
# delete the files of a record about to commit; a shorter TTL would discard uploads before anyone could attach them.
if IMAGE_GC_GRACE < 300 or IMAGE_ORPHAN_TTL < 600:
    raise ImproperlyConfigured("IMAGE_GC_GRACE must be at least 5m and IMAGE_ORPHAN_TTL at least 10m; got "
                               f"{IMAGE_GC_GRACE} s and {IMAGE_ORPHAN_TTL} s")
if 0 < IMAGE_GC_INTERVAL < 60:  # each sweep lists the whole store: never more often than once a minute
    raise ImproperlyConfigured(f"IMAGE_GC_INTERVAL must be 0 (off) or at least 60 seconds; got {IMAGE_GC_INTERVAL}")
# filesystem (MEDIA_ROOT, served at MEDIA_URL by the app or the gateway) or s3 (django-storages; S3_* below;
# credentials from the environment — AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY — or the instance role).
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "filesystem")
if STORAGE_BACKEND not in {"filesystem", "s3"}:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be filesystem or s3; got {STORAGE_BACKEND!r}")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = env_str("MEDIA_URL", "/media/")
if not MEDIA_URL.endswith("/"):
    raise ImproperlyConfigured(f"MEDIA_URL must end with a slash; got {MEDIA_URL!r}")
# The app itself answers MEDIA_URL from MEDIA_ROOT (embedded run, tests, one-host deployments without a gateway
# that serves the volume); false when nginx or a CDN serves the files.
MEDIA_SERVE = env_bool("MEDIA_SERVE", STORAGE_BACKEND == "filesystem")
S3_BUCKET = env_str("S3_BUCKET", "")
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL", "") or None  # unset: AWS's own endpoint for S3_REGION
S3_REGION = env_str("S3_REGION", "") or None
# Where clients fetch objects: a CDN or the bucket's public address (objects are public-read by bucket policy,
# under unguessable names). Unset: path-style {S3_ENDPOINT_URL}/{S3_BUCKET}/ (or AWS's virtual-hosted address).
S3_PUBLIC_URL = env_str("S3_PUBLIC_URL", "")
S3_ADDRESSING_STYLE = env_str("S3_ADDRESSING_STYLE", "path" if S3_ENDPOINT_URL else "virtual")
S3_TIMEOUT_SECONDS = env_int("S3_TIMEOUT_SECONDS", 2, minimum=1, maximum=60)
if STORAGE_BACKEND == "s3" and not S3_BUCKET:
    raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET")
IMAGE_CACHE_CONTROL = "public, max-age=31536000, immutable"  # names are random and never reused
_media_storage = (
    s3_media_storage(bucket=S3_BUCKET, endpoint_url=S3_ENDPOINT_URL, region=S3_REGION,
                     addressing_style=S3_ADDRESSING_STYLE, timeout_seconds=S3_TIMEOUT_SECONDS,
                     cache_control=IMAGE_CACHE_CONTROL)
    if STORAGE_BACKEND == "s3" else filesystem_media_storage(MEDIA_ROOT, MEDIA_URL)
)
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- HTTP ----------------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BODY_BYTES", 64 * 1024, minimum=1024)
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_URLS_REGEX = r"^/api/.*$"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
USE_X_FORWARDED_HOST = False

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
WHITENOISE_USE_FINDERS = True  # serve Swagger UI without a collectstatic step in dev
WHITENOISE_AUTOREFRESH = DEBUG or not STATIC_ROOT.exists()

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "tradesignals@localhost")
# Where django.core.mail.backends.filebased.EmailBackend writes one file per message (e.g. for end-to-end tests).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))

# --- DRF / OpenAPI --------------------------------------------------------------------------------
# The browsable API is one of the product's interfaces, in production too; BROWSABLE_API=false serves JSON only.
BROWSABLE_API = env_bool("BROWSABLE_API", True)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tradesignals.kernel.drf.authentication.BearerTokenAuthentication",
        "tradesignals.kernel.drf.authentication.CookieTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tradesignals.kernel.drf.permissions.IsAuthenticatedPrincipal"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["tradesignals.kernel.drf.renderers.BrowsableAPIRenderer"] if BROWSABLE_API else []),
    ],
    "DEFAULT_PARSER_CLASSES": ["tradesignals.kernel.drf.fields.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "tradesignals.kernel.drf.negotiation.ApiContentNegotiation",
    "EXCEPTION_HANDLER": "tradesignals.kernel.drf.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "tradesignals API",
    "DESCRIPTION": "Trade signals: publish, review, and read the approved feed.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every vocabulary is one named enum component, wherever it appears (bodies, responses, query parameters),
    # with its members in the order the code declares them.
    "ENUM_NAME_OVERRIDES": {
        "DirectionEnum": "apps.signals.enums.DIRECTIONS",
        "TimeframeEnum": "apps.signals.enums.TIMEFRAMES",
        "SignalStatusEnum": "apps.signals.enums.STATUSES",
        "ReviewDecisionEnum": "apps.signals.enums.REVIEW_STATUSES",
        "RoleEnum": "tradesignals.kernel.identity.ROLES",
        "OutcomeStateEnum": "apps.signals.enums.OUTCOME_STATES",
        "LeaderboardPeriodEnum": "apps.signals.leaderboard.PERIOD_NAMES",
        "AuditTypeEnum": "apps.accounts.enums.AUDIT_TYPES",
    },
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,  # every label is its value
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tradesignals.kernel.drf.schema.share_enums",
        "tradesignals.kernel.drf.schema.strip_trailing_slashes",
        "tradesignals.kernel.drf.schema.document_common_errors",
        "tradesignals.kernel.drf.schema.empty_query_is_absent",
        "tradesignals.kernel.drf.schema.anonymous_is_no_security",
        "tradesignals.kernel.drf.schema.apply_body_schemas",
        "tradesignals.kernel.drf.schema.inline_nullable_objects",
    ],
}

# --- metrics -----------------------------------------------------------------------------------------
# /metrics (Prometheus text). The gateway does not route it; set METRICS_TOKEN to require a bearer token too.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# --- benchmark -------------------------------------------------------------------------------------
# Mounts a bare Django JsonResponse view at /bench/baseline: the framework's ceiling, measured by `make bench`.
BENCH_MODE = env_bool("BENCH_MODE", False)

# --- logging ----------------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tradesignals.kernel.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "tradesignals.kernel.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR", "handlers": ["console"], "propagate": False},
        "django.server": {"level": "WARNING"},
        "pymongo": {"level": "WARNING"},
    },
}
