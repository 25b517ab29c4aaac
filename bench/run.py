"""`make bench`: measure the product under load and print one table of ratios to a bare Django view.

Starts its own embedded MongoDB-compatible server (or uses MONGODB_URI's server, in a database of its own),
gunicorn with production settings (2 sync workers, Redis on), seeds two accounts through the API and
BENCH_SIGNALS signals, then drives each scenario with wrk pinned to its own core. Per scenario it reports
requests/s, p50/p99, non-2xx responses by status, socket errors, peak RSS per worker (VmHWM, reset before
the scenario) and the CPU the workers, the database and (through nginx) the gateway spent per request. The
cached reads run twice: straight to gunicorn, and through the repository's own nginx gateway (bench/gateway.py)
with a baseline of their own, so every gateway ratio compares like with like. Results go to
bench/results/<timestamp>.json with machine facts. ``--scaling`` compares list p50 at 1 000 and 100 000
signals in a fresh database.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from gateway import UPSTREAM_KEEPALIVE, Gateway  # noqa: E402 (bench/ is not a package)

BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
DB_NAME = "tradesignals_bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")

BASELINE = "baseline (bare Django JsonResponse)"
# Ratios to the baseline measured in the same run, through the same path. Straight to gunicorn (these supersede
# issue 10's 0.50 and 0.40: the same ratios, higher):
TARGETS = {"public feed (cached)": 0.75, "own list, JWT (cached)": 0.65}
# Through nginx: ahead of the previous gateway's ratios (its own nginx baseline) by GATEWAY_GAIN.
PREDECESSOR_GATEWAY = {"public feed (cached)": 0.40, "own list, JWT (cached)": 0.29}
GATEWAY_GAIN = 1.5
# The public feed through nginx against the bare view straight to gunicorn: only an edge cache gets there.
EDGE_GAIN = 3.0
READ_SCENARIOS = ("/healthz", "public feed (cached)", "own list, JWT (cached)", "detail, JWT (cached)",
                  "own list, JWT (uncached)")
GATEWAY_SCENARIOS = (BASELINE, "public feed (cached)", "own list, JWT (cached)", "detail, JWT (cached)")
RSS_LIMIT_MB = 150
SCALING_LIMIT = 1.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def with_database(uri: str, name: str) -> str:
    """``uri`` pointing at database ``name`` (the bench never writes into a database it did not name)."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def drop_database(uri: str) -> None:
    import pymongo

    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(urlsplit(uri).path.lstrip("/"))
    finally:
        client.close()


class Stack:
    """The servers under test; every one is stopped on exit."""

    def __init__(self, workdir: Path, workers: int):
        self.workdir = workdir
        self.workers = workers
        self.procs: list[subprocess.Popen] = []
        self.env = dict(os.environ)
        self.mongo: subprocess.Popen | None = None

    def start(self) -> str:
        base = self.env.get("MONGODB_URI")
        if not base:
            port = free_port()
            self.mongo = subprocess.Popen(
                [str(BIN / "secantusd-py"), "--host", "127.0.0.1", "--port", str(port),
                 "--storage-path", str(self.workdir / "mongo"), "--log-level", "WARNING"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.procs.append(self.mongo)
            base = f"mongodb://127.0.0.1:{port}/"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.1)
        self.env.update({
            "MONGODB_URI": with_database(base, DB_NAME),
            "DJANGO_SETTINGS_MODULE": "settings.prod",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "JWT_SECRET": secrets.token_urlsafe(48),
            "REDIS_ENABLED": "true",
            "REDIS_URL": self.env.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
            "BENCH_MODE": "true",
            # Per-client budgets would turn a load generator's traffic into 429s; they are measured elsewhere.
            "RATELIMIT_ENABLE": "false",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_THREADS": "1",
            # Steady state: no worker recycling in the middle of a 10 s measurement (see docs/performance.md).
            "GUNICORN_MAX_REQUESTS": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "MEDIA_ROOT": str(self.workdir / "media"),
        })
        drop_database(self.env["MONGODB_URI"])
        flush_cache(self.env)
        self.web, url = self.start_web("cached", {})
        return url

    def start_web(self, name: str, extra_env: dict, workers: int | None = None):
        """A gunicorn instance of the product (2 sync workers by default) on a free port."""
        port = free_port()
        env = {**self.env, **extra_env, "WEB_CONCURRENCY": str(workers or self.workers)}
        web = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{port}", "tradesignals.wsgi:application"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / f"gunicorn-{name}.log", "ab"))  # noqa: SIM115
        self.procs.append(web)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz")
        return web, url

    def stop_web(self, web: subprocess.Popen) -> None:
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)

    def worker_pids(self, web: subprocess.Popen | None = None) -> list[int]:
        web = web or self.web
        out = subprocess.run(["pgrep", "-P", str(web.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- per-process measurements ------------------------------------------------------------------------------

def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM over from the current RSS (Linux ≥ 4.0), so each scenario reports its own peak."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK_TCK


# --- seeding ---------------------------------------------------------------------------------------------

def register(url: str, email: str, password: str) -> dict:
    response = requests.post(f"{url}/api/v1/auth/register",
                             json={"email": email, "password": password, "display_name": email.split("@")[0]},
                             timeout=30)
    response.raise_for_status()
    return response.json()


def make_admin(env: dict, email: str, password: str) -> None:
    subprocess.run([str(BIN / "python"), "manage.py", "createadmin", "--email", email, "--password-env",
                    "BENCH_ADMIN_PASSWORD"], cwd=ROOT, env={**env, "BENCH_ADMIN_PASSWORD": password},
                   check=True, capture_output=True)


def login(url: str, email: str, password: str) -> dict:
    response = requests.post(f"{url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
    response.raise_for_status()
    return response.json()


def bulk_seed(env: dict, owner_id: str, count: int) -> None:
    """Load ``count`` signals for ``owner_id`` directly (half approved); see bench/seed.py."""
    started = time.monotonic()
    subprocess.run([str(BIN / "python"), str(ROOT / "bench" / "seed.py"), "--owner-id", owner_id,
                    "--count", str(count)], cwd=ROOT, env=env, check=True, capture_output=True)
    print(f"seeded {count} signals in {time.monotonic() - started:.1f}s", flush=True)


def flush_cache(env: dict) -> None:
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()


def seed(url: str, env: dict, n_signals: int) -> dict:
    """Two accounts through the API (one made admin by the management command), then the signals."""
    password = "bench-" + secrets.token_urlsafe(12)
    trader = register(url, "trader@bench.example", password)
    register(url, "admin@bench.example", password)
    make_admin(env, "admin@bench.example", password)
    admin = login(url, "admin@bench.example", password)
    bulk_seed(env, trader["user"]["id"], n_signals)
    return {"trader": trader, "admin": admin, "password": password}


def first_signal_id(url: str, bearer: dict) -> str:
    response = requests.get(f"{url}/api/v1/trade-signals/?limit=1", headers=bearer, timeout=30)
    response.raise_for_status()
    return response.json()["results"][0]["id"]


# --- load -------------------------------------------------------------------------------------------------

LUA_HEADERS = """
wrk.method = "{method}"
{headers}
{body}
"""

# Count responses per status in every wrk thread and print the sum once, so a non-2xx has a name.
LUA_STATUSES = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
statuses = {}
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do total[code] = (total[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(total) do table.insert(parts, string.format('"%d": %d', code, n)) end
  io.write("STATUSES {" .. table.concat(parts, ", ") .. "}\\n")
end
"""

LUA_CREATE = """
counter = 0
request = function()
  counter = counter + 1
  local entry = 100 + (counter % 500)
  local body = string.format('{"symbol":"BENCH","direction":"long","entry_price":"%d.5","stop_loss":"%d",' ..
    '"take_profit":"%d","timeframe":"1h","rationale":"load %d"}', entry, entry - 5, entry + 10, counter)
  return wrk.format("POST", nil, nil, body)
end
"""


def lua_script(workdir: Path, name: str, method: str = "GET", headers: dict | None = None,
               body: str | None = None, extra: str = "") -> Path:
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items())
    body_line = f"wrk.body = {json.dumps(body)}" if body else ""
    path = workdir / f"{name}.lua"
    path.write_text(LUA_HEADERS.format(method=method, headers=lines, body=body_line) + LUA_STATUSES + extra)
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", value)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def run_wrk(url: str, script: Path, duration: int, connections: int) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency", "-s", str(script),
           url]
    if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1:
        cmd = ["taskset", "-c", str(os.cpu_count() - 1), *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    rps_line, total_line = re.search(r"Requests/sec:\s+([\d.]+)", out), re.search(r"(\d+) requests in", out)
    if rps_line is None or total_line is None:
        raise SystemExit(f"wrk failed on {url}:\n{out}")
    rps, total = float(rps_line.group(1)), int(total_line.group(1))
    # the "Latency Distribution" lines ("     50%   12.31ms"), not a "+/- Stdev" column that ends in "50%"
    p50, p99 = (_ms(found.group(1)) if (found := re.search(rf"^\s+{q}%\s+(\S+)$", out, re.MULTILINE)) else
                float("nan") for q in (50, 99))  # nan: no request completed within wrk's timeout
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(x) for x in errors.groups()) if errors else 0
    statuses_line = re.search(r"STATUSES (\{.*\})", out)
    statuses = {int(k): v for k, v in json.loads(statuses_line.group(1)).items()} if statuses_line else {}
    non2xx = {code: n for code, n in sorted(statuses.items()) if not 200 <= code < 300}
    return {"rps": rps, "requests": total, "p50_ms": p50, "p99_ms": p99, "non_2xx": sum(non2xx.values()),
            "non_2xx_by_status": non2xx, "socket_errors": socket_errors}


def machine_facts() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    from importlib.metadata import version

    import django
    import rest_framework

    redis_version = subprocess.run(["redis-cli", "INFO", "server"], capture_output=True, text=True).stdout
    match = re.search(r"redis_version:(\S+)", redis_version)
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "django": django.get_version(), "drf": rest_framework.VERSION, "gunicorn": version("gunicorn"),
            "secantusdb": version("secantusdb"), "pymongo": version("pymongo"),
            "redis_server": match.group(1) if match else None, "platform": platform.platform(),
            "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0].strip(),
            "nginx": _nginx_version()}


def _nginx_version() -> str | None:
    from gateway import nginx_binary

    binary = nginx_binary()
    return subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip() if binary else None


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("installing wrk (Debian package)…", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


def timed_wrk(stack: Stack, web: subprocess.Popen, url: str, script: Path, duration: int, connections: int,
              gateway: Gateway | None = None) -> dict:
    """One wrk run after a short warm-up, with the CPU the workers, the database and the gateway (when the
    requests go through one) spent per request."""
    run_wrk(url, script, 2, min(connections, 8))  # warm caches and pools
    workers = stack.worker_pids(web)
    for pid in workers:
        reset_peak_rss(pid)
    db = [stack.mongo.pid] if stack.mongo is not None else []
    gw = gateway.pids() if gateway is not None else []
    cpu_before, db_before, gw_before = cpu_seconds(workers), cpu_seconds(db), cpu_seconds(gw)
    result = run_wrk(url, script, duration, connections)
    cpu_after, db_after, gw_after = cpu_seconds(workers), cpu_seconds(db), cpu_seconds(gw)
    requests_done = max(result["requests"], 1)
    result.update({
        "peak_rss_mb": {pid: round(peak_rss_mb(pid), 1) for pid in workers},
        "worker_cpu_ms_per_request": round((cpu_after - cpu_before) * 1000 / requests_done, 3),
        "db_cpu_ms_per_request": round((db_after - db_before) * 1000 / requests_done, 3) if db else None,
        "gateway_cpu_ms_per_request": round((gw_after - gw_before) * 1000 / requests_done, 3) if gw else None,
    })
    return result


def measure(stack: Stack, web: subprocess.Popen, url: str, scenario: dict, args,
            gateway: Gateway | None = None) -> dict:
    connections = scenario.get("connections", args.connections)
    result = timed_wrk(stack, web, url + scenario["path"], scenario["script"], args.duration, connections,
                       gateway)
    via = "nginx" if gateway is not None else "direct"
    result.update({"scenario": scenario["name"], "via": via, "path": scenario["path"], "connections": connections})
    print(f"  {scenario['name']} ({via}): {result['rps']:.0f} req/s, "
          f"non-2xx {result['non_2xx_by_status'] or 0}", flush=True)
    return result


def scaling(stack: Stack, workdir: Path, args) -> list[dict]:
    """p50 of the own list and the public feed, cached and uncached, at 1 000 and at 100 000 signals.

    Runs in a fresh database, so "1 000 signals" is every signal there is (the public feed included).
    """
    stack.stop_web(stack.web)
    env = {**stack.env, "MONGODB_URI": with_database(stack.env["MONGODB_URI"], DB_NAME + "_scaling")}
    drop_database(env["MONGODB_URI"])
    flush_cache(env)
    saved, stack.env = stack.env, env
    try:
        stack.web, url = stack.start_web("scale-seed", {})
        trader = register(url, "scale@bench.example", "bench-" + secrets.token_urlsafe(12))
        stack.stop_web(stack.web)
        bearer = {"Authorization": f"Bearer {trader['access']}"}
        lists = [("own list", "/api/v1/trade-signals/", lua_script(workdir, "scale_own", headers=bearer)),
                 ("public feed", "/api/v1/trade-signals/public", lua_script(workdir, "scale_public"))]
        rows, seeded = [], 0
        for size in (1_000, 100_000):
            bulk_seed(env, trader["user"]["id"], size - seeded)
            seeded = size
            for mode, extra in (("cached", {}), ("uncached", {"CACHE_BACKEND": "null"})):
                flush_cache(env)
                web, target = stack.start_web(f"scale-{mode}", extra)
                for name, path, script in lists:
                    result = timed_wrk(stack, web, target + path, script, args.duration, args.scaling_connections)
                    rows.append({"signals": size, "mode": mode, "read": name, **{
                        key: result[key] for key in ("p50_ms", "p99_ms", "rps", "non_2xx",
                                                     "worker_cpu_ms_per_request", "db_cpu_ms_per_request")}})
                    db = result["db_cpu_ms_per_request"]
                    print(f"  {size} signals, {name} ({mode}): p50 {result['p50_ms']:.2f} ms, "
                          f"{result['rps']:.0f} req/s, CPU/request: workers {result['worker_cpu_ms_per_request']:.2f}"
                          f" ms, database {'-' if db is None else f'{db:.2f} ms'}", flush=True)
                stack.stop_web(web)
        return rows
    finally:
        stack.env = saved
        drop_database(env["MONGODB_URI"])


UPLOAD_CPU_LIMIT_S = 1.0  # worker CPU per 5 MiB JPEG upload (issue target)


def uploads(stack: Stack, url: str, bearer: dict, count: int = 6) -> dict:
    """Worker CPU per chart upload of a ~5 MiB, 4000x3000 JPEG through gunicorn (multipart parse, decode,
    re-encode, thumbnail, two file writes, the record), sequential so the CPU belongs to the uploads alone."""
    sys.path.insert(0, str(ROOT))
    from tests.support.images import jpeg_of_size

    data = jpeg_of_size(5 * 1024 * 1024 - 64 * 1024)
    target = f"{url}/api/v1/trade-signals/images"

    def send() -> int:
        files = {"image": ("chart.jpg", data, "image/jpeg")}
        return requests.post(target, files=files, headers=bearer, timeout=60).status_code

    send()  # warm: the worker's first decode loads the codecs
    workers = stack.worker_pids()
    db = [stack.mongo.pid] if stack.mongo is not None else []
    cpu_before, db_before, wall = cpu_seconds(workers), cpu_seconds(db), time.monotonic()
    statuses = [send() for _ in range(count)]
    cpu = (cpu_seconds(workers) - cpu_before) / count
    row = {"uploads": count, "bytes": len(data), "statuses": sorted(set(statuses)),
           "worker_cpu_s_per_upload": round(cpu, 3),
           "db_cpu_s_per_upload": round((cpu_seconds(db) - db_before) / count, 4) if db else None,
           "wall_s_per_upload": round((time.monotonic() - wall) / count, 3)}
    print(f"  chart upload (5 MiB JPEG): {row['worker_cpu_s_per_upload']:.3f} s worker CPU per upload, "
          f"statuses {row['statuses']}", flush=True)
    return row


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_pair(row: dict) -> str:
    """``worker+database`` CPU milliseconds per request of a scaling row."""
    db = row.get("db_cpu_ms_per_request")
    return f"{row['worker_cpu_ms_per_request']:.2f}+{'-' if db is None else f'{db:.2f}'}"


def report(rows: list[dict], scale_rows: list[dict], args, upload: dict | None = None) -> list[str]:
    """The table, then the uncached own list's CPU figures, then one line per target (met / missed).

    Each row's ratio is to the baseline of its own path (``via``): a row through nginx against the bare view
    through nginx, a direct row against the bare view direct.
    """
    baselines = {row["via"]: row["rps"] or 1.0 for row in rows if row["scenario"] == BASELINE}
    for row in rows:
        row["ratio_to_baseline"] = round(row["rps"] / baselines[row["via"]], 3)
    header = (f"{'scenario':36} {'via':6} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
              f"{'RSS MB':>7} {'cpu ms':>7} {'db ms':>6} {'gw ms':>6} {'ratio':>6}")
    lines = [header, "-" * len(header)]

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for row in rows:
        rss = max(row["peak_rss_mb"].values(), default=0.0)
        lines.append(f"{row['scenario']:36} {row['via']:6} {row['connections']:5d} {row['rps']:8.0f} "
                     f"{row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {row['non_2xx'] + row['socket_errors']:7d} "
                     f"{rss:7.1f} {row['worker_cpu_ms_per_request']:7.2f} {cell(row['db_cpu_ms_per_request']):>6} "
                     f"{cell(row.get('gateway_cpu_ms_per_request')):>6} {row['ratio_to_baseline']:6.2f}")
    for row in rows:
        if row["non_2xx_by_status"] or row["socket_errors"]:
            lines.append(f"  {row['scenario']} ({row['via']}): non-2xx by status {row['non_2xx_by_status']}, "
                         f"socket errors {row['socket_errors']}")
    lines.append("(via nginx = through the repository's gateway config, deploy/nginx; errors = non-2xx + socket "
                 "errors; RSS = peak per worker during the scenario; cpu/db/gw ms = CPU of the gunicorn workers / "
                 "of the database / of nginx per request; ratio = req/s over the baseline of the same via)")
    by_name = {(row["via"], row["scenario"]): row for row in rows}
    uncached = by_name[("direct", "own list, JWT (uncached)")]
    lines.append(f"own list, JWT (uncached), CPU per request: workers (ours) "
                 f"{uncached['worker_cpu_ms_per_request']:.2f} ms, database server "
                 f"{cell(uncached['db_cpu_ms_per_request'])} ms")
    checks = []
    for name, minimum in TARGETS.items():
        ratio = by_name[("direct", name)]["ratio_to_baseline"]
        checks.append((f"direct: {name} ≥ {minimum:.2f} of the direct baseline", ratio >= minimum, f"{ratio:.2f}"))
    if ("nginx", BASELINE) in by_name:
        for name, before in PREDECESSOR_GATEWAY.items():
            minimum = round(before * GATEWAY_GAIN, 3)
            ratio = by_name[("nginx", name)]["ratio_to_baseline"]
            checks.append((f"nginx: {name} ≥ {minimum:.3g} of the nginx baseline ({GATEWAY_GAIN}x the previous "
                           f"{before:.2f})", ratio >= minimum, f"{ratio:.2f}"))
        edge = by_name[("nginx", "public feed (cached)")]["rps"] / (baselines["direct"] or 1.0)
        checks.append((f"nginx: public feed (cached) ≥ {EDGE_GAIN:.0f}x the bare view direct (an edge cache)",
                       edge >= EDGE_GAIN, f"{edge:.2f}x"))
    read_rows = [key for key in by_name if key[1] in READ_SCENARIOS]
    bad = {f"{name} ({via})": by_name[(via, name)]["non_2xx"] + by_name[(via, name)]["socket_errors"]
           for via, name in read_rows}
    checks.append((f"zero non-2xx in read scenarios at {args.connections} connections", not any(bad.values()),
                   ", ".join(f"{k}: {v}" for k, v in bad.items() if v) or "0"))
    peak = max(v for row in rows for v in row["peak_rss_mb"].values())
    checks.append((f"peak RSS per worker ≤ {RSS_LIMIT_MB} MB ({args.signals} signals)", peak <= RSS_LIMIT_MB,
                   f"{peak:.1f} MB"))
    if scale_rows:
        lines += ["", f"{'read':14} {'mode':9} {'p50 @1k ms':>11} {'p50 @100k ms':>13} {'ratio':>6} "
                      f"{'cpu+db ms @1k':>14} {'cpu+db ms @100k':>16}"]
        for read in ("own list", "public feed"):
            for mode in ("cached", "uncached"):
                small = next(r for r in scale_rows if (r["read"], r["mode"], r["signals"]) == (read, mode, 1_000))
                big = next(r for r in scale_rows if (r["read"], r["mode"], r["signals"]) == (read, mode, 100_000))
                ratio = big["p50_ms"] / max(small["p50_ms"], 0.001)
                lines.append(f"{read:14} {mode:9} {small['p50_ms']:11.2f} {big['p50_ms']:13.2f} {ratio:6.2f} "
                             f"{_cpu_pair(small):>14} {_cpu_pair(big):>16}")
                checks.append((f"{read} ({mode}) p50 @100k within {SCALING_LIMIT}x of @1k", ratio <= SCALING_LIMIT,
                               f"{ratio:.2f}x"))
    if upload:
        baseline_cpu = by_name[("direct", BASELINE)]["worker_cpu_ms_per_request"] or 0.001
        lines += ["", f"chart upload, {upload['bytes'] / 1048576:.1f} MiB JPEG through gunicorn: "
                      f"{upload['worker_cpu_s_per_upload']:.3f} s worker CPU per upload "
                      f"(= {upload['worker_cpu_s_per_upload'] * 1000 / baseline_cpu:.0f} bare-view requests), "
                      f"statuses {upload['statuses']}"]
        checks.append((f"a 5 MiB JPEG upload ≤ {UPLOAD_CPU_LIMIT_S:.1f} s of worker CPU",
                       upload["worker_cpu_s_per_upload"] <= UPLOAD_CPU_LIMIT_S and upload["statuses"] == [201],
                       f"{upload['worker_cpu_s_per_upload']:.3f} s"))
    lines.append("")
    for text, ok, value in checks:
        lines.append(f"{'met   ' if ok else 'MISSED'} {text}: {value}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signals", type=int, default=int(os.environ.get("BENCH_SIGNALS", "10000")))
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "64")))
    parser.add_argument("--write-connections", type=int, default=8,
                        help="concurrency of the write scenarios (create, login): each costs CPU, not I/O")
    parser.add_argument("--scaling-connections", type=int, default=8,
                        help="concurrency of the --scaling runs (p50 there is per-request cost, not queueing)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scaling", action="store_true", default=os.environ.get("BENCH_SCALING") == "1",
                        help="also compare list p50 at 1 000 and 100 000 signals (slow)")
    parser.add_argument("--no-gateway", action="store_true",
                        help="skip the scenarios through nginx (deploy/nginx config, bench/gateway.py)")
    args = parser.parse_args()
    ensure_wrk()

    workdir = Path(tempfile.mkdtemp(prefix="ts-bench-"))
    stack = Stack(workdir, args.workers)
    scale_rows: list[dict] = []
    upload: dict | None = None
    gateway: Gateway | None = None
    gateway_facts: dict | None = None
    load_before = load_average()
    started = time.monotonic()
    try:
        url = stack.start()
        data = seed(url, stack.env, args.signals)
        bearer = {"Authorization": f"Bearer {data['trader']['access']}"}
        detail_id = first_signal_id(url, bearer)
        scenarios = [
            {"name": BASELINE, "path": "/bench/baseline",
             "script": lua_script(workdir, "plain")},
            {"name": "/healthz", "path": "/healthz", "script": lua_script(workdir, "healthz")},
            {"name": "public feed (cached)", "path": "/api/v1/trade-signals/public",
             "script": lua_script(workdir, "public")},
            {"name": "own list, JWT (cached)", "path": "/api/v1/trade-signals/",
             "script": lua_script(workdir, "own", headers=bearer)},
            {"name": "detail, JWT (cached)", "path": f"/api/v1/trade-signals/{detail_id}",
             "script": lua_script(workdir, "detail", headers=bearer)},
        ]
        if not args.no_gateway:
            # The same instance and data behind nginx; the same scripts, so the gateway is the only difference.
            by_name = {scenario["name"]: scenario for scenario in scenarios}
            scenarios += [{**by_name[name], "via": "nginx"} for name in GATEWAY_SCENARIOS]
        scenarios += [
            # the same product with the response cache off: a second instance, run alone on the cores
            {"name": "own list, JWT (uncached)", "path": "/api/v1/trade-signals/",
             "script": lua_script(workdir, "own_nocache", headers=bearer), "env": {"CACHE_BACKEND": "null"}},
            {"name": "create signal", "path": "/api/v1/trade-signals/", "connections": args.write_connections,
             "script": lua_script(workdir, "create", method="POST",
                                  headers={**bearer, "Content-Type": "application/json"}, extra=LUA_CREATE)},
            {"name": "login", "path": "/api/v1/auth/login", "connections": args.write_connections,
             "script": lua_script(workdir, "login", method="POST", headers={"Content-Type": "application/json"},
                                  body=json.dumps({"email": "trader@bench.example",
                                                   "password": data["password"]}))},
        ]
        rows = []
        for scenario in scenarios:
            if scenario.get("via") == "nginx":
                if gateway is None:
                    gateway = Gateway(urlsplit(url).netloc).start()
                    gateway_facts = {"upstream_keepalive_added_to_blocks": gateway.keepalive_blocks,
                                     "edge_cache": gateway.edge_cache}
                rows.append(measure(stack, stack.web, gateway.url, scenario, args, gateway))
                continue
            if gateway is not None:
                gateway.stop()
                gateway = None
            if "env" in scenario:
                stack.stop_web(stack.web)
                web, target = stack.start_web("variant", scenario["env"])
                rows.append(measure(stack, web, target, scenario, args))
                stack.stop_web(web)
                stack.web, url = stack.start_web("cached-again", {})
            else:
                rows.append(measure(stack, stack.web, url, scenario, args))
        upload = uploads(stack, url, bearer)
        if args.scaling:
            scale_rows = scaling(stack, workdir, args)
    finally:
        if gateway is not None:
            gateway.stop()
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    lines = report(rows, scale_rows, args, upload)
    if gateway_facts is not None:
        lines.insert(0, f"gateway: deploy/nginx config, edge cache {'on' if gateway_facts['edge_cache'] else 'absent'}"
                        f"; keepalive {UPSTREAM_KEEPALIVE} added by the bench to "
                        f"{gateway_facts['upstream_keepalive_added_to_blocks']} upstream blocks")
    print("\n" + "\n".join(lines))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps({
        "date": stamp, "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "machine": machine_facts(),
        "load_average_before": load_before, "load_average_after": load_average(),
        "wall_seconds": round(time.monotonic() - started), "signals": args.signals,
        "connections": args.connections, "duration_s": args.duration, "scenarios": rows, "scaling": scale_rows,
        "upload": upload, "gateway": gateway_facts,
        "report": lines}, indent=2))
    print(f"results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
