"""Start and stop real servers for tests, on loopback only."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

# The JVMs a test starts live for seconds to minutes, where the C2 compiler's work and the
# parallel collector's threads cost more CPU than they give back on two cores. C1 only and
# the serial collector took a third off the CPU of a contention test (212 -> 138 s, wall
# 112 -> 79 s). Test-only: a long production run is where C2 pays back (not measured here).
SHORT_LIVED_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(
    folder: Path,
    backend_store_uri: str | None = None,
    timeout_seconds: float = 120.0,
    artifacts_destination: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """An ``mlflow server`` on loopback; yields its URI and stops its whole process group.

    The job runner is disabled (its huey workers would outlive the server), and the
    server runs in its own process group so that stopping it stops every child.
    Artifacts go to ``artifacts_destination`` (default: a folder), with ``env`` added to
    the server's environment (an S3 endpoint and credentials).
    """
    port = free_loopback_port()
    backend = backend_store_uri or f"sqlite:///{folder / 'server.db'}"
    environment = {**os.environ, **(env or {}), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = (folder / "mlflow-server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            backend,
            "--artifacts-destination",
            artifacts_destination or str(folder / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=environment,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{uri}/health", process, log.name, timeout_seconds)
        yield uri
    finally:
        stop_process_group(process)
        log.close()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; skips without a server.

    The server is started by .ci/run (scripts/start_postgres.sh), which sets
    FORECAST_TEST_POSTGRES_URI.
    """
    base = os.environ.get("FORECAST_TEST_POSTGRES_URI")
    if not base:
        pytest.skip(
            "FORECAST_TEST_POSTGRES_URI is not set: .ci/run starts PostgreSQL with "
            "scripts/start_postgres.sh and sets it"
        )
    import sqlalchemy

    name = f"forecast_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"create database {name}"))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f"drop database if exists {name} with (force)"))
        admin.dispose()


class MotoServer(NamedTuple):
    """A running moto server: its URL and process id (to pause it: SIGSTOP, SIGCONT)."""

    url: str
    pid: int


@contextlib.contextmanager
def moto_server(
    folder: Path, unauthenticated_requests: int | None = None, timeout_seconds: float = 60.0
) -> Iterator[MotoServer]:
    """A ``moto_server`` (S3, DynamoDB, IAM APIs) on loopback; yields it, then stops it.

    With ``unauthenticated_requests`` N, moto checks credentials and IAM policies after
    the first N requests (which create the IAM user whose keys the test uses).
    """
    port = free_loopback_port()
    environment = dict(os.environ)
    if unauthenticated_requests is not None:
        environment["INITIAL_NO_AUTH_ACTION_COUNT"] = str(unauthenticated_requests)
    log = (folder / "moto-server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=environment,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/moto-api/", process, log.name, timeout_seconds)
        yield MotoServer(url, process.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)  # a paused server cannot stop
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def stop_process_group(process: subprocess.Popen[bytes], timeout_seconds: float = 20) -> None:
    """SIGTERM the process group of ``process`` (started with ``start_new_session``); SIGKILL
    it if the process has not exited after ``timeout_seconds``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_answering(
    url: str, process: subprocess.Popen[bytes], log: str, timeout_seconds: float
) -> None:
    """Poll ``url`` until the server answers; RuntimeError if it exits or never does."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server for {url} did not start; see {log}") from None
            time.sleep(0.3)
