"""A real three-master Redis Cluster on loopback for tests: ``redis-server --cluster-enabled yes`` ×3 on free
ports, each with its own directory under the test's tmp dir, joined with ``redis-cli --cluster create``.

Nodes run with ``appendonly yes`` (``appendfsync always``), so a master stopped with SIGTERM and started again on
its port and directory comes back with its keys and its slots (``nodes.conf``). Under ``CI=true`` a missing
``redis-server``/``redis-cli`` fails the test instead of skipping it (tests/support/servers.py ``require``).
"""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import require, wait_until

NODE_TIMEOUT_MS = 2000  # how long a silent master takes to be marked failed (and the cluster state "fail")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_cluster_port(taken: set[int]) -> int:
    """A free port whose cluster-bus port (port + 10000) is free too."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port < 55000 and port not in taken and port + 10000 not in taken and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


@dataclass
class Node:
    port: int
    workdir: Path
    proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=2)

    def answers(self) -> bool:
        import redis

        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def info(self) -> dict:
        return self.client().cluster("INFO")


class RedisCluster:
    """Three masters, no replicas. ``url`` is one seed node; the client finds the others."""

    def __init__(self, workdir: Path, masters: int = 3):
        self.server = shutil.which("redis-server")
        self.cli = shutil.which("redis-cli")
        require(self.server is not None and self.cli is not None,
                "redis-server / redis-cli are not installed (Debian: apt-get install redis-server)")
        taken: set[int] = set()
        self.nodes: list[Node] = []
        for index in range(masters):
            port = _free_cluster_port(taken)
            taken.update({port, port + 10000})
            directory = workdir / f"node-{index}"
            directory.mkdir(parents=True)
            self.nodes.append(Node(port, directory))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> RedisCluster:
        for node in self.nodes:
            self.start_node(node)
        created = subprocess.run(
            [self.cli, "--cluster", "create", *[n.address for n in self.nodes], "--cluster-replicas", "0",
             "--cluster-yes"], capture_output=True, text=True, timeout=60)
        assert created.returncode == 0, created.stdout + created.stderr
        self.wait_ok()
        return self

    def start_node(self, node: Node) -> None:
        assert self.server is not None
        node.proc = subprocess.Popen(
            [self.server, "--port", str(node.port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-config-file", str(node.workdir / "nodes.conf"),
             "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--dir", str(node.workdir), "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction",
             "--logfile", str(node.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(node.answers, timeout=15, message=f"redis node {node.address} to answer")

    def stop_node(self, node: Node, sig: int = signal.SIGTERM) -> None:
        """Stop one node (SIGTERM: a clean shutdown that flushes its append-only file) and wait for its exit."""
        if node.proc is not None and node.proc.poll() is None:
            node.proc.send_signal(sig)
            try:
                node.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
        node.proc = None

    def stop(self) -> None:
        for node in self.nodes:
            self.stop_node(node)

    # -- state ------------------------------------------------------------------------------------------
    def ok(self) -> bool:
        """Every node is up and reports ``cluster_state:ok`` with all slots assigned and every node known."""
        for node in self.nodes:
            if node.proc is None or node.proc.poll() is not None:
                return False
            info = node.info()
            if (info.get("cluster_state") != "ok" or int(info.get("cluster_slots_ok", 0)) != 16384
                    or int(info.get("cluster_known_nodes", 0)) != len(self.nodes)):
                return False
        return True

    def wait_ok(self, timeout: float = 30) -> None:
        wait_until(self.ok, timeout=timeout, message="cluster_state:ok on every node")

    def slot(self, key: str) -> int:
        return int(self.nodes[0].client().cluster("KEYSLOT", key))

    def owner(self, key: str) -> Node:
        """The master that holds ``key``'s slot."""
        slot = self.slot(key)
        for start, end, master, *_ in self.nodes[0].client().cluster("SLOTS"):
            if start <= slot <= end:
                port = int(master[1])
                return next(n for n in self.nodes if n.port == port)
        raise AssertionError(f"no master owns slot {slot}")

    def keys(self) -> list[str]:
        """Every key of the cluster (all masters), for assertions."""
        found: list[str] = []
        for node in self.nodes:
            found.extend(k.decode() for k in node.client().keys("*"))
        return sorted(found)

    def flush(self) -> None:
        for node in self.nodes:
            node.client().flushall()
