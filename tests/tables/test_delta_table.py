"""The Delta distributions table as other engines, other writers and later readers meet it.

Real Spark with the Delta jars writes; delta-rs, DuckDB and pyarrow (engines nobody here
wrote) read. Concurrency is real: threads of the one Spark session commit to one table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import threading
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.dataset as ds
import pytest
from deltalake import DeltaTable

from forecast_core.errors import ConfigError
from forecast_core.forecasts import Forecast, forecasts_to_frame
from forecast_core.tables.delta_tables import DeltaPathTable
from forecast_core.tables.distributions import DISTRIBUTIONS, DistributionsTable
from forecast_core.tables.parquet_tables import PARQUET_READER_GLOB

NOW = dt.datetime(2024, 7, 15, 6, 0, tzinfo=dt.UTC)
JULY = [dt.date(2024, 7, day) for day in range(1, 32)]
pytestmark = pytest.mark.slow


def _forecast(model: str, start: dt.date, fill: float = 100.0, n_paths: int = 20) -> Forecast:
    return Forecast(
        "coffee",
        model,
        "v1.0",
        start,
        start - dt.timedelta(days=3),
        dt.date(2024, 7, 1),
        f"models:/coffee_{model}/1",
        np.full((n_paths, 14), fill),
    )


def _frame(*forecasts: Forecast):
    return forecasts_to_frame(list(forecasts), NOW)


@pytest.fixture
def location(tmp_path) -> str:
    return str(tmp_path / "distributions")


@pytest.fixture
def table(spark, location) -> DistributionsTable:
    return DistributionsTable(
        spark, location, "delta", commit_metadata={"command": "test", "shard": "0/1"}
    )


def _spark_rows(table: DistributionsTable) -> list[tuple]:
    stored = table.read()
    return sorted(
        tuple(r) for r in stored.select("model_name", "forecast_start_date", "path_id").collect()
    )


def test_delta_rs_and_duckdb_read_the_rows_spark_wrote_with_typed_dates(table, location):
    table.write(_frame(_forecast("naive", JULY[14]), _forecast("xgboost", JULY[15])))
    table.write(_frame(_forecast("naive", JULY[14], fill=7.0)))  # replaced, not added
    rows = DeltaTable(location).to_pyarrow_table()
    assert str(rows.schema.field("forecast_start_date").type) == "date32[day]"
    pandas_rows = rows.to_pandas()
    assert isinstance(pandas_rows["forecast_start_date"].iloc[0], dt.date)
    assert sorted(
        zip(
            pandas_rows.model_name,
            pandas_rows.forecast_start_date,
            pandas_rows.path_id,
            strict=True,
        )
    ) == _spark_rows(table)
    assert set(pandas_rows.loc[pandas_rows.model_name == "naive", "day_1"]) == {7.0}
    # DuckDB reads the committed snapshot through delta-rs's Arrow dataset.
    dataset = DeltaTable(location).to_pyarrow_dataset()  # noqa: F841 (read by DuckDB)
    counted = duckdb.sql(
        "select model_name, count(*) from dataset where forecast_start_date = DATE '2024-07-15' "
        "group by model_name"
    ).fetchall()
    assert counted == [("naive", 20)]


def test_polars_reads_the_rows_spark_wrote_with_typed_dates(table, location):
    polars = pytest.importorskip("polars")  # not a dependency: checked where installed
    table.write(_frame(_forecast("naive", JULY[14]), _forecast("xgboost", JULY[15])))
    rows = polars.read_delta(location)
    assert rows.schema["forecast_start_date"] == polars.Date
    counted = rows.group_by("model_name", "forecast_start_date").len().sort("model_name")
    assert counted.rows() == [("naive", JULY[14], 20), ("xgboost", JULY[15], 20)]


def test_the_layout_is_one_partition_per_forecast(table, location):
    # Delta checks a commit against concurrent ones partition by partition: writers of
    # different forecasts never share one (issue 24, benchmarks/concurrent_commits.py).
    table.write(_frame(*[_forecast("naive", day) for day in JULY]))
    delta = DeltaTable(location)
    assert delta.metadata().partition_columns == [
        "commodity",
        "model_name",
        "model_version",
        "forecast_start_date",
    ]
    files = delta.file_uris()
    assert len(files) == 31  # one file per forecast
    assert {tuple(f.rsplit("/", 1)[0].rsplit("/", 4)[1:]) for f in files} == {
        ("commodity=coffee", "model_name=naive", "model_version=v1.0", f"forecast_start_date={d}")
        for d in JULY
    }
    assert delta.metadata().configuration["delta.enableDeletionVectors"] == "false"


def test_each_commit_names_the_run_and_the_model_versions_that_served(table):
    table.write(_frame(_forecast("naive", JULY[0]), _forecast("xgboost", JULY[0])))
    newest = table.history()[0]
    assert newest["operation"] == "WRITE"
    metadata = json.loads(str(newest["user_metadata"]))
    assert metadata["command"] == "test" and metadata["shard"] == "0/1"
    assert metadata["model_uris"] == ["models:/coffee_naive/1", "models:/coffee_xgboost/1"]
    assert "2024-07-01" in str(newest["predicate"])


def test_as_of_reads_the_table_before_a_rerun(table):
    table.write(_frame(_forecast("naive", JULY[14], fill=1.0)))
    before = table.history()[0]["version"]
    table.write(_frame(_forecast("naive", JULY[14], fill=2.0)))
    assert table.summarize()[0]["n_paths"] == 20
    old = table.read(as_of=str(before)).select("day_1").distinct().collect()
    new = table.read().select("day_1").distinct().collect()
    assert [r.day_1 for r in old] == [1.0] and [r.day_1 for r in new] == [2.0]
    assert len(table.summarize(as_of=str(before))) == 1


def test_existing_keys_come_from_the_log_without_spark(location, spark):
    DistributionsTable(spark, location, "delta").write(_frame(_forecast("naive", JULY[3])))

    def no_spark():
        raise AssertionError("Spark was started to read keys")

    lazy = DistributionsTable(no_spark, location, "delta")
    assert lazy.existing_keys("coffee", "v1.0", ["naive", "sarimax"], JULY) == {("naive", JULY[3])}
    lazy.check()
    assert (
        DistributionsTable(no_spark, location + "-none", "delta").existing_keys(
            "coffee", "v1.0", ["naive"], JULY
        )
        == set()
    )


def test_writers_of_disjoint_keys_of_one_model_all_commit(spark, location):
    # Four writers at once, as shards and a daily run: every key ends up there once.
    DistributionsTable(spark, location, "delta").write(_frame(_forecast("naive", JULY[0])))
    errors: list[BaseException] = []

    def write(days: list[dt.date]) -> None:
        try:
            writer = DistributionsTable(spark, location, "delta")
            writer.write(_frame(*[_forecast("naive", day) for day in days]))
        except BaseException as error:  # reported below
            errors.append(error)

    slices = [JULY[1:8], JULY[8:15], JULY[15:22], JULY[22:31]]
    threads = [threading.Thread(target=write, args=(days,)) for days in slices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = DeltaTable(location).to_pyarrow_table(columns=["forecast_start_date", "path_id"])
    assert rows.num_rows == 31 * 20
    assert len(set(rows.column("forecast_start_date").to_pylist())) == 31


def test_two_writers_of_the_same_key_leave_exactly_one_copy(spark, location):
    errors: list[BaseException] = []

    def write(fill: float) -> None:
        try:
            DistributionsTable(spark, location, "delta").write(
                _frame(_forecast("naive", JULY[9], fill=fill))
            )
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(fill,)) for fill in (1.0, 2.0, 3.0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = DeltaTable(location).to_pyarrow_table().to_pandas()
    assert len(rows) == 20 and sorted(rows.path_id) == list(range(20))
    assert rows.day_1.nunique() == 1  # one writer's copy, whole


def test_optimize_compacts_files_and_keeps_every_row(spark, location):
    # A table of the layout before issue 24 (one partition per commodity and model), which
    # the writer keeps: six writes, six files; one file after, Z-ordered by forecast date.
    older = dataclasses.replace(DISTRIBUTIONS, delta_partitioning=("commodity", "model_name"))
    DeltaPathTable(spark, location, older).create()
    table = DistributionsTable(spark, location, "delta")
    for day in JULY[:6]:
        table.write(_frame(_forecast("naive", day)))
    before = len(DeltaTable(location).file_uris())
    result = table.optimize(retain_hours=168)
    after = DeltaTable(location)
    assert before == 6 and len(after.file_uris()) == 1
    assert result == {"files_added": 1, "files_removed": 6}
    assert after.to_pyarrow_table().num_rows == 6 * 20
    assert after.history(1)[0]["operation"] == "VACUUM END"


def test_optimize_leaves_one_file_per_forecast_and_vacuums(table, location):
    for day in JULY[:6]:
        table.write(_frame(_forecast("naive", day)))
    assert table.optimize(retain_hours=168) == {"files_added": 0, "files_removed": 0}
    after = DeltaTable(location)
    assert len(after.file_uris()) == 6
    assert after.to_pyarrow_table().num_rows == 6 * 20
    assert after.history(1)[0]["operation"] == "VACUUM END"


def test_a_parquet_table_where_delta_is_expected_is_refused(spark, location):
    DistributionsTable(spark, location, "parquet").write(_frame(_forecast("naive", JULY[0])))
    with pytest.raises(ConfigError, match=r"holds files but no _delta_log .*expected a Delta"):
        DistributionsTable(spark, location, "delta").check()


def test_a_delta_table_where_parquet_is_expected_is_refused(table, spark, location):
    table.write(_frame(_forecast("naive", JULY[0])))
    with pytest.raises(ConfigError, match="holds a Delta table; expected Parquet"):
        DistributionsTable(spark, location, "parquet").check()


def test_a_delta_table_of_another_schema_is_refused(spark, tmp_path):
    other = str(tmp_path / "other")
    spark.range(3).write.format("delta").save(other)
    with pytest.raises(ConfigError, match=r"another schema \(differs in path_id, .*id\)"):
        DistributionsTable(spark, other, "delta").check()


def test_a_parquet_reader_glob_skips_unfinished_writes(spark, tmp_path):
    location = tmp_path / "distributions"
    DistributionsTable(spark, str(location), "parquet").write(_frame(_forecast("naive", JULY[0])))
    # What a killed or running writer leaves: a staging folder with a data file in it.
    staging = location / ".spark-staging-123" / "commodity=coffee" / "_temporary"
    staging.mkdir(parents=True)
    shutil.copy(next(location.rglob("*.parquet")), staging / "part-0.parquet")
    glob = str(location / PARQUET_READER_GLOB)
    assert duckdb.sql(f"select count(*) from read_parquet('{glob}')").fetchall() == [(20,)]
    everything = str(location / "**" / "*.parquet")
    assert duckdb.sql(f"select count(*) from read_parquet('{everything}')").fetchall() == [(40,)]
    pyarrow_rows = ds.dataset(str(location), format="parquet", partitioning="hive").to_table()
    assert pyarrow_rows.num_rows == 20


def test_history_of_a_parquet_table_is_refused(spark, tmp_path):
    with pytest.raises(ConfigError, match="needs a Delta table"):
        DistributionsTable(spark, str(Path(tmp_path) / "t"), "parquet").history()


def test_a_reader_during_a_slow_write_sees_only_committed_snapshots(spark, location):
    table = DistributionsTable(spark, location, "delta")
    table.write(_frame(_forecast("naive", JULY[0], n_paths=2000)))
    slow = _frame(*[_forecast("sarimax", day, n_paths=2000) for day in JULY])  # 62,000 rows
    writer = threading.Thread(target=table.write, args=(slow,))
    counts: set[int] = set()
    saw_uncommitted_files = False
    writer.start()
    while writer.is_alive():
        snapshot = DeltaTable(location)
        counts.add(snapshot.to_pyarrow_table(columns=["path_id"]).num_rows)
        on_disk = sum(1 for f in Path(location).rglob("*.parquet"))
        saw_uncommitted_files |= on_disk > len(snapshot.file_uris())
    writer.join()
    # All of the write or none of it, whatever the reader caught on disk meanwhile.
    assert counts <= {2000, 2000 + 31 * 2000} and 2000 in counts
    assert saw_uncommitted_files, "the reader never ran while the write's files were landing"
    assert DeltaTable(location).to_pyarrow_table(columns=["path_id"]).num_rows == 64000


def test_a_log_with_no_commit_yet_does_not_stop_the_setup_check_or_the_write(spark, location):
    # What a writer creating the table leaves before its first commit: a log with no commit.
    # The setup check lets it be (not "another format"), and Delta creates the table there;
    # had another writer committed version 0 first, the write would retry on the conflict.
    (Path(location) / "_delta_log" / "_staged_commits").mkdir(parents=True)
    table = DistributionsTable(spark, location, "delta")
    table.check()
    assert table.write(_frame(_forecast("naive", JULY[0]))) == 20
    assert DeltaTable(location).to_pyarrow_table(columns=["path_id"]).num_rows == 20
