"""Writers that commit every few forecasts into the same partitions never fail each other.

Two backfill shards and a daily run, all three with ``--flush-rows`` small enough for a
commit every two forecasts, write disjoint keys of the same (commodity, model) into one
table at once. Every writer must exit 0 without a single commit lost to another writer,
and every forecast must be there exactly once (counted by Spark and by delta-rs).

The negative control runs the same writers on a table of the layout tables had before
(partitioned by commodity and model only): there every commit reads its whole partition,
so the others' commits invalidate it, and the writers lose races to each other (with
enough of them in a row, one fails: issue 24). A second test races two processes for one
key: exactly one copy survives with the table's write, both with a blind append.

``location`` names the table and the environment a job needs to reach it: a local folder,
and for the writers of different keys also an ``s3a://`` table on moto's server, where
each commit goes through the project's conditional-put LogStore.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from forecast_core.config import StoreConfig
from forecast_core.registry.store import ModelRegistry
from forecast_core.tables import delta_log
from forecast_core.tables.delta_tables import LOST_RACE, DeltaPathTable
from forecast_core.tables.distributions import DISTRIBUTIONS, DistributionsTable
from tests.hardening import same_key_writer
from tests.hardening.conftest import Finished, finish, start
from tests.job_env import forecast_env
from tests.s3.conftest import new_bucket, s3_settings, spark_reads_bucket

pytestmark = pytest.mark.slow
MODELS = ("naive", "random_walk")
N_PATHS = 50
# A commit every two forecasts (2 x 50 rows), as in issue 24's run (a commit every four).
RUN = ["--models", ",".join(MODELS), "--n-paths", str(N_PATHS), "--flush-rows", "100"]
# Four weekly windows from Monday 2024-01-01: two for each of two shards.
BACKFILL_DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(28)]
BACKFILL = ["backfill", "--start", "2024-01-01", "--end", "2024-01-28"]
BACKFILL += ["--train-frequency", "weekly", *RUN]
DAILY_DATE = dt.date(2024, 2, 15)  # other keys than the shards', the same partitions
DAILY = ["daily", "--forecast-date", DAILY_DATE.isoformat(), "--train-frequency", "weekly"]
DAILY += RUN
# A loaded machine commits slowly: about 20 commits a shard.
TIMEOUT = 1800
# The Delta layout of the tables created before issue 24.
BY_MODEL = ("commodity", "model_name")


@pytest.fixture
def location(tmp_path) -> tuple[str, dict[str, str]]:
    """A local table, and what a job's environment needs to reach it (nothing)."""
    return str(tmp_path / "distributions"), {}


@pytest.fixture(params=["local", "s3a"])
def any_location(request, tmp_path, spark, monkeypatch) -> tuple[str, dict[str, str]]:
    """A local table, or one in a new bucket on moto that Spark and delta-rs here read too."""
    if request.param == "local":
        return str(tmp_path / "distributions"), {}
    server = request.getfixturevalue("s3_server")
    bucket = new_bucket(server)
    spark_reads_bucket(spark, server, bucket)
    settings = s3_settings(server, request.getfixturevalue("s3_jars"))
    for name, value in settings.items():  # delta-rs here reads them from the environment
        monkeypatch.setenv(name, value)
    return f"s3a://{bucket}/distributions", settings


def _contend(spark, home: Path, location: str, env: dict[str, str], layout) -> list[Finished]:
    """Create the table with ``layout``, then run both shards and the daily run at once."""
    spec = dataclasses.replace(DISTRIBUTIONS, delta_partitioning=layout)
    DeltaPathTable(spark, location, spec).create()
    home.mkdir()
    store = StoreConfig.embedded(home)
    ModelRegistry(store.tracking_uri).list_versions("coffee", "naive", "v1.0")  # create it first
    shared = {"FORECAST_TABLE": location, **env}
    shards = [
        start(
            BACKFILL,
            forecast_env(home, JOB_COMPLETION_INDEX=str(index), FORECAST_SHARD_COUNT="2", **shared),
        )
        for index in range(2)
    ]
    daily = start(DAILY, forecast_env(home, **shared))
    return [finish(worker, TIMEOUT) for worker in [*shards, daily]]


def _copies(rows: pd.DataFrame) -> pd.Series:
    """Per (model, date) key: how many times its paths are there."""
    per_key = rows.groupby(["model_name", "forecast_start_date"])["path_id"]
    return per_key.count() // per_key.nunique()


def test_shards_and_a_daily_run_committing_often_never_fail_each_other(
    spark, tmp_path, any_location
):
    table_location, env = any_location
    results = _contend(spark, tmp_path / "home", table_location, env, DISTRIBUTIONS.key)
    for result in results:
        assert result.returncode == 0, result.output
        assert LOST_RACE not in result.output, result.output
    delta = delta_log.open_table(table_location)
    assert delta is not None
    by_delta_rs = delta.to_pyarrow_table().to_pandas()
    stored = DistributionsTable(spark, table_location).read()
    assert stored is not None
    by_spark = stored.toPandas()
    assert len(by_delta_rs) == len(by_spark)
    days = {*BACKFILL_DAYS, DAILY_DATE}
    for rows in (by_spark, by_delta_rs):
        copies = _copies(rows)
        assert (copies == 1).all(), copies[copies != 1]  # no key twice
        forecasts = rows[~rows["is_actuals"]].groupby(["model_name", "forecast_start_date"])
        assert set(forecasts.groups) == {(model, day) for model in MODELS for day in days}
        assert (forecasts.size() == N_PATHS).all()  # every forecast whole
        assert set(rows.loc[rows["is_actuals"], "forecast_start_date"]) == days


def test_negative_control_on_the_old_layout_writers_of_other_keys_lose_races(
    spark, tmp_path, location
):
    table_location, env = location
    results = _contend(spark, tmp_path / "home", table_location, env, BY_MODEL)
    lost = sum(result.output.count(LOST_RACE) for result in results)
    failed = [result.output for result in results if result.returncode != 0]
    assert lost > 0 or failed, "no writer of other keys ever invalidated another's commit"


def test_two_processes_racing_for_one_key_leave_one_copy_and_a_blind_append_two(tmp_path, location):
    table_location, env = location
    signals = tmp_path / "signals"
    signals.mkdir()
    fills = ("1", "2")
    command = [sys.executable, "-m", "tests.hardening.same_key_writer", table_location]
    writers = [
        subprocess.Popen(
            [*command, str(signals), fill],
            env=forecast_env(tmp_path / "home", **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for fill in fills
    ]
    try:
        _wait_for([signals / f"ready-{fill}" for fill in fills], writers)
        for index in range(len(same_key_writer.ROUNDS)):
            (signals / f"go-{index}").touch()  # both writers at once
            _wait_for([signals / f"done-{index}-{fill}" for fill in fills], writers)
    finally:
        outputs = [writer.communicate(timeout=300)[0] for writer in writers]
    for writer, output in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, output
    # The table's writes really raced: a writer's commit lost to the other's at least once.
    assert any(LOST_RACE in output for output in outputs), outputs
    table = delta_log.open_table(table_location)
    assert table is not None
    rows = table.to_pyarrow_table().to_pandas()
    for way, day in same_key_writer.ROUNDS:
        of_key = rows[rows["forecast_start_date"] == day]
        copies = 1 if way == "table" else 2
        assert len(of_key) == copies * same_key_writer.N_PATHS, (way, day)
        assert of_key["day_1"].nunique() == copies, (way, day)  # whole copies, one a writer


def _wait_for(paths: list[Path], writers: list[subprocess.Popen[str]]) -> None:
    """Until every file of ``paths`` exists; fails at once if a writer has failed, or if
    every writer has exited (a writer that is through says so before it exits)."""
    deadline = time.monotonic() + 600
    while not all(path.exists() for path in paths):
        exited = [w.returncode for w in writers if w.poll() is not None]
        assert not any(exited), f"a writer failed ({exited}) before {[p.name for p in paths]}"
        assert len(exited) < len(writers), f"the writers exited before {[p.name for p in paths]}"
        assert time.monotonic() < deadline, f"waited 10 minutes for {[p.name for p in paths]}"
        time.sleep(0.02)
