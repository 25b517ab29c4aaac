"""Production: no secret defaults; refuses to start with a weak or missing secret."""
from django.core.exceptions import ImproperlyConfigured

from settings.base import *  # noqa: F401,F403
from settings.base import JWT_SECRET, SECRET_KEY
from settings.env import env_bool, env_int

_WEAK = {"", "changeme", "secret", "change-me", "dev-insecure-jwt-secret-0123456789abcdef"}

if not SECRET_KEY or len(SECRET_KEY) < 32 or SECRET_KEY.startswith(("dev-insecure", "test-")):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random value of at least 32 characters")
if JWT_SECRET in _WEAK or len(JWT_SECRET.encode()) < 32 or JWT_SECRET.startswith(("dev-insecure", "test-")):
    raise ImproperlyConfigured("JWT_SECRET must be set to a random value of at least 32 bytes")

DEBUG = False
AUTH_COOKIE_SECURE = env_bool("AUTH_COOKIE_SECURE", True)
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
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False

# The browsable API (HTML forms over every endpoint) is a development aid: off in production unless the operator
# turns it on with BROWSABLE_API=true.
BROWSABLE_API = env_bool("BROWSABLE_API", False)
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if BROWSABLE_API else []),
    ],
}
