"""The only worker of a cluster dies in the middle of a backfill's writes: the job stops with
one line and exit 1 (rather than waiting for executors forever), and a rerun on a new worker
completes the table with every forecast exactly once, as Spark and delta-rs both read it."""

from __future__ import annotations

import pytest

from forecast_core.spark import EXECUTOR_WAIT_SETTING
from tests.hardening.mid_write_loss import (
    assert_a_rerun_completes_the_table,
    backfill_args,
    run_losing_spark,
)
from tests.job_env import forecast_env

pytestmark = pytest.mark.slow
BACKFILL = backfill_args(flush_forecasts=8)  # about a dozen writes
# Longer than a loaded machine takes to start an executor for the first job.
WAIT_SECONDS = 15


def test_a_lost_worker_stops_the_run_in_one_line_and_a_rerun_completes_it(
    spark_cluster, spark, tmp_path
):
    home = tmp_path / "home"
    # A job finding no executor gives up after this wait (default 120 s), read by Spark
    # from the conf folder a pod would mount; the rerun keeps the default.
    conf = tmp_path / "spark-conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text(f"{EXECUTOR_WAIT_SETTING} {WAIT_SECONDS}s\n")
    env = forecast_env(home, FORECAST_SPARK_MASTER=spark_cluster.url)
    stopped = run_losing_spark(
        BACKFILL,
        {**env, "SPARK_CONF_DIR": str(conf)},
        home,
        lose=spark_cluster.kill_worker,
        restore=spark_cluster.start_worker,
    )
    assert stopped.returncode == 1, stopped.stdout[-2000:] + stopped.stderr[-4000:]
    assert len(stopped.error_lines) == 1, stopped.stderr
    assert stopped.error_lines[0].startswith("Error: run stopped: cannot write"), stopped.stderr
    assert f"no Spark executor for {WAIT_SECONDS} s" in stopped.error_lines[0]

    assert_a_rerun_completes_the_table(BACKFILL, env, home, spark)
