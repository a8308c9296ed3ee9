"""Jobs whose Spark is a Spark Connect server (``--spark-remote``): a bad address or a server
that is not there stops a job before it writes anything (exit 2); a server killed in the
middle of a backfill's writes stops it with one line (exit 1), and a rerun on a restarted
server completes the table with every forecast exactly once, as Spark and delta-rs read it.

The daily, shard backfill, rerun and key-scoped replace tests run through the server too
(the ``connect`` case of the ``spark_master`` fixture).
"""

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
from forecast_core.evaluation.storage.table import metrics_table_location
from tests.cli_args import Q1_2024_MONTHLY
from tests.hardening.conftest import forecast_env, run, table_rows
from tests.servers import free_loopback_port
from tests.spark_cluster import REPOSITORY, invoke_as_process

DAILY = ["daily", "--forecast-date", "2024-07-15", "--models", "naive", "--n-paths", "20"]


@pytest.mark.parametrize(
    "remote", ["sc://127.0.0.1", "http://127.0.0.1:15002", "sc://127.0.0.1:99999", "127.0.0.1:1"]
)
def test_an_address_that_is_not_sc_host_port_is_refused_in_one_line(invoke, home, remote):
    result = invoke(*DAILY, env={"FORECAST_SPARK_REMOTE": remote})
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"Error: Spark Connect address {remote!r} is not valid; expected "
        "sc://HOST:PORT[/;param=value...]"
    ]
    assert not home.exists()


def test_a_server_that_is_not_there_stops_the_job_before_anything_is_written(invoke, home):
    remote = f"sc://127.0.0.1:{free_loopback_port()}"  # nothing listens there
    result = invoke(*DAILY, "--spark-remote", remote)
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: Spark Connect server {remote!r} is not reachable")
    assert not Path(StoreConfig.embedded(home).table_location).exists()
    assert not (home / "mlflow.db").exists()


N_PATHS = 40
BACKFILL = [
    "backfill",
    *Q1_2024_MONTHLY,
    "--models",
    "naive",
    "--n-paths",
    str(N_PATHS),
    "--flush-rows",
    str(25 * (N_PATHS + 1)),  # four writes: the kill lands among them
]
KEY = ["model_name", "forecast_start_date", "path_id"]


def _commits(location: str) -> int:
    return len(list((Path(location) / "_delta_log").glob("*.json")))


@pytest.mark.slow
def test_a_killed_server_stops_the_run_in_one_line_and_a_rerun_completes_it(
    spark_connect, spark, tmp_path
):
    home = tmp_path / "home"
    location = StoreConfig.embedded(home).table_location
    env = forecast_env(home, FORECAST_SPARK_REMOTE=spark_connect.url)
    job = subprocess.Popen(
        [sys.executable, "-m", "jobs", *BACKFILL],
        env=env,
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while _commits(location) < 2:  # the table exists and holds a batch
            assert job.poll() is None, job.communicate()
            assert time.monotonic() < deadline, "no commit within 10 minutes"
            time.sleep(0.2)
        spark_connect.kill()
        stdout, stderr = job.communicate(timeout=300)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
        spark_connect.start()
    assert job.returncode == 1, stdout[-2000:] + stderr[-4000:]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: run stopped: cannot write"), stderr
    assert "<_" not in lines[0], stderr  # the gRPC status and details, not the call's repr

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


@pytest.mark.slow
def test_evaluate_monitor_and_optimize_run_through_the_server(spark_connect, spark, tmp_path):
    """Beside the writes: evaluate creates its metrics table (a table that is missing must
    read as missing, though Connect analyses plans lazily), monitor and optimize read."""
    home = tmp_path / "home"
    invoke = invoke_as_process(home, spark_connect.url)
    naive = ["--models", "naive"]
    for day in ("2024-07-15", "2024-07-16"):
        written = invoke("daily", "--forecast-date", day, *naive, "--n-paths", "20")
        assert written.exit_code == 0, written.output
    evaluated = invoke(
        "evaluate", "--from", "2024-07-15", "--to", "2024-07-16", *naive, "--output", str(tmp_path)
    )
    assert evaluated.exit_code == 0, evaluated.output
    metrics = DeltaTable(metrics_table_location(StoreConfig.embedded(home).table_location))
    assert len(metrics.to_pandas()) > 0
    monitored = invoke("monitor", "--as-of", "2024-07-16", *naive)
    assert monitored.exit_code in (0, 1), monitored.output
    assert not [line for line in monitored.output.splitlines() if line.startswith("Error")]
    optimized = invoke("table", "optimize")
    assert optimized.exit_code == 0, optimized.output
    assert optimized.output.startswith("Optimized")
