"""A backfill that loses its Spark (a cluster's worker, a Connect server) in the middle of
its writes, and the rerun that must complete its table: shared by the tests of each way."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from deltalake import DeltaTable
from pyspark.sql import SparkSession

from forecast_core.config import StoreConfig
from tests.cli_args import Q1_2024_MONTHLY
from tests.hardening.conftest import run, start, table_rows

N_PATHS = 40
KEY = ["model_name", "forecast_start_date", "path_id"]


def backfill_args(flush_forecasts: int) -> list[str]:
    """A naive backfill of 2024 Q1 that writes every ``flush_forecasts`` forecasts."""
    return [
        "backfill",
        *Q1_2024_MONTHLY,
        "--models",
        "naive",
        "--n-paths",
        str(N_PATHS),
        "--flush-rows",
        str(flush_forecasts * (N_PATHS + 1)),
    ]


@dataclass(frozen=True)
class StoppedRun:
    """How the run that lost its Spark ended."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


def _commits(location: str) -> int:
    return len(list((Path(location) / "_delta_log").glob("*.json")))


def run_losing_spark(
    args: list[str],
    env: dict[str, str],
    home: Path,
    lose: Callable[[], None],
    restore: Callable[[], None],
) -> StoppedRun:
    """Run the job ``args``; once its table holds a batch, ``lose()`` its Spark; wait for
    the job to end (at most 5 minutes), then ``restore()`` Spark whatever happened."""
    location = StoreConfig.embedded(home).table_location
    job = start(args, env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 600
        while _commits(location) < 2:  # the table exists and holds a batch
            assert job.poll() is None, job.communicate()
            assert time.monotonic() < deadline, "no commit within 10 minutes"
            time.sleep(0.2)
        lose()
        stdout, stderr = job.communicate(timeout=300)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
        restore()
    return StoppedRun(job.returncode, stdout, stderr)


def assert_a_rerun_completes_the_table(
    args: list[str], env: dict[str, str], home: Path, spark: SparkSession
) -> None:
    """The rerun of ``args`` keeps the stopped run's commits and leaves every forecast of
    2024 Q1 exactly once, read alike by Spark and delta-rs."""
    rerun = run(args, env)
    assert rerun.returncode == 0, rerun.output
    assert "already present 0" not in rerun.output  # the first run's commits were kept

    location = StoreConfig.embedded(home).table_location
    by_spark = table_rows(spark, home)
    by_delta_rs = DeltaTable(location).to_pandas().sort_values(KEY).reset_index(drop=True)
    forecasts = by_spark[~by_spark["is_actuals"]]
    per_key = forecasts.groupby(["model_name", "forecast_start_date"]).size()
    assert len(per_key) == 91  # every day of 2024-01-01..2024-03-31
    assert set(per_key) == {N_PATHS}  # each whole, once
    assert not by_spark.duplicated(KEY).any()
    columns = [*KEY, "is_actuals", "day_1", "day_14"]
    pd.testing.assert_frame_equal(
        by_delta_rs[columns], by_spark[columns], check_dtype=False, check_index_type=False
    )
