"""Production sends the browser login's cookies over HTTPS only: the browsable API and the console are served
there, and an operator's AUTH_COOKIE_SECURE=false is refused at start rather than obeyed."""
from __future__ import annotations

import secrets
import subprocess
import sys

from tests.support.procs import ROOT

SHOW = ("import django; django.setup(); from django.conf import settings; "
        "print(settings.AUTH_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SESSION_COOKIE_SECURE)")


def boot(**env) -> subprocess.CompletedProcess:
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DJANGO_SETTINGS_MODULE": "settings.prod",
                   "WEB_CONCURRENCY": "1", "ALLOWED_HOSTS": "api.example.com",
                   "DJANGO_SECRET_KEY": secrets.token_urlsafe(48), "JWT_SECRET": secrets.token_urlsafe(48), **env}
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)


def test_production_cookies_are_secure_by_default():
    result = boot()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True True True"


def test_production_refuses_login_cookies_over_plain_http():
    result = boot(AUTH_COOKIE_SECURE="false")
    assert result.returncode != 0
    assert "AUTH_COOKIE_SECURE=false would send the login cookies over plain HTTP" in result.stderr
