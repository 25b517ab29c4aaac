"""`make bench`: measure the product under load and print one table of ratios to a bare Django view.

Starts its own embedded MongoDB-compatible server (or uses MONGODB_URI), gunicorn with production settings
(2 sync workers, Redis on), seeds users and BENCH_SIGNALS signals through the API, then drives each scenario
with wrk pinned to its own core. Results go to bench/results/<timestamp>.json with machine facts.
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

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"


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


class Stack:
    """The servers under test; every one is stopped on exit."""

    def __init__(self, workdir: Path, workers: int):
        self.workdir = workdir
        self.workers = workers
        self.procs: list[subprocess.Popen] = []
        self.env = dict(os.environ)

    def start(self) -> str:
        if not self.env.get("MONGODB_URI"):
            port = free_port()
            mongo = subprocess.Popen(
                [str(BIN / "secantusd-py"), "--host", "127.0.0.1", "--port", str(port),
                 "--storage-path", str(self.workdir / "mongo"), "--log-level", "WARNING"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.procs.append(mongo)
            self.env["MONGODB_URI"] = f"mongodb://127.0.0.1:{port}/bench"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.1)
        self.env.update({
            "DJANGO_SETTINGS_MODULE": "settings.prod",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "JWT_SECRET": secrets.token_urlsafe(48),
            "REDIS_ENABLED": "true",
            "REDIS_URL": self.env.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
            "BENCH_MODE": "true",
            "RATELIMIT_ENABLE": "false",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_THREADS": "1",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
        })
        import redis

        redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()
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
            stderr=open(self.workdir / f"gunicorn-{name}.log", "wb"))  # noqa: SIM115
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


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --- seeding through the public API ---------------------------------------------------------------------

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
    path.write_text(LUA_HEADERS.format(method=method, headers=lines, body=body_line) + extra)
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", value)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def run_wrk(url: str, script: Path, duration: int, connections: int) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url]
    if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1:
        cmd = ["taskset", "-c", str(os.cpu_count() - 1), *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(x) for x in errors.groups()) if errors else 0
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": socket_errors}


def machine_facts() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    import django
    import rest_framework

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "django": django.get_version(), "drf": rest_framework.VERSION, "platform": platform.platform(),
            "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0].strip()}


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("installing wrk (Debian package)…", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


def measure(stack: Stack, url: str, scenario: dict, args) -> dict:
    connections = scenario.get("connections", args.connections)
    run_wrk(url + scenario["path"], scenario["script"], 2, min(connections, 8))  # warm caches and pools
    result = run_wrk(url + scenario["path"], scenario["script"], args.duration, connections)
    result.update({"scenario": scenario["name"], "path": scenario["path"], "connections": connections})
    print(f"  {scenario['name']}: {result['rps']:.0f} req/s", flush=True)
    return result


def scaling(stack: Stack, url: str, workdir: Path, args) -> list[dict]:
    """p50 of the own list and the public feed, cached and uncached, at 1 000 and at 100 000 signals."""
    trader = register(url, "scale@bench.example", "bench-" + secrets.token_urlsafe(12))
    bearer = {"Authorization": f"Bearer {trader['access']}"}
    lists = [("own list", "/api/v1/trade-signals/", lua_script(workdir, "scale_own", headers=bearer)),
             ("public feed", "/api/v1/trade-signals/public", lua_script(workdir, "scale_public"))]
    rows, seeded = [], 0
    for size in (1_000, 100_000):
        bulk_seed(stack.env, trader["user"]["id"], size - seeded)
        seeded = size
        for mode, env in (("cached", {}), ("uncached", {"CACHE_BACKEND": "null"})):
            stack.stop_web(stack.web)
            flush_cache(stack.env)
            stack.web, target = stack.start_web(f"scale-{mode}", env)
            for name, path, script in lists:
                run_wrk(target + path, script, 2, 4)
                result = run_wrk(target + path, script, args.duration, 16)
                rows.append({"signals": size, "mode": mode, "read": name, "p50_ms": result["p50_ms"],
                             "rps": result["rps"]})
                print(f"  {size} signals, {name} ({mode}): p50 {result['p50_ms']:.2f} ms", flush=True)
    stack.stop_web(stack.web)
    stack.web, _ = stack.start_web("cached", {})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signals", type=int, default=int(os.environ.get("BENCH_SIGNALS", "10000")))
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "64")))
    parser.add_argument("--write-connections", type=int, default=8,
                        help="concurrency of the write scenarios (create, login): each costs CPU, not I/O")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scaling", action="store_true", default=os.environ.get("BENCH_SCALING") == "1",
                        help="also compare list p50 at 1 000 and 100 000 signals (slow)")
    args = parser.parse_args()
    ensure_wrk()

    workdir = Path(tempfile.mkdtemp(prefix="ts-bench-"))
    stack = Stack(workdir, args.workers)
    rss: dict[int, float] = {}
    scale_rows: list[dict] = []
    try:
        url = stack.start()
        data = seed(url, stack.env, args.signals)
        bearer = {"Authorization": f"Bearer {data['trader']['access']}"}
        detail_id = first_signal_id(url, bearer)
        scenarios = [
            {"name": "baseline (bare Django JsonResponse)", "path": "/bench/baseline",
             "script": lua_script(workdir, "plain")},
            {"name": "/healthz", "path": "/healthz", "script": lua_script(workdir, "healthz")},
            {"name": "public feed (cached)", "path": "/api/v1/trade-signals/public",
             "script": lua_script(workdir, "public")},
            {"name": "own list, JWT (cached)", "path": "/api/v1/trade-signals/",
             "script": lua_script(workdir, "own", headers=bearer)},
            {"name": "detail, JWT (cached)", "path": f"/api/v1/trade-signals/{detail_id}",
             "script": lua_script(workdir, "detail", headers=bearer)},
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
            if "env" in scenario:
                stack.stop_web(stack.web)
                web, target = stack.start_web("variant", scenario["env"])
                rows.append(measure(stack, target, scenario, args))
                rss.update({pid: round(peak_rss_mb(pid), 1) for pid in stack.worker_pids(web)})
                stack.stop_web(web)
                stack.web, url = stack.start_web("cached-again", {})
            else:
                rows.append(measure(stack, url, scenario, args))
                rss.update({pid: round(peak_rss_mb(pid), 1) for pid in stack.worker_pids()})
        if args.scaling:
            scale_rows = scaling(stack, url, workdir, args)
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    baseline = rows[0]["rps"] or 1.0
    for row in rows:
        row["ratio_to_baseline"] = round(row["rps"] / baseline, 3)
    by_name = {row["scenario"]: row for row in rows}
    cache_gain = by_name["own list, JWT (cached)"]["rps"] / max(by_name["own list, JWT (uncached)"]["rps"], 0.01)
    peak = max(rss.values()) if rss else 0.0
    header = f"{'scenario':40} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'ratio':>7}"
    print("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        print(f"{row['scenario']:40} {row['connections']:5d} {row['rps']:9.0f} {row['p50_ms']:8.2f} "
              f"{row['p99_ms']:8.2f} {row['non_2xx'] + row['socket_errors']:8d} {row['ratio_to_baseline']:7.2f}")
    print(f"own list cached / uncached: {cache_gain:.1f}x")
    print(f"peak RSS per worker: max {peak} MB over {len(rss)} workers; {args.signals} signals, "
          f"{args.duration}s per scenario")
    if scale_rows:
        print(f"\n{'read':14} {'mode':9} {'p50 @1k ms':>11} {'p50 @100k ms':>13} {'ratio':>6}")
        for read in ("own list", "public feed"):
            for mode in ("cached", "uncached"):
                small = next(r for r in scale_rows if (r["read"], r["mode"], r["signals"]) == (read, mode, 1_000))
                big = next(r for r in scale_rows if (r["read"], r["mode"], r["signals"]) == (read, mode, 100_000))
                print(f"{read:14} {mode:9} {small['p50_ms']:11.2f} {big['p50_ms']:13.2f} "
                      f"{big['p50_ms'] / max(small['p50_ms'], 0.001):6.2f}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps({"date": stamp, "machine": machine_facts(), "signals": args.signals,
                               "connections": args.connections, "duration_s": args.duration,
                               "peak_rss_mb_per_worker": rss, "own_list_cached_over_uncached": cache_gain,
                               "scenarios": rows, "scaling": scale_rows}, indent=2))
    print(f"results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
