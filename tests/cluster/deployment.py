"""A split deployment on loopback: nginx (the gateway) in front of gunicorn instances of each slice, each
slice in its own database, one Redis (cache, security state, Redis Streams bus), optionally the consumers
process. Every process writes the mail it sends to one directory (Django's file-based backend,
:attr:`Cluster.mail_dir`). Real sockets throughout; :meth:`Cluster.stop` stops every process it started and
drops its data and its mail.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pymongo
import redis

from tests.deploy.gateway import Nginx
from tests.support.procs import ROOT, Gunicorn
from tradesignals import slices

LOGIN_LIMIT = 5
# accounts×2, users×1, signals×2, discussions×1: enough to see load spreading and a dead instance being skipped.
DEFAULT_INSTANCES = {"accounts": 2, "users": 1, "signals": 2, "discussions": 1}


class Cluster:
    def __init__(self, mongo_uri: str, redis_url: str, *, instances: dict[str, int] | None = None,
                 consumers: bool = True):
        self.instances = dict(instances or DEFAULT_INSTANCES)
        missing = set(slices.ALL) - set(self.instances)
        if missing:
            raise ValueError(f"every slice needs an instance behind the gateway: {sorted(missing)}")
        self.with_consumers = consumers
        tag = uuid.uuid4().hex[:6]
        parts = urlsplit(mongo_uri)
        self.databases = {alias: f"ts_cluster_{tag}_{alias}" for alias in slices.ALL}
        self.mongo_base = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        # The cluster's own Redis database, so the per-test flush of the test database never touches it.
        redis_parts = urlsplit(redis_url)
        db = (int(redis_parts.path.strip("/") or 0) + 1) % 16
        self.redis_url = urlunsplit((redis_parts.scheme, redis_parts.netloc, f"/{db}", "", ""))
        self.mail_dir = Path(tempfile.mkdtemp(prefix="ts-cluster-mail-"))
        self.env = {
            "DJANGO_SETTINGS_MODULE": "tests.deploy.slow_settings",  # the real app plus /test/slow
            "EVENT_BUS": "redis",
            "REDIS_ENABLED": "true",
            "REDIS_URL": self.redis_url,
            "EVENT_REDIS_URL": self.redis_url,
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "AUTH_RATE_LIMIT_MAX": str(LOGIN_LIMIT),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "MONGODB_URI": f"{self.mongo_base}/{self.databases['signals']}",
            **{f"MONGODB_URI_{alias.upper()}": f"{self.mongo_base}/{name}" for alias, name in self.databases.items()},
        }
        self.web: dict[str, list[Gunicorn]] = {}
        self.consumers: subprocess.Popen | None = None
        self.nginx: Nginx | None = None

    def slice_env(self, name: str) -> dict:
        return {**self.env, "TRADESIGNALS_SLICES": name}

    def start(self) -> Cluster:
        redis.Redis.from_url(self.redis_url).flushdb()
        try:
            for name, count in self.instances.items():
                self.web[name] = [Gunicorn(self.slice_env(name), name=f"{name}-{i}").start() for i in range(count)]
            if self.with_consumers:
                self.consumers = subprocess.Popen(
                    [sys.executable, "manage.py", "run_consumers"], cwd=ROOT,
                    env={**os.environ, **self.env, "TRADESIGNALS_SLICES": ",".join(slices.ALL)},
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            upstreams = {name: [f"127.0.0.1:{g.port}" for g in instances] for name, instances in self.web.items()}
            self.nginx = Nginx(upstreams).start()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def url(self) -> str:
        return self.nginx.url

    def address(self, instance: Gunicorn) -> str:
        """How the gateway names ``instance`` in ``X-Upstream``."""
        return f"127.0.0.1:{instance.port}"

    def owner(self, path: str) -> str:
        """The slice whose prefix (API or HTML) ``path`` falls under; the longest prefix wins, as in nginx
        (``console/discussions/`` is the discussions slice's, the rest of ``console/`` the signals slice's)."""
        candidate = f"{path.lstrip('/')}/"
        owned = [(len(prefix), piece.name) for piece in slices.SLICES.values()
                 for prefix in (piece.api_prefix, *(p for p, _ in piece.extra_urlconfs))
                 if candidate.startswith(prefix)]
        if not owned:
            raise LookupError(f"no slice owns {path}")
        return max(owned)[1]

    def make_admin(self, email: str, password: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", "createadmin", "--email", email, "--password-env", "CLUSTER_ADMIN_PW"],
            cwd=ROOT, env={**os.environ, **self.slice_env("accounts"), "CLUSTER_ADMIN_PW": password},
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr

    def stop(self) -> None:
        if self.nginx:
            self.nginx.stop()
        if self.consumers and self.consumers.poll() is None:
            self.consumers.terminate()
            try:
                self.consumers.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.consumers.kill()
        for instances in self.web.values():
            for instance in instances:
                instance.stop(timeout=20)
        client = pymongo.MongoClient(self.mongo_base, serverSelectionTimeoutMS=2000)
        for name in self.databases.values():
            client.drop_database(name)
        client.close()
        redis.Redis.from_url(self.redis_url).flushdb()
        shutil.rmtree(self.mail_dir, ignore_errors=True)
