"""Static checks of the deployment artefacts: compose.yaml, the Dockerfile, .dockerignore, the gunicorn and
nginx configs. Each check is a property an operator relies on (one secret source, no database reachable
from the host, nothing running as root, health-gated start-up)."""
from __future__ import annotations

import ipaddress
import re
import runpy
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.deploy.gateway import ROOT, load_renderer, nginx_binary
from tests.support.servers import require
from tradesignals import slices

SLICES = slices.ALL  # one compose service, one upstream each
APP_SERVICES = (*SLICES, "consumers")
DATABASES = ("mongo", "redis-cache", "redis-security", "kafka")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


# --- compose.yaml -------------------------------------------------------------------------------------

def test_compose_has_every_service(services):
    assert set(services) >= {"mongo", "redis-cache", "redis-security", "nginx", *APP_SERVICES, "kafka"}
    assert services["signals"]["deploy"]["replicas"] == 2
    assert services["consumers"]["command"] == ["python", "manage.py", "run_consumers"]


def test_every_app_service_gets_jwt_secret_from_the_one_source(compose, services):
    sources = compose["secrets"]
    assert sources["jwt_secret"] == {"environment": "JWT_SECRET"}
    assert sources["django_secret_key"] == {"environment": "DJANGO_SECRET_KEY"}
    for name in APP_SERVICES:
        service = services[name]
        env = service["environment"]
        assert "jwt_secret" in service["secrets"] and "django_secret_key" in service["secrets"], name
        assert env["JWT_SECRET_FILE"] == "/run/secrets/jwt_secret", name
        assert env["DJANGO_SECRET_KEY_FILE"] == "/run/secrets/django_secret_key", name
        # No second, literal source that could drift from the shared one.
        assert "JWT_SECRET" not in env and "DJANGO_SECRET_KEY" not in env, name
        assert "env_file" not in service, name


JOBS = {"mongo-init"}  # one-shot start-up jobs: they finish, so no healthcheck and no restart


def test_every_service_has_a_healthcheck(services):
    for name, service in services.items():
        if name in JOBS:
            continue
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), f"{name} has no healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name


def test_no_database_port_is_published_only_the_gateway(services):
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert published == {"nginx": ["8080:8080"]}
    for name in DATABASES:
        assert "ports" not in services[name] and "expose" not in services[name], name


def test_every_service_runs_as_non_root(services, dockerfile):
    for name, service in services.items():
        user = str(service.get("user", ""))
        assert user, f"{name} sets no user"
        uid = user.split(":")[0]
        assert uid.isdigit() and int(uid) != 0, f"{name} runs as {user!r}"
    image_user = [args for keyword, args in dockerfile if keyword == "USER"][-1]
    for name in APP_SERVICES:
        assert services[name]["user"] == image_user, name


def test_start_up_is_gated_on_healthy_dependencies_and_services_restart(services):
    for name, service in services.items():
        assert service.get("restart") == "no" if name in JOBS else service.get("restart") in {"unless-stopped",
                                                                                               "always"}, name
        for dependency, spec in (service.get("depends_on") or {}).items():
            # a job starts once its servers run; everything else waits for healthy dependencies
            assert spec["condition"] == ("service_started" if name in JOBS else "service_healthy"), (name, dependency)
            assert dependency in services, (name, dependency)
    for name in APP_SERVICES:
        assert {"mongo", "redis-cache", "redis-security"} <= set(services[name]["depends_on"]), name
    assert set(services["nginx"]["depends_on"]) == set(SLICES)


def test_slices_run_production_settings_on_redis_with_their_own_database(services):
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "settings.prod", name
        assert env["REDIS_ENABLED"] == "true", name
        assert env["EVENT_BUS"] == "${EVENT_BUS:-redis}", name
    for name in SLICES:
        env = services[name]["environment"]
        assert env["TRADESIGNALS_SLICES"] == name
        uris = {key for key in env if key.startswith("MONGODB_URI")}
        assert uris == {f"MONGODB_URI_{name.upper()}"}, name  # each slice sees only its own database
        assert "replicaSet=rs0" in env[f"MONGODB_URI_{name.upper()}"]
    consumer_env = services["consumers"]["environment"]
    assert consumer_env["TRADESIGNALS_SLICES"] == ",".join(SLICES)  # every app's receivers and outbox relay
    assert {f"MONGODB_URI_{name.upper()}" for name in SLICES} <= set(consumer_env)
    for name in SLICES:  # the consumers write to the same database the slice's own service uses
        key = f"MONGODB_URI_{name.upper()}"
        assert consumer_env[key] == services[name]["environment"][key], name
    databases = [services[name]["environment"][f"MONGODB_URI_{name.upper()}"].split("?")[0] for name in SLICES]
    assert len(set(databases)) == len(SLICES), databases  # no two slices share a database


def test_trusted_proxies_cover_the_gateway_and_nothing_public(compose, services):
    network = ipaddress.ip_network(services["accounts"]["environment"]["TRUSTED_PROXIES"])
    nginx_ip = ipaddress.ip_address(services["nginx"]["networks"]["backend"]["ipv4_address"])
    assert nginx_ip in network and network.is_private
    assert ipaddress.ip_network(compose["networks"]["backend"]["ipam"]["config"][0]["subnet"]) == network
    assert compose["networks"]["backend"]["internal"] is True


def test_datastores_are_configured_for_their_role(services):
    members = ("mongo", "mongo-2", "mongo-3")
    for name in members:  # three members of rs0, each with its own volumes
        assert services[name]["image"].startswith("mongo:7") and "--replSet" in services[name]["command"], name
        assert "rs0" in services[name]["command"], name
    assert len({tuple(services[name]["volumes"]) for name in members}) == 3
    # the first member is healthy only once the set has a primary; the init job makes the three-member set
    assert "db.hello().primary" in " ".join(services["mongo"]["healthcheck"]["test"])
    init = " ".join(services["mongo-init"]["command"])
    assert "rs.initiate" in init and all(f'host: "{name}:27017"' in init for name in members)
    assert set(services["mongo-init"]["depends_on"]) == set(members)
    for name in APP_SERVICES:  # every app lists all three members, so it finds the primary after a failover
        for key, uri in services[name]["environment"].items():
            if key.startswith("MONGODB_URI"):
                assert uri.startswith("mongodb://mongo:27017,mongo-2:27017,mongo-3:27017/"), (name, key)
                assert uri.endswith("?replicaSet=rs0"), (name, key)
    cache = " ".join(services["redis-cache"]["command"])
    assert "--maxmemory-policy allkeys-lru" in cache
    security = " ".join(services["redis-security"]["command"])
    assert "--maxmemory-policy noeviction" in security and "--appendonly yes" in security
    assert services["kafka"]["profiles"] == ["kafka"]
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["kafka"] == {"condition": "service_healthy", "required": False}


def test_images_live_on_one_media_volume_the_gateway_only_reads(compose, services):
    media_root = services["accounts"]["environment"]["MEDIA_ROOT"]
    assert "media" in compose["volumes"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["STORAGE_BACKEND"] == "filesystem", name
        assert env["MEDIA_ROOT"] == media_root, name
        assert env["MEDIA_SERVE"] == "false", name  # nginx serves the files, the workers never do
        assert f"media:{media_root}" in services[name]["volumes"], name
    assert f"media:{media_root}:ro" in services["nginx"]["volumes"]
    text = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    assert f"root {media_root.rsplit('/media', 1)[0]};" in text  # the gateway's root holds MEDIA_ROOT


def test_the_s3_store_is_optional_and_internal(services):
    store = services["seaweedfs"]
    assert store["profiles"] == ["s3"]
    assert store["command"][:2] == ["server", "-s3"]
    assert store["networks"] == ["backend"] and "ports" not in store
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["seaweedfs"] == {"condition": "service_healthy", "required": False}


def test_gateway_serves_stored_images_only_as_images():
    text = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    active = "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))
    block = active[active.index("location /media/images/ {"):]
    block = block[:block.index("location /console")]
    assert re.search(r"types \{\s*image/jpeg jpg;\s*image/png\s+png;\s*image/webp webp;\s*\}", block)
    assert "default_type application/octet-stream;" in block
    assert "add_header X-Content-Type-Options nosniff always;" in block
    assert 'add_header Cache-Control "public, max-age=31536000, immutable";' in block
    assert "try_files $uri =404;" in block and "autoindex on" not in block
    for route in ("/api/v1/trade-signals/images", "/api/v1/users/me/avatar"):
        for path in (route, f"{route}/"):
            location = re.search(rf"location = {re.escape(path)} \{{([^}}]*)\}}", active)
            assert location, path
            assert "client_max_body_size 5184k;" in location.group(1), path


def test_nginx_mounts_the_committed_gateway_config(services):
    mount = services["nginx"]["volumes"][0]
    source, target = mount.split(":")[:2]
    assert target == "/etc/nginx/nginx.conf"
    assert (ROOT / source).resolve() == ROOT / "deploy" / "nginx" / "nginx.conf"
    result = subprocess.run([sys.executable, str(ROOT / "deploy" / "nginx" / "render.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- Dockerfile and .dockerignore -------------------------------------------------------------------

def test_dockerfile_is_multi_stage_slim_non_root_with_a_healthcheck(dockerfile):
    # The base is a build argument (a local base where no registry answers); its default is the official slim image.
    defaults = dict(args.split("=", 1) for keyword, args in dockerfile if keyword == "ARG" and "=" in args)
    assert defaults.get("BASE_IMAGE") == "python:3.11-slim"
    froms = [args for keyword, args in dockerfile if keyword == "FROM"]
    assert len(froms) >= 2
    assert all(args.split()[0] == "${BASE_IMAGE}" for args in froms)
    user = [args for keyword, args in dockerfile if keyword == "USER"][-1]
    assert user.split(":")[0] not in {"root", "0"}
    health = [args for keyword, args in dockerfile if keyword == "HEALTHCHECK"][-1]
    assert '"python", "deploy/healthcheck.py", "/healthz"' in health
    cmd = [args for keyword, args in dockerfile if keyword == "CMD"][-1]
    assert cmd == '["gunicorn", "-c", "deploy/gunicorn.conf.py", "tradesignals.wsgi:application"]'
    runs = " ".join(args for keyword, args in dockerfile if keyword == "RUN")
    assert "collectstatic" in runs and "requirements-dev" not in runs
    copies = " ".join(args for keyword, args in dockerfile if keyword == "COPY")
    assert "requirements.txt" in copies and "requirements-dev" not in copies
    envs = " ".join(args for keyword, args in dockerfile if keyword == "ENV")
    assert "DJANGO_SETTINGS_MODULE=settings.prod" in envs


def _collectstatic_environment() -> dict[str, str]:
    """The variables the Dockerfile's collectstatic step sets on its own command line."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if "collectstatic" in line and line.startswith("RUN"))
    words = line.split()[1:]
    return dict(word.split("=", 1) for word in words[:words.index("python")])


def test_collectstatic_needs_no_secrets(tmp_path):
    """The build step's command, as written in the Dockerfile, runs with no secret in the environment: its only
    key is a placeholder that production refuses."""
    build = _collectstatic_environment()
    assert set(build) == {"DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY"}
    assert build["DJANGO_SETTINGS_MODULE"] == "settings.base"
    refused = subprocess.run([sys.executable, "-c", "import settings.prod"], cwd=ROOT, capture_output=True, text=True,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WEB_CONCURRENCY": "1",
                                  "DJANGO_SECRET_KEY": build["DJANGO_SECRET_KEY"],
                                  "JWT_SECRET": "Xe4Wq9Lm2Np7Ks5Vb8Hr3Tc6Yd1Fj0Gu-prod-like-jwt-secret"}, timeout=60)
    assert refused.returncode != 0 and "DJANGO_SECRET_KEY must be set" in refused.stderr
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **build}
    code = ("import django; from django.conf import settings; django.setup(); "
            "from django.contrib.staticfiles.finders import get_finders; "
            "print(sum(1 for f in get_finders() for _ in f.list([])))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 0


def test_dockerignore_keeps_secrets_state_and_tests_out():
    entries = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".env", ".venv", "var", "tests", ".git", "bench/results"} <= entries


# --- gunicorn -----------------------------------------------------------------------------------------

def test_gunicorn_settings_follow_the_environment(monkeypatch, tmp_path):
    # The config points PROMETHEUS_MULTIPROC_DIR at a new temp dir when it is unset; set it here so the
    # variable does not leak into this test process (in-process /metrics would read an empty directory).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    monkeypatch.setenv("TRUSTED_PROXIES", "172.28.0.0/24")
    monkeypatch.setenv("GUNICORN_DRAIN_SECONDS", "5")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "30")
    monkeypatch.delenv("GUNICORN_GRACEFUL_TIMEOUT", raising=False)
    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert (conf["workers"], conf["threads"]) == (3, 4)
    assert conf["forwarded_allow_ips"] == "172.28.0.0/24"
    assert conf["graceful_timeout"] >= conf["drain_seconds"] + conf["timeout"]
    assert conf["max_requests"] > 0 and 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["worker_tmp_dir"] == "/dev/shm"
    assert conf["accesslog"] is None  # the app's JSON access line is the one per request


# --- nginx --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rendered_gateway():
    render = load_renderer()
    runtime = Path(tempfile.mkdtemp(prefix="ts-nginx-"))
    runtime.chmod(0o755)
    conf = runtime / "nginx.conf"
    conf.write_text(render.render(upstreams={name: ["127.0.0.1:9", "127.0.0.1:10"] for name in SLICES},
                                  listen="127.0.0.1:9", runtime_dir=runtime))
    yield conf
    subprocess.run(["rm", "-rf", str(runtime)], check=False)


def test_rendered_gateway_config_passes_nginx_t(rendered_gateway):
    binary = nginx_binary()
    require(binary is not None, "nginx is not installed (apt-get install nginx)")
    runtime = rendered_gateway.parent
    result = subprocess.run(shlex.split(f"{binary} -t -c {rendered_gateway} -p {runtime} -e {runtime}/error.log"),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_gateway_config_has_the_safety_settings():
    text = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    active = "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))
    assert "client_max_body_size 64k;" in active
    retry = re.search(r"proxy_next_upstream ([^;]+);", active).group(1)
    assert "non_idempotent" not in retry and "error" in retry
    assert re.search(r"gzip_types[^;]*application/json", active)
    assert "proxy_set_header X-Request-ID $ts_request_id;" in active
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in active
    assert "X-Upstream" not in active  # a debugging header only tests render
    for slice_name in SLICES:
        assert f"upstream {slice_name} {{" in active
        assert f"server {slice_name}:8000" in active
    assert "listen 443 ssl" in text and "listen 443 ssl" not in active  # the TLS block is there, commented


def _locations(active: str) -> dict[str, str]:
    """Each prefix location of the server block: its path and the upstream its own proxy_pass names."""
    return {match.group(1): match.group(2)
            for match in re.finditer(r"location (/[^\s{]*) \{\s*(?:[^{}]*?\s)?proxy_pass http://(\w+);", active)}


def test_gateway_routes_every_prefix_of_every_slice_to_its_upstream():
    """Every slice of the registry has its upstream in the committed config and every URL prefix it mounts
    (its API, and pages outside /api/ such as /auth/ or /console/discussions/) is routed there."""
    assert load_renderer().SLICES == slices.ALL  # the renderer keeps its own copy (it runs without Django)
    text = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    active = "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))
    locations = _locations(active)
    any_block = re.search(r"upstream any \{([^}]*)\}", active).group(1)
    for piece in slices.SLICES.values():
        assert f"server {piece.name}:8000" in any_block, piece.name
        for prefix in (piece.api_prefix, *(extra for extra, _urlconf in piece.extra_urlconfs)):
            routed = locations.get(f"/{prefix}") or locations.get(f"/{prefix.rstrip('/')}")
            assert routed == piece.name, (piece.name, prefix, routed)
    # The discussions pages are a longer prefix inside the signals console: nginx picks the longest match.
    assert locations["/console"] == "signals" and locations["/console/discussions"] == "discussions"

