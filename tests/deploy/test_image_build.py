"""The Dockerfile builds and the image boots: buildah builds the real Dockerfile on a base made here with
debootstrap (no registry, no container engine), podman runs the image's own CMD against the test session's
MongoDB and Redis, and the probes answer 200.

Slow when cold (debootstrap and pip install, a few minutes); the base and buildah's layers are cached per machine
(tests/support/image.py), so a rerun with an unchanged Dockerfile and requirements only re-checks the layers.
"""
from __future__ import annotations

import json
import os
import secrets
import urllib.request
import uuid

import pytest

from tests.support.image import ImageBuild, missing_tools
from tests.support.servers import free_port, require, wait_until

pytestmark = pytest.mark.image


@pytest.fixture(scope="module")
def built():
    missing = missing_tools()
    require(not missing, f"building the image needs {', '.join(missing)} "
                         f"(apt-get install -y {' '.join(missing)})")
    require(os.geteuid() == 0, "debootstrap and rootful buildah/podman need root")
    build = ImageBuild()
    return build, build.build()


def _get(url: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Host": "127.0.0.1"})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback URL built here
        return response.status, json.loads(response.read() or b"{}")


def test_the_image_keeps_the_dockerfile_contract(built):
    build, tag = built
    config = build.inspect(tag)["Config"]
    assert config["User"] == "10001:10001"
    assert config["Cmd"] == ["gunicorn", "-c", "deploy/gunicorn.conf.py", "tradesignals.wsgi:application"]
    assert "DJANGO_SETTINGS_MODULE=settings.prod" in config["Env"]
    # Tests and local state stay out of the image (.dockerignore).
    listing = build.run("podman", "run", "--rm", "--network", "none", tag, "ls", "-A", "/app").stdout.split()
    assert "manage.py" in listing
    assert not {"tests", ".env", ".venv", ".git"} & set(listing)


def test_the_image_boots_and_answers_its_probes(built, mongo_server, redis_server_url):
    build, tag = built
    port = free_port()
    name = f"ts-image-test-{uuid.uuid4().hex[:8]}"
    env = {
        # deploy/gunicorn.conf.py binds HOST:PORT, and the HEALTHCHECK command asks 127.0.0.1:$PORT.
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "AUTH_COOKIE_SECURE": "true",
        "MONGODB_URI": mongo_server.uri,
        "REDIS_ENABLED": "true",
        "REDIS_URL": redis_server_url,
        "SECURITY_REDIS_ALLOW_EVICTION": "true",
    }
    build.start(tag, name, env)
    try:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _get(f"{base}/healthz")[0] == 200, timeout=60, interval=0.2,
                       message="the container's gunicorn to answer /healthz")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\ncontainer log:\n{build.logs(name)[-4000:]}") from None
        status, body = _get(f"{base}/health")
        assert status == 200, body
        # The image's HEALTHCHECK command works inside the container, as the non-root user.
        probe = build.run("podman", "exec", name, "python", "deploy/healthcheck.py", "/healthz", check=False)
        assert probe.returncode == 0, probe.stdout + probe.stderr
    finally:
        build.remove(name)
    assert build.run("podman", "container", "exists", name, check=False).returncode != 0
