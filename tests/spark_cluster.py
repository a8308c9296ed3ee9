"""A Spark standalone cluster on loopback (a master and one worker, from pyspark's own jars),
and the ``forecast`` job run as its own process against it.

A job on a cluster master cannot run in the test process: that process's JVM already holds
the local session of the ``spark`` fixture, and Spark allows one per JVM.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pyspark

from tests.job_env import REPOSITORY, forecast_env
from tests.servers import (
    SHORT_LIVED_JVM_OPTIONS,
    free_loopback_port,
    stop_process_group,
    wait_until_answering,
)

SPARK_HOME = Path(pyspark.__file__).parent
WORKER_CORES = 2
WORKER_MEMORY = "2g"


class SparkCluster:
    """A running master and at most one worker; logs and the worker's work folder in ``folder``.

    Attributes:
        url: The master's ``spark://127.0.0.1:PORT``.
        web_url: The master's web UI, whose ``/json`` lists the workers.
    """

    def __init__(self, folder: Path, timeout_seconds: float) -> None:
        self.folder = folder
        self.timeout_seconds = timeout_seconds
        port, web_port = free_loopback_port(), free_loopback_port()
        self.url = f"spark://127.0.0.1:{port}"
        self.web_url = f"http://127.0.0.1:{web_port}"
        self._master = self._start(
            "master", "org.apache.spark.deploy.master.Master", "--port", str(port),
            "--webui-port", str(web_port),
        )  # fmt: skip
        self._worker: subprocess.Popen[bytes] | None = None
        self._workers_started = 0

    def start_worker(self) -> None:
        """Start a worker (2 cores, 2 GiB) and wait until the master lists it as alive."""
        self._workers_started += 1
        port = free_loopback_port()
        work = self.folder / f"worker-{self._workers_started}"
        work.mkdir()
        self._worker = self._start(
            f"worker-{self._workers_started}", "org.apache.spark.deploy.worker.Worker",
            "--port", str(port), "--webui-port", str(free_loopback_port()),
            "--cores", str(WORKER_CORES), "--memory", WORKER_MEMORY, "--work-dir", str(work),
            self.url,
        )  # fmt: skip
        deadline = time.monotonic() + self.timeout_seconds
        while port not in self.alive_worker_ports():
            if self._worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Spark worker did not register; see {self.folder}")
            time.sleep(0.3)

    def kill_worker(self) -> None:
        """SIGKILL the worker and its executors, as when its machine goes away."""
        if self._worker is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._worker.pid, signal.SIGKILL)
            self._worker.wait()
            self._worker = None

    def alive_worker_ports(self) -> set[int]:
        """The RPC ports of the workers the master counts as alive."""
        with urllib.request.urlopen(f"{self.web_url}/json", timeout=5) as answer:
            state = json.load(answer)
        return {worker["port"] for worker in state["workers"] if worker["state"] == "ALIVE"}

    def stop(self) -> None:
        """Stop the worker (and its executors), then the master."""
        if self._worker is not None:
            stop_process_group(self._worker)
            self._worker = None
        stop_process_group(self._master)

    def _start(self, name: str, main_class: str, *args: str) -> subprocess.Popen[bytes]:
        """``spark-class MAIN_CLASS ARGS`` on 127.0.0.1 in its own process group, logging to
        ``folder/NAME.log``."""
        environment = {
            **os.environ,
            "SPARK_HOME": str(SPARK_HOME),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
            # The drivers' options (tests/conftest.py), read by the daemons and by the
            # executors the worker starts, which say so in their own logs.
            "JAVA_TOOL_OPTIONS": os.environ.get("SPARK_SUBMIT_OPTS", SHORT_LIVED_JVM_OPTIONS),
        }
        with (self.folder / f"{name}.log").open("w") as log:
            return subprocess.Popen(
                [str(SPARK_HOME / "bin" / "spark-class"), main_class, "--host", "127.0.0.1", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
            )


@contextlib.contextmanager
def spark_cluster(folder: Path, timeout_seconds: float = 120.0) -> Iterator[SparkCluster]:
    """A standalone master and one worker on loopback; yields them once the worker is
    registered, then stops both."""
    cluster = SparkCluster(folder, timeout_seconds)
    try:
        wait_until_answering(
            f"{cluster.web_url}/json", cluster._master, str(folder / "master.log"), timeout_seconds
        )
        cluster.start_worker()
        yield cluster
    finally:
        cluster.stop()


class JobResult(NamedTuple):
    """A finished ``forecast`` process, as click's ``Result`` names it."""

    exit_code: int
    output: str


def invoke_as_process(home: Path, master: str) -> Callable[..., JobResult]:
    """A function running ``forecast ARGS`` as its own process against ``home`` on ``master``
    (``FORECAST_SPARK_MASTER``; an ``sc://`` Spark Connect server: ``FORECAST_SPARK_REMOTE``),
    with nothing of the developer's own settings; ``env`` entries added (an empty value
    unsets)."""
    setting = "FORECAST_SPARK_REMOTE" if master.startswith("sc://") else "FORECAST_SPARK_MASTER"

    def run(*args: str, env: dict[str, str] | None = None) -> JobResult:
        environment = forecast_env(home, **{setting: master, **(env or {})})
        done = subprocess.run(
            [sys.executable, "-m", "jobs", *args],
            env={key: value for key, value in environment.items() if value},
            cwd=REPOSITORY,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=900,
            check=False,
        )
        return JobResult(done.returncode, done.stdout)

    return run
