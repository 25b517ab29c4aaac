"""Container healthchecks with the standard library only (the slim image has no curl).

``python deploy/healthcheck.py [/healthz]``  GET that path on 127.0.0.1:$PORT; healthy on 200. For ``/health``
that includes ``"status": "degraded"`` (the shared cache Redis is down, reads still work): one cache outage
must not mark every app container unhealthy at once; 503 (MongoDB, the security Redis, draining) is unhealthy.
``python deploy/healthcheck.py --consumers``  the consumer process is PID 1 and its event bus answers
(Redis PING on EVENT_REDIS_URL, or a TCP connect to the first Kafka bootstrap server).
Exit 0 = healthy, 1 = unhealthy; one short line on stdout for ``docker inspect``.
"""
from __future__ import annotations

import os
import socket
import ssl
import sys
import urllib.error
import urllib.request
from urllib.parse import unquote, urlparse

TIMEOUT = float(os.environ.get("HEALTHCHECK_TIMEOUT", "3"))


def check_http(path: str) -> str:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{path}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - fixed loopback URL
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status != 200:
        raise RuntimeError(f"{path} answered {status}")
    return f"{path} 200"


def _redis_ping(url: str) -> None:
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=TIMEOUT)
    if parsed.scheme.startswith("rediss"):  # rediss:// and rediss+cluster://
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parsed.hostname)
    with sock:
        if parsed.password:
            args = [unquote(parsed.username)] if parsed.username else []
            args.append(unquote(parsed.password))
            sock.sendall(_command("AUTH", *args))
            if not sock.recv(64).startswith(b"+OK"):
                raise RuntimeError("redis AUTH failed")
        sock.sendall(_command("PING"))
        if not sock.recv(64).startswith(b"+PONG"):
            raise RuntimeError("redis did not answer PONG")


def _command(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def check_consumers() -> str:
    with open("/proc/1/cmdline", "rb") as cmdline:
        if b"run_consumers" not in cmdline.read():
            raise RuntimeError("PID 1 is not run_consumers")
    bus = os.environ.get("EVENT_BUS", "inprocess")
    if bus == "redis":
        _redis_ping(os.environ.get("EVENT_REDIS_URL") or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    elif bus == "kafka":
        first = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092").split(",")[0].strip()
        host, _, port = first.rpartition(":")
        socket.create_connection((host, int(port)), timeout=TIMEOUT).close()
    return f"run_consumers alive, bus {bus} reachable"


def main(argv: list[str]) -> int:
    try:
        message = check_consumers() if argv[:1] == ["--consumers"] else check_http(argv[0] if argv else "/healthz")
    except Exception as exc:  # any failure is "unhealthy", reported in one line
        print(f"unhealthy: {exc.__class__.__name__}: {exc}")
        return 1
    print(f"healthy: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
