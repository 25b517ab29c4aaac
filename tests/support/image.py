"""Build the real Dockerfile with buildah and boot it with podman, without a container engine or a registry.

The base image (``BASE_IMAGE``) is made locally: ``debootstrap --variant=minbase`` of Debian bookworm with the
shared libraries CPython needs, and a self-built CPython 3.11 copied to ``/usr/local`` (see ``python_prefix``), as
the official ``python:3.11-slim`` is laid out. The machine's CA bundle and ``/etc/pip.conf``
pointing at it are part of that base, so the Dockerfile's own ``pip install`` reaches PyPI through an
intercepting proxy; the Dockerfile itself is built unchanged.

Caching: everything lives under ``TS_IMAGE_CACHE`` (default ``${XDG_CACHE_HOME:-~/.cache}/tradesignals-image``),
in one directory per hash of Dockerfile + requirements.txt + ``BASE_RECIPE``. Inside it: the base tarball, and a
containers-storage (vfs driver) holding the base and buildah's layer cache (``--layers``), so a second run
rebuilds nothing unless the build context changed (then only the steps from ``COPY . .`` on). Directories of
older hashes are removed when a new one is made. Delete the cache directory to start cold.

Storage is ``vfs`` and isolation ``chroot`` (no overlay, no user namespaces needed); the runtime is runc with
cgroupfs, because crun cannot set rlimits on these machines.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("buildah", "podman", "runc", "debootstrap")
SUITE = "bookworm"
MIRROR = os.environ.get("TS_IMAGE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_TAG = "localhost/tradesignals-base:python3.11-bookworm"
IMAGE_TAG = "localhost/tradesignals:test"
OFFICIAL_BASE = "docker.io/library/python:3.11-slim"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Part of the cache key with the Dockerfile and requirements.txt: change it whenever make_base() changes.
BASE_RECIPE = f"debootstrap-minbase-{SUITE}-cpython-usr-local-ca-pipconf-2"
# What the official python:3.11-slim adds to Debian (its own CPython's shared-library needs, plus netbase, tzdata).
BASE_PACKAGES = ("ca-certificates", "netbase", "tzdata", "libssl3", "libffi8", "libsqlite3-0", "libbz2-1.0",
                 "liblzma5", "zlib1g", "libncursesw6", "libreadline8", "libuuid1", "libexpat1", "libnsl2",
                 "libtirpc3", "libcrypt1")


def python_prefix() -> Path:
    """A CPython 3.11 built into its own prefix (pyenv, python-build-standalone, a source build) — the official
    image's Python, not Debian's: Debian's 3.11.2 is older than 3.11.3, where redis declares an extra dependency
    (async-timeout) that the hashed requirements.txt does not pin, so pip refuses the Dockerfile's install.
    TS_IMAGE_PYTHON_PREFIX overrides; the default is the prefix of the Python running the tests."""
    prefix = Path(os.environ.get("TS_IMAGE_PYTHON_PREFIX") or sys.base_prefix)
    if prefix in (Path("/usr"), Path("/")) or not (prefix / "bin/python3.11").exists():
        raise AssertionError(f"{prefix} is not a self-contained CPython 3.11 prefix; set TS_IMAGE_PYTHON_PREFIX")
    return prefix


def _not_in_the_base(directory: str, names: list[str]) -> set[str]:
    skip = {"__pycache__"}
    if directory.endswith("/lib/python3.11"):
        skip |= {"test", "idlelib", "tkinter", "turtledemo"}
    if directory.endswith("/bin"):
        skip |= {name for name in names if not name.startswith("python")}  # other tools' entry points
    if directory.endswith("/lib/python3.11/site-packages"):
        skip |= set(names)
    return skip & set(names)


def missing_tools() -> list[str]:
    """Programs (Debian packages of the same name) this needs and the machine lacks."""
    return [tool for tool in TOOLS if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists()]


def cache_key() -> str:
    digest = hashlib.sha256()
    digest.update(BASE_RECIPE.encode() + b"\0")
    for path in (ROOT / "Dockerfile", ROOT / "requirements.txt"):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    configured = os.environ.get("TS_IMAGE_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tradesignals-image"


class ImageBuild:
    """One cache directory: storage/containers configuration, the base image, and the built image."""

    def __init__(self, root: Path | None = None):
        self.root = (root or cache_root()) / cache_key()
        self.storage = self.root / "storage"
        self.run_root = self.root / "run"
        self.env = dict(os.environ)
        self.env.update(
            CONTAINERS_STORAGE_CONF=str(self.root / "storage.conf"),
            CONTAINERS_CONF=str(self.root / "containers.conf"),
            BUILDAH_ISOLATION="chroot",
        )

    # --- plumbing ---------------------------------------------------------------------------------------

    def run(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout[-4000:]}\n"
                                 f"{result.stderr[-4000:]}")
        return result

    @contextlib.contextmanager
    def locked(self):
        """One build per cache directory at a time (parallel test processes share it)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def configure(self) -> None:
        for old in self.root.parent.iterdir():
            if old.is_dir() and old != self.root:
                if (old / "rootfs").exists():
                    self.remove_rootfs(old / "rootfs")
                shutil.rmtree(old, ignore_errors=True)
        (self.root / "storage.conf").write_text(
            "[storage]\n"
            'driver = "vfs"\n'
            f'graphroot = "{self.storage}"\n'
            f'runroot = "{self.run_root}"\n'
        )
        (self.root / "containers.conf").write_text(
            "[containers]\n"
            'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
            "[engine]\n"
            'runtime = "runc"\n'
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f'tmp_dir = "{self.run_root / "libpod"}"\n'
        )

    def remove_rootfs(self, rootfs: Path) -> None:
        """Unmount what debootstrap mounted inside (proc, sys, a /dev bind) before deleting: never recurse into
        a mount of the host's."""
        prefix = str(rootfs.resolve()) + "/"
        for _ in range(3):
            with open("/proc/mounts") as mounts:
                inside = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
            if not inside:
                shutil.rmtree(rootfs, ignore_errors=True)
                return
            for point in sorted(inside, key=len, reverse=True):
                subprocess.run(["umount", "-l", point], capture_output=True)
        raise AssertionError(f"still mounted under {rootfs}; not deleting it")

    def has_image(self, tag: str) -> bool:
        return self.run("podman", "image", "exists", tag, check=False).returncode == 0

    # --- the base ---------------------------------------------------------------------------------------

    def make_base(self) -> None:
        """debootstrap → CPython at /usr/local → CA bundle + pip.conf → ``podman import``."""
        if self.has_image(BASE_TAG) and self.has_image(OFFICIAL_BASE):
            return
        rootfs = self.root / "rootfs"
        self.remove_rootfs(rootfs)
        self.run("debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
                 SUITE, str(rootfs), MIRROR, timeout=1800)
        # The official image's layout: CPython built from source under /usr/local, nothing in site-packages.
        shutil.rmtree(rootfs / "usr/local")
        shutil.copytree(python_prefix(), rootfs / "usr/local", symlinks=True, ignore=_not_in_the_base)
        (rootfs / "usr/local/lib/python3.11/site-packages").mkdir(exist_ok=True)
        if not (rootfs / "usr/local/bin/python").exists():
            (rootfs / "usr/local/bin/python").symlink_to("python3.11")
        self.run("chroot", str(rootfs), "/sbin/ldconfig")
        self.run("chroot", str(rootfs), "/usr/local/bin/python", "-c", "import ssl, sqlite3, ctypes, venv")
        shutil.copyfile(CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
        (rootfs / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (rootfs / cache).glob("*"):
                if entry.is_file():
                    entry.unlink()
        tarball = self.root / "base.tar"
        self.run("tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), ".")
        self.remove_rootfs(rootfs)
        self.run("podman", "import", "--change", 'CMD ["python3"]', str(tarball), BASE_TAG)
        tarball.unlink()
        # Also under the official name, in this private storage only: a Dockerfile naming python:3.11-slim
        # literally resolves to it with --pull=never (short names are looked up under docker.io/library/).
        self.run("podman", "tag", BASE_TAG, OFFICIAL_BASE)

    # --- the image --------------------------------------------------------------------------------------

    def build(self) -> str:
        """The repository's Dockerfile, unchanged, on the local base (``--build-arg BASE_IMAGE``, and the base is
        tagged as the official name for a FROM that names it); buildah's layer cache makes reruns quick."""
        with self.locked():
            self.configure()
            self.make_base()
            self.run("buildah", "bud", "--isolation", "chroot", "--pull=never", "--layers",
                     "--build-arg", f"BASE_IMAGE={BASE_TAG}", "-f", str(ROOT / "Dockerfile"),
                     "-t", IMAGE_TAG, str(ROOT), timeout=1800)
        return IMAGE_TAG

    def inspect(self, tag: str) -> dict:
        import json

        return json.loads(self.run("podman", "image", "inspect", tag).stdout)[0]

    def start(self, tag: str, name: str, env: dict[str, str]) -> None:
        """The image's own CMD, on the host network (the test servers listen on loopback)."""
        args = ["podman", "run", "-d", "--name", name, "--network", "host", "--read-only",
                "--tmpfs", "/tmp"]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        self.run(*args, tag)

    def logs(self, name: str) -> str:
        result = self.run("podman", "logs", name, check=False)
        return result.stdout + result.stderr

    def remove(self, name: str) -> None:
        self.run("podman", "rm", "-f", "-t", "10", name, check=False)
