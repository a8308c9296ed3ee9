"""A Spark Connect server for the benchmark's ``connect`` runs, and what it spends.

The server is the jobs' own ``forecast connect-server`` on a free loopback port. It
outlives the scenarios: after the first one it is warm, as a shared server is. Its CPU and
peak memory are measured per scenario beside the client's (``measure.TreeSampler``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import TreeSampler, tree_cpu_s

_START_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class ConnectServer:
    """A running server: what the jobs' ``FORECAST_SPARK_REMOTE`` takes, and its pid."""

    url: str
    pid: int


@dataclass(frozen=True)
class ServerUsage:
    """What the server spent during one scenario."""

    cpu_s: float
    peak_rss_bytes: int


@contextlib.contextmanager
def running_server(
    forecast: Sequence[str], env: Mapping[str, str], log: Path
) -> Iterator[ConnectServer]:
    """``forecast connect-server`` on a free loopback port until the block ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*forecast, "connect-server", "--port", str(port)],
            env={**env, "SPARK_LOCAL_IP": "127.0.0.1"},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_listening(process, port, log)
        yield ConnectServer(f"sc://127.0.0.1:{port}", process.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        process.wait(timeout=60)


@contextlib.contextmanager
def measured_server(server: ConnectServer) -> Iterator[list[ServerUsage]]:
    """Sample ``server`` during the block; the list holds its ``ServerUsage`` afterwards."""
    before = tree_cpu_s(server.pid)
    sampler = TreeSampler([server.pid]).start()
    usage: list[ServerUsage] = []
    try:
        yield usage
    finally:
        sampler.stop()
        usage.append(ServerUsage(sampler.cpu_s() - before, sampler.peak_rss_bytes))


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Spark Connect server did not start; see {log}")
        time.sleep(0.3)
