"""Run the real ``forecast`` command in subprocesses, kill it, race it, and read what it left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from forecast_core.config import StoreConfig
from forecast_core.tables.distributions import DistributionsTable
from tests.s3.conftest import s3_jars, s3_server  # noqa: F401  (the s3a:// variants)
from tests.servers import postgres_database


@dataclass
class Finished:
    """A finished ``forecast`` process: its exit code and everything it printed."""

    returncode: int
    output: str


def start(
    args: list[str], env: dict[str, str], stderr: int = subprocess.STDOUT
) -> subprocess.Popen[str]:
    """Start ``forecast ARGS`` in its own process group (so a kill also takes its JVM), its
    stderr merged into stdout unless ``stderr`` says otherwise (``subprocess.PIPE``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "jobs", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=stderr,
        start_new_session=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 600) -> Finished:
    output, _ = process.communicate(timeout=timeout)
    return Finished(process.returncode, output)


def run(args: list[str], env: dict[str, str], timeout: float = 600) -> Finished:
    return finish(start(args, env), timeout)


def kill_when(args: list[str], env: dict[str, str], marker: str, delay: float) -> Finished:
    """Run until a line containing ``marker`` is printed, wait ``delay`` s, then SIGKILL all."""
    process = start(args, env)
    seen: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            time.sleep(delay)
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=60)
    rest = process.stdout.read()
    return Finished(process.returncode, "".join(seen) + rest)


def table_rows(spark, home: Path, location: str | None = None) -> pd.DataFrame:
    """The whole distributions table at ``location`` (default: that of ``home``), sorted by
    key and path."""
    where = location or StoreConfig.embedded(home).table_location
    table = DistributionsTable(spark, where).read()
    if table is None:
        return pd.DataFrame()
    return (
        table.toPandas()
        .sort_values(["model_name", "forecast_start_date", "path_id"])
        .reset_index(drop=True)
    )


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (the server is started by .ci/run)."""
    with postgres_database() as uri:
        yield uri
