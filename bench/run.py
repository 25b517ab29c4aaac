"""`make bench`: measure the product under load and print one table of ratios to a bare Django view.

Starts its own embedded MongoDB-compatible server (or uses MONGODB_URI), gunicorn with production settings
(2 sync workers, Redis on), seeds users and BENCH_SIGNALS signals through the API, then drives each scenario
with wrk pinned to its own core. Results go to bench/results/<timestamp>.json with machine facts.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
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

SYMBOLS = ["BTCUSDT", "ETHUSDT", "AAPL", "EURUSD", "XAUUSD", "SOL/USDT", "MSFT", "TSLA"]


def signal_body(i: int) -> dict:
    entry = 100 + (i % 500)
    if i % 2:
        return {"symbol": SYMBOLS[i % len(SYMBOLS)], "direction": "long", "entry_price": f"{entry}.50",
                "stop_loss": f"{entry - 5}.00", "take_profit": f"{entry + 12}.25", "timeframe": "4h",
                "rationale": f"Breakout retest number {i}"}
    return {"symbol": SYMBOLS[i % len(SYMBOLS)], "direction": "short", "entry_price": f"{entry}.50",
            "stop_loss": f"{entry + 5}.00", "take_profit": f"{entry - 12}.25", "timeframe": "1h",
            "rationale": f"Rejection at resistance {i}"}


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


def seed(url: str, env: dict, n_signals: int, approve_every: int = 2) -> dict:
    password = "bench-" + secrets.token_urlsafe(12)
    trader = register(url, "trader@bench.example", password)
    register(url, "admin@bench.example", password)
    make_admin(env, "admin@bench.example", password)
    admin = login(url, "admin@bench.example", password)
    t_head = {"Authorization": f"Bearer {trader['access']}"}
    a_head = {"Authorization": f"Bearer {admin['access']}"}
    session = requests.Session()

    def create(i: int) -> str:
        response = session.post(f"{url}/api/v1/trade-signals/", json=signal_body(i), headers=t_head, timeout=60)
        response.raise_for_status()
        signal_id = response.json()["id"]
        if i % approve_every == 0:
            session.patch(f"{url}/api/v1/trade-signals/{signal_id}/status",
                          json={"status": "approved", "reason": "bench"}, headers=a_head,
                          timeout=60).raise_for_status()
        return signal_id

    started = time.monotonic()
    with cf.ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(create, range(n_signals)))
    print(f"seeded {n_signals} signals in {time.monotonic() - started:.1f}s", flush=True)
    return {"trader": trader, "admin": admin, "password": password, "signal_ids": ids}


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signals", type=int, default=int(os.environ.get("BENCH_SIGNALS", "10000")))
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "64")))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    ensure_wrk()

    workdir = Path(tempfile.mkdtemp(prefix="ts-bench-"))
    stack = Stack(workdir, args.workers)
    try:
        url = stack.start()
        data = seed(url, stack.env, args.signals)
        bearer = {"Authorization": f"Bearer {data['trader']['access']}"}
        detail_id = data["signal_ids"][len(data["signal_ids"]) // 2]
        rss: dict[int, float] = {}
        scenarios = [
            ("baseline (bare Django JsonResponse)", "/bench/baseline", lua_script(workdir, "plain")),
            ("/healthz", "/healthz", lua_script(workdir, "healthz")),
            ("public feed (cached)", "/api/v1/trade-signals/public", lua_script(workdir, "public")),
            ("own list, JWT (cached)", "/api/v1/trade-signals/", lua_script(workdir, "own", headers=bearer)),
            ("detail, JWT (cached)", f"/api/v1/trade-signals/{detail_id}", lua_script(workdir, "detail",
                                                                                   headers=bearer)),
            ("own list, JWT (uncached)", "/api/v1/trade-signals/",
             lua_script(workdir, "own_nocache", headers=bearer), {"CACHE_BACKEND": "null"}),
            ("create signal", "/api/v1/trade-signals/",
             lua_script(workdir, "create", method="POST",
                        headers={**bearer, "Content-Type": "application/json"}, extra=LUA_CREATE)),
            ("login", "/api/v1/auth/login",
             lua_script(workdir, "login", method="POST", headers={"Content-Type": "application/json"},
                        body=json.dumps({"email": "trader@bench.example", "password": data["password"]}))),
        ]
        rows = []
        for name, path, script, *variant in scenarios:
            target, web = url, None
            if variant:  # the same product with other settings (e.g. no response cache), same machine, same run
                stack.stop_web(stack.web)  # one instance at a time: the two must not share the cores
                web, target = stack.start_web("variant", variant[0])
            # a warm-up pass fills caches and connection pools, then the measured pass
            run_wrk(target + path, script, 2, min(args.connections, 8))
            result = run_wrk(target + path, script, args.duration, args.connections)
            result.update({"scenario": name, "path": path})
            rows.append(result)
            print(f"  {name}: {result['rps']:.0f} req/s", flush=True)
            if web is not None:
                rss.update({pid: round(peak_rss_mb(pid), 1) for pid in stack.worker_pids(web)})
                stack.stop_web(web)
                stack.web, url = stack.start_web("cached-again", {})
            else:
                rss.update({pid: round(peak_rss_mb(pid), 1) for pid in stack.worker_pids()})
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    baseline = rows[0]["rps"] or 1.0
    for row in rows:
        row["ratio_to_baseline"] = round(row["rps"] / baseline, 3)
    peak = max(rss.values()) if rss else 0.0
    header = f"{'scenario':40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'ratio':>7}"
    print("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        print(f"{row['scenario']:40} {row['rps']:9.0f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} "
              f"{row['non_2xx'] + row['socket_errors']:8d} {row['ratio_to_baseline']:7.2f}")
    print(f"peak RSS per worker: {', '.join(f'{v} MB' for v in rss.values())} (max {peak} MB); "
          f"{args.signals} signals, {args.connections} connections, {args.duration}s per scenario")

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps({"date": stamp, "machine": machine_facts(), "signals": args.signals,
                               "connections": args.connections, "duration_s": args.duration,
                               "peak_rss_mb_per_worker": rss, "scenarios": rows}, indent=2))
    print(f"results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
