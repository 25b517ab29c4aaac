"""TRADESIGNALS_SLICES decides installed apps, URL mounts and Mongo aliases; each slice boots alone."""
import json
import subprocess
import sys

import pytest
import requests

from tests.support.procs import ROOT, Gunicorn
from tradesignals import slices

LIST_MOUNTS = """
import django, json
django.setup()
from django.conf import settings
from django.urls import get_resolver
prefixes = sorted({str(p.pattern) for p in get_resolver().url_patterns})
print(json.dumps({"apps": [a for a in settings.INSTALLED_APPS if a.startswith("apps.")],
                  "aliases": sorted(settings.MONGODB_ALIASES), "prefixes": prefixes}))
"""


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "settings.test", **env})


@pytest.mark.parametrize("name", slices.ALL)
def test_each_slice_boots_alone_and_mounts_only_itself(name):
    env = {"TRADESIGNALS_SLICES": name, "EVENT_BUS": "redis"}
    check = run(env, "manage.py", "check")
    assert check.returncode == 0, check.stderr
    listed = run(env, "-c", LIST_MOUNTS)
    assert listed.returncode == 0, listed.stderr
    mounts = json.loads(listed.stdout)
    assert mounts["aliases"] == [name]
    assert mounts["apps"] == [slices.SLICES[name].app]
    own = slices.SLICES[name]
    assert own.api_prefix in mounts["prefixes"]
    assert {prefix for prefix, _urlconf in own.extra_urlconfs} <= set(mounts["prefixes"])
    for other in slices.SLICES.values():
        if other.name != name:
            assert other.api_prefix not in mounts["prefixes"]
            for prefix, _urlconf in other.extra_urlconfs:
                assert prefix not in mounts["prefixes"], (other.name, prefix)


def test_unknown_slice_stops_start_up_with_a_clear_message():
    result = run({"TRADESIGNALS_SLICES": "accounts,billing"}, "manage.py", "check")
    assert result.returncode != 0
    assert "unknown slice(s) billing" in result.stderr


def test_split_deployment_refuses_the_in_process_bus():
    result = run({"TRADESIGNALS_SLICES": "users", "EVENT_BUS": "inprocess"}, "manage.py", "check")
    assert result.returncode != 0 and "EVENT_BUS=inprocess" in result.stderr


@pytest.mark.cluster
def test_disabled_slice_prefix_answers_json_404(mongo_uri, redis_server_url):
    env = {"TRADESIGNALS_SLICES": "users", "EVENT_BUS": "redis", "MONGODB_URI": mongo_uri,
           "REDIS_URL": redis_server_url}
    with Gunicorn(env, name="users-only") as web:
        for path in ("/api/v1/auth/login", "/api/v1/trade-signals/public", "/console/", "/api/v1/discussions/",
                     "/console/discussions/"):
            response = requests.get(web.url + path, timeout=5)
            assert response.status_code == 404, path
            if path.startswith("/api/"):
                assert response.json()["error"]["code"] == "not_found"
        health = requests.get(web.url + "/health", timeout=5).json()
        assert health["slices"] == ["users"]
        assert [name for name in health["checks"] if name.startswith("mongodb:")] == ["mongodb:users"]
