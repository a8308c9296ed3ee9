"""The distributions table written through a real local Spark session, in Delta and Parquet.

What is written is read back by Spark and by engines nobody here wrote: delta-rs for Delta,
pyarrow for Parquet.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from forecast_core.errors import ConfigError, TableError
from forecast_core.forecasts import Forecast, forecasts_to_frame
from forecast_core.tables import delta_log
from forecast_core.tables.distributions import DistributionsTable
from forecast_core.tables.kinds import open_spark_table
from forecast_core.tables.schemas import DISTRIBUTIONS_PARTITIONING, DISTRIBUTIONS_SCHEMA
from forecast_core.tables.spark_table import TableSpec
from forecast_core.tables.staging import STAGING_FOLDER
from tests.spark_cluster import REPOSITORY
from tests.tables import batch_writer

NOW = dt.datetime(2024, 7, 15, 6, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.slow


def _forecast(
    model: str,
    start: dt.date,
    cutoff: dt.date | None = None,
    training: dt.date | None = dt.date(2024, 7, 1),
    n_paths: int = 20,
    fill: float = 100.0,
) -> Forecast:
    return Forecast(
        "coffee",
        model,
        "v1.0",
        start,
        cutoff or start - dt.timedelta(days=3),
        training,
        "models:/coffee_x/1",
        np.full((n_paths, 14), fill),
    )


@pytest.fixture(params=["delta", "parquet"])
def table(spark, tmp_path, request) -> DistributionsTable:
    return DistributionsTable(spark, str(tmp_path / "distributions"), request.param)


def test_rows_round_trip_with_the_declared_schema(table):
    start = dt.date(2024, 7, 15)
    forecasts = [_forecast("naive", start), _forecast("xgboost", start)]
    assert table.write(forecasts_to_frame(forecasts, NOW)) == 40
    stored = table.read()
    assert stored.columns == DISTRIBUTIONS_SCHEMA.fieldNames()
    assert stored.count() == 40
    row = stored.where("model_name = 'naive' and path_id = 7").collect()[0]
    assert row.day_14 == 100.0 and row.training_date == dt.date(2024, 7, 1)
    assert row.data_cutoff_date == dt.date(2024, 7, 12)
    # The writer's UTC instant survives the staging file (session time zone UTC).
    assert {
        r[0] for r in stored.selectExpr("cast(generation_timestamp as string)").distinct().collect()
    } == {"2024-07-15 06:00:00"}


def test_rows_that_do_not_fit_the_schema_are_refused_before_any_write(table, tmp_path):
    frame = forecasts_to_frame([_forecast("naive", dt.date(2024, 7, 15))], NOW)
    frame["path_id"] = "first"
    with pytest.raises(TableError, match="do not fit the distributions schema"):
        table.write(frame)
    assert not (tmp_path / "distributions").exists()


@pytest.fixture
def write_in_order(table, spark_master, tmp_path) -> Callable[[list[pd.DataFrame]], dict]:
    """Write batches to ``table``'s location in order, from a driver on ``spark_master``: the
    test's own local session, or a process of its own on the loopback cluster or through
    the loopback Connect server; returns ``batch_writer.write_batches``'s report."""
    if spark_master == "local":
        return lambda batches: batch_writer.write_batches(table, batches)
    if table.table_format != "delta" and not spark_master.startswith("sc://"):
        # Connect writes Parquet too: its key check goes through Spark, not the Hadoop glob.
        pytest.skip("the cluster writes the Delta table only (CI time)")

    def on_cluster(batches: list[pd.DataFrame]) -> dict:
        pd.to_pickle(batches, tmp_path / "batches.pickle")
        command = [sys.executable, "-m", "tests.tables.batch_writer", spark_master]
        command += [table.location, table.table_format, str(tmp_path / "batches.pickle")]
        done = subprocess.run(
            command, cwd=REPOSITORY, capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    return on_cluster


def test_rewriting_keys_replaces_them_and_keeps_other_keys(table, spark_master, write_in_order):
    """Each write's rows reach Spark as a staged Parquet file: in ``TMPDIR`` on a local
    master, under the table's root on a cluster and through Spark Connect (whose executors
    cannot read this machine's temporary folder); the file is gone once written."""
    first = [_forecast("naive", dt.date(2024, 7, 15)), _forecast("naive", dt.date(2024, 7, 16))]
    again = [
        _forecast("naive", dt.date(2024, 7, 16), fill=999.0),
        _forecast("naive", dt.date(2024, 7, 17)),
    ]
    report = write_in_order([forecasts_to_frame(first, NOW), forecasts_to_frame(again, NOW)])
    assert report["written"] == [40, 40]
    staged = [Path(urlparse(uri).path) for files in report["staged"] for uri in files]
    assert len(staged) == 2, report["staged"]  # one file for each write
    under_table = Path(table.location) / STAGING_FOLDER
    assert [path.is_relative_to(under_table) for path in staged] == [spark_master != "local"] * 2
    assert not any(path.exists() for path in staged)
    if table.table_format == "delta":  # created as designed, though a file was staged first
        delta = delta_log.open_table(table.location)
        assert delta is not None
        created = delta.metadata()
        assert created.partition_columns == list(DISTRIBUTIONS_PARTITIONING)
        assert "delta.dataSkippingStatsColumns" in created.configuration
    per_date = {
        r.forecast_start_date: (r.n, r.top)
        for r in table.read()
        .groupBy("forecast_start_date")
        .agg({"path_id": "count", "day_1": "max"})
        .withColumnsRenamed({"count(path_id)": "n", "max(day_1)": "top"})
        .collect()
    }
    assert per_date == {
        dt.date(2024, 7, 15): (20, 100.0),
        dt.date(2024, 7, 16): (20, 999.0),
        dt.date(2024, 7, 17): (20, 100.0),
    }


def test_has_data_leakage_is_computed_from_the_dates(table):
    start = dt.date(2024, 7, 15)
    table.write(
        forecasts_to_frame(
            [
                _forecast("naive", start),
                _forecast("random_walk", start, cutoff=start),  # saw the forecast day itself
                _forecast("sarimax", start, training=dt.date(2024, 7, 16)),  # trained later
            ],
            NOW,
        )
    )
    flags = {
        r.model_name: r.has_data_leakage
        for r in table.read().select("model_name", "has_data_leakage").distinct().collect()
    }
    assert flags == {"naive": False, "random_walk": True, "sarimax": True}


def test_existing_keys_are_scoped_by_version_models_and_dates(table):
    july = [dt.date(2024, 7, day) for day in range(1, 32)]
    table.write(
        forecasts_to_frame(
            [_forecast("naive", dt.date(2024, 7, 15)), _forecast("sarimax", dt.date(2024, 7, 16))],
            NOW,
        )
    )
    assert table.existing_keys("coffee", "v1.0", ["naive", "sarimax"], july) == {
        ("naive", dt.date(2024, 7, 15)),
        ("sarimax", dt.date(2024, 7, 16)),
    }
    assert table.existing_keys("coffee", "v1.0", ["naive"], july) == {
        ("naive", dt.date(2024, 7, 15))
    }
    assert table.existing_keys("coffee", "v1.0", ["naive", "sarimax"], [dt.date(2024, 7, 16)]) == {
        ("sarimax", dt.date(2024, 7, 16))
    }
    assert table.existing_keys("coffee", "v2.0", ["naive"], july) == set()
    assert table.existing_keys("coffee", "v1.0", ["naive"], [dt.date(2024, 8, 1)]) == set()
    assert table.existing_keys("coffee", "v1.0", ["naive"], []) == set()


def test_a_missing_table_reads_as_none_and_has_no_keys(table):
    assert table.read() is None
    assert table.summarize() == []


def test_rows_lacking_columns_are_refused(table):
    frame = forecasts_to_frame([_forecast("naive", dt.date(2024, 7, 15))], NOW)
    with pytest.raises(TableError, match="lack column"):
        table.write(frame.drop(columns="model_uri"))


def test_an_unknown_format_is_refused(spark, tmp_path):
    with pytest.raises(ConfigError, match="table format 'csv' is not one of delta, parquet"):
        DistributionsTable(spark, str(tmp_path / "t"), "csv")


def test_an_unwritable_location_is_a_table_error(spark, tmp_path):
    # A regular file where a folder must go: unwritable even for root (CI runs as root).
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    table = DistributionsTable(spark, str(blocker / "distributions"))
    with pytest.raises(TableError, match="cannot write 20 rows"):
        table.write(forecasts_to_frame([_forecast("naive", dt.date(2024, 7, 15))], NOW))


@pytest.mark.parametrize("table_format", ["delta", "parquet"])
def test_a_table_with_coarser_partitions_carries_other_keys_over(spark, tmp_path, table_format):
    spec = TableSpec(
        "scores",
        StructType(
            [
                StructField("run", StringType(), False),
                StructField("metric", StringType(), False),
                StructField("value", DoubleType(), False),
            ]
        ),
        key=("run", "metric"),
        partitioning=("run",),
        delta_partitioning=("run",),
    )
    table = open_spark_table(spark, str(tmp_path / "scores"), table_format, spec)
    table.write(
        pd.DataFrame(
            {
                "run": ["a", "a", "a", "b"],
                "metric": ["x", "y", "z", "x"],
                "value": [1.0, 2.0, 3.0, 4.0],
            }
        )
    )
    table.write(pd.DataFrame({"run": ["a"], "metric": ["y"], "value": [20.0]}))
    stored = {(r.run, r.metric): r.value for r in table.read().collect()}
    assert stored == {("a", "x"): 1.0, ("a", "y"): 20.0, ("a", "z"): 3.0, ("b", "x"): 4.0}


def test_staging_left_by_a_killed_writer_is_removed_once_stale(spark, tmp_path):
    table = DistributionsTable(spark, str(tmp_path / "distributions"), "parquet")
    root = tmp_path / "distributions"
    stale, fresh = root / ".spark-staging-dead", root / ".spark-staging-live"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    table.write(forecasts_to_frame([_forecast("naive", dt.date(2024, 7, 15))], NOW))
    assert not stale.exists()
    assert fresh.exists()  # may belong to a writer still running
