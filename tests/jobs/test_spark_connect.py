"""Jobs whose Spark is a Spark Connect server (``--spark-remote``): a bad address or a server
that is not there stops a job before it writes anything (exit 2); a server killed in the
middle of a backfill's writes stops it with one line (exit 1), and a rerun on a restarted
server completes the table with every forecast exactly once, as Spark and delta-rs read it.

The daily, shard backfill, rerun and key-scoped replace tests run through the server too
(the ``connect`` case of the ``spark_master`` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable

from forecast_core.config import StoreConfig
from forecast_core.evaluation.storage.table import metrics_table_location
from tests.hardening.mid_write_loss import (
    assert_a_rerun_completes_the_table,
    backfill_args,
    run_losing_spark,
)
from tests.job_env import forecast_env
from tests.servers import free_loopback_port
from tests.spark_cluster import invoke_as_process

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


BACKFILL = backfill_args(flush_forecasts=25)  # four writes: the kill lands among them


@pytest.mark.slow
def test_a_killed_server_stops_the_run_in_one_line_and_a_rerun_completes_it(
    spark_connect, spark, tmp_path
):
    home = tmp_path / "home"
    env = forecast_env(home, FORECAST_SPARK_REMOTE=spark_connect.url)
    stopped = run_losing_spark(
        BACKFILL, env, home, lose=spark_connect.kill, restore=spark_connect.start
    )
    assert stopped.returncode == 1, stopped.stdout[-2000:] + stopped.stderr[-4000:]
    assert len(stopped.error_lines) == 1, stopped.stderr
    assert stopped.error_lines[0].startswith("Error: run stopped: cannot write"), stopped.stderr
    # The gRPC status and details, not the call's repr.
    assert "<_" not in stopped.error_lines[0], stopped.stderr

    assert_a_rerun_completes_the_table(BACKFILL, env, home, spark)


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
