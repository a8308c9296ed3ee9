"""A Spark Connect server on loopback (``forecast connect-server``, with the Delta jars), for
jobs run as their own processes with ``FORECAST_SPARK_REMOTE``."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.job_env import REPOSITORY
from tests.servers import free_loopback_port, stop_process_group


class ConnectServer:
    """``forecast connect-server`` on a free loopback port, in its own process group, logging
    to ``folder/connect-server-N.log``; restartable on the same port. ``environment`` adds
    to the process's (S3 settings, a jar folder).

    Attributes:
        url: ``sc://127.0.0.1:PORT``, what the jobs' ``--spark-remote`` takes.
    """

    def __init__(
        self, folder: Path, timeout_seconds: float, environment: Mapping[str, str] | None = None
    ) -> None:
        self.folder = folder
        self.environment = dict(environment or {})
        self.timeout_seconds = timeout_seconds
        self.port = free_loopback_port()
        self.url = f"sc://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._starts += 1
        log = self.folder / f"connect-server-{self._starts}.log"
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("FORECAST_")
        }
        command = ["connect-server", "--port", str(self.port), "--table-format", "delta"]
        with log.open("w") as output:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "jobs", *command],
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**environment, **self.environment, "SPARK_LOCAL_IP": "127.0.0.1"},
                cwd=REPOSITORY,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.timeout_seconds
        while not _accepts(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Spark Connect server did not start; see {log}")
            time.sleep(0.3)

    def kill(self) -> None:
        """SIGKILL the server's process group, as when its pod goes away."""
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
            self._process = None

    def stop(self) -> None:
        """Stop the server's process group."""
        if self._process is not None:
            stop_process_group(self._process)
            self._process = None


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@contextlib.contextmanager
def connect_server(
    folder: Path, timeout_seconds: float = 180.0, environment: Mapping[str, str] | None = None
) -> Iterator[ConnectServer]:
    """A started Spark Connect server on loopback; stopped afterwards."""
    server = ConnectServer(folder, timeout_seconds, environment)
    server.start()
    try:
        yield server
    finally:
        server.stop()
