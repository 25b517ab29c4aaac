"""Render the gateway config from ``nginx.conf.template``.

``python deploy/nginx/render.py`` writes ``deploy/nginx/nginx.conf``, the variant compose mounts (service
names, port 8080, logs to stdout/stderr, runtime files and the public feed's micro-cache in /tmp for the
unprivileged nginx image, whose file system is read-only but for that tmpfs).
``--check`` fails when the committed file is stale. Tests call :func:`render` with loopback upstreams and a
private runtime directory. Only the standard library: it also runs where Django is not installed.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "nginx.conf.template"
OUTPUT = HERE / "nginx.conf"
SLICES = ("accounts", "users", "signals", "discussions")  # tradesignals.slices.ALL, without Django
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")

# compose: each name resolves (at nginx start) to every replica of that service.
COMPOSE_UPSTREAMS = {name: [f"{name}:8000"] for name in SLICES}


def _servers(addresses: list[str]) -> str:
    if not addresses:
        raise ValueError("an upstream needs at least one server")
    return "\n".join(f"        server {address} max_fails=2 fail_timeout=5s;" for address in addresses)


def render(*, upstreams: dict[str, list[str]], listen: str = "8080", runtime_dir: str | Path | None = None,
           debug_headers: bool = False, edge_cache: bool = False) -> str:
    """The config text. ``upstreams`` maps each slice to ``host:port`` servers; ``any`` defaults to all.

    With ``runtime_dir`` the config is self-contained for a test: foreground, pid, logs and every
    temp path inside that directory. ``debug_headers`` adds ``X-Upstream`` (never in production: it
    reveals internal addresses). ``edge_cache`` turns on the public feed's micro-cache (its directory is
    under ``runtime_dir`` when one is given): the compose rendering has it; it is off unless asked so that a
    test of routing or failover observes the instances themselves, not a page the gateway kept.
    """
    missing = [name for name in SLICES if name not in upstreams]
    if missing:
        raise ValueError(f"no upstream servers for {', '.join(missing)}")
    every = list(dict.fromkeys(address for name in SLICES for address in upstreams[name]))
    if runtime_dir is None:
        main_runtime = "pid /tmp/nginx.pid;\nerror_log stderr warn;"
        temp_root = "/tmp"  # noqa: S108 - the unprivileged image's writable place
        access_log = "/dev/stdout ts_json"
    else:
        run = Path(runtime_dir)
        main_runtime = f"daemon off;\npid {run / 'nginx.pid'};\nerror_log {run / 'error.log'} warn;"
        temp_root = str(run)
        access_log = f"{run / 'access.log'} ts_json"
    http_runtime = "\n".join(
        f"    {kind}_temp_path {temp_root}/{kind}_temp;"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    values = {
        "main_runtime": main_runtime,
        "http_runtime": http_runtime,
        "listen": listen,
        "access_log": access_log,
        "cache_root": temp_root,
        "edge_cache": "ts_edge" if edge_cache else "off",
        "debug_headers": "    add_header X-Upstream $upstream_addr always;" if debug_headers else "",
        **{f"upstream_{name}": _servers(upstreams[name]) for name in SLICES},
        "upstream_any": _servers(upstreams.get("any") or every),
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], TEMPLATE.read_text())


def compose_config() -> str:
    return render(upstreams=COMPOSE_UPSTREAMS, edge_cache=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if deploy/nginx/nginx.conf is stale")
    args = parser.parse_args(argv)
    text = compose_config()
    if args.check:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} is stale: run python deploy/nginx/render.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
