"""The distributions table named in the session's catalog (``db.distributions``), both formats.

The catalog kinds write with ``saveAsTable``/``insertInto`` and find keys with a Spark
query; the database lives in the test's folder, so nothing lands in the working directory.
"""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest

from forecast_core.errors import ConfigError
from forecast_core.forecasts import Forecast, forecasts_to_frame
from forecast_core.tables.distributions import DistributionsTable

NOW = dt.datetime(2024, 7, 15, 6, 0, tzinfo=dt.UTC)
JULY = [dt.date(2024, 7, day) for day in range(1, 32)]
pytestmark = pytest.mark.slow


def _frame(model: str, day: dt.date, fill: float = 100.0):
    forecast = Forecast(
        "coffee",
        model,
        "v1.0",
        day,
        day - dt.timedelta(days=3),
        dt.date(2024, 7, 1),
        f"models:/coffee_{model}/1",
        np.full((20, 14), fill),
    )
    return forecasts_to_frame([forecast], NOW)


@pytest.fixture(params=["delta", "parquet"])
def table(spark, tmp_path, request):
    database = f"forecast_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE DATABASE {database} LOCATION '{tmp_path / database}'")
    yield DistributionsTable(spark, f"{database}.distributions", request.param)
    spark.sql(f"DROP DATABASE {database} CASCADE")


def test_a_catalog_table_replaces_its_keys_and_finds_them_with_spark(table):
    assert table.read() is None
    table.write(_frame("naive", JULY[0]))
    table.write(_frame("naive", JULY[1]))
    table.write(_frame("naive", JULY[1], fill=7.0))  # replaced, not added
    per_date = {
        r.forecast_start_date: (r["count(path_id)"], r["max(day_1)"])
        for r in table.read()
        .groupBy("forecast_start_date")
        .agg({"path_id": "count", "day_1": "max"})
        .collect()
    }
    assert per_date == {JULY[0]: (20, 100.0), JULY[1]: (20, 7.0)}
    assert table.existing_keys("coffee", "v1.0", ["naive", "sarimax"], JULY) == {
        ("naive", JULY[0]),
        ("naive", JULY[1]),
    }
    assert table.existing_keys("coffee", "v2.0", ["naive"], JULY) == set()


def test_a_catalog_table_has_no_history_and_optimizes_only_as_delta(table):
    table.write(_frame("naive", JULY[0]))
    with pytest.raises(
        ConfigError, match="needs a Delta table named by a path; .* a catalog table"
    ):
        table.history()
    if table.table_format == "parquet":
        with pytest.raises(ConfigError, match="optimize needs a Delta table"):
            table.optimize(retain_hours=168)
        return
    table.write(_frame("naive", JULY[1]))
    # One partition per forecast (issue 24): two forecasts are two partitions of one file
    # each, nothing to compact (test_delta_table compacts a table of the older layout).
    assert table.optimize(retain_hours=168) == {"files_added": 0, "files_removed": 0}
    assert table.read().count() == 40
