"""The only worker of a cluster dies in the middle of a backfill's writes: the job stops with
one line and exit 1 (rather than waiting for executors forever), and a rerun on a new worker
completes the table with every forecast exactly once, as Spark and delta-rs both read it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable

from forecast_core.config import StoreConfig
from forecast_core.spark import EXECUTOR_WAIT_SETTING
from tests.cli_args import Q1_2024_MONTHLY
from tests.hardening.conftest import forecast_env, run, table_rows
from tests.spark_cluster import REPOSITORY

pytestmark = pytest.mark.slow
N_PATHS = 40
BACKFILL = [
    "backfill",
    *Q1_2024_MONTHLY,
    "--models",
    "naive",
    "--n-paths",
    str(N_PATHS),
    "--flush-rows",
    str(8 * (N_PATHS + 1)),  # about a dozen writes
]
# Longer than a loaded machine takes to start an executor for the first job.
WAIT_SECONDS = 15
KEY = ["model_name", "forecast_start_date", "path_id"]


def _commits(location: str) -> int:
    return len(list((Path(location) / "_delta_log").glob("*.json")))


def test_a_lost_worker_stops_the_run_in_one_line_and_a_rerun_completes_it(
    spark_cluster, spark, tmp_path
):
    home = tmp_path / "home"
    location = StoreConfig.embedded(home).table_location
    # A job finding no executor gives up after this wait (default 120 s), read by Spark
    # from the conf folder a pod would mount; the rerun keeps the default.
    conf = tmp_path / "spark-conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text(f"{EXECUTOR_WAIT_SETTING} {WAIT_SECONDS}s\n")
    env = forecast_env(home, FORECAST_SPARK_MASTER=spark_cluster.url)
    job = subprocess.Popen(
        [sys.executable, "-m", "jobs", *BACKFILL],
        env={**env, "SPARK_CONF_DIR": str(conf)},
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a failed test stops its JVM too
    )
    try:
        deadline = time.monotonic() + 600
        while _commits(location) < 2:  # the table exists and holds a batch
            assert job.poll() is None, job.communicate()
            assert time.monotonic() < deadline, "no commit within 10 minutes"
            time.sleep(0.2)
        spark_cluster.kill_worker()
        stdout, stderr = job.communicate(timeout=300)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
        spark_cluster.start_worker()
    assert job.returncode == 1, stdout[-2000:] + stderr[-4000:]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: run stopped: cannot write"), stderr
    assert f"no Spark executor for {WAIT_SECONDS} s" in lines[0]

    rerun = run(BACKFILL, env)
    assert rerun.returncode == 0, rerun.output
    assert "already present 0" not in rerun.output  # the first run's commits were kept

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
