"""``inspect``'s light readers (delta-rs, pyarrow) give what Spark gives, and need no Spark."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pytest

from forecast_core.errors import ConfigError
from forecast_core.forecasts import Forecast, actuals_forecast, forecasts_to_frame
from forecast_core.tables.distributions import DistributionsTable
from forecast_core.tables.summary import summarize_forecasts
from tests.job_env import forecast_env

NOW = dt.datetime(2024, 7, 15, 6, 0, tzinfo=dt.UTC)
JULY = [dt.date(2024, 7, day) for day in (15, 16, 17)]
pytestmark = pytest.mark.slow


def _forecast(model: str, start: dt.date, n_paths: int, training: dt.date) -> Forecast:
    return Forecast(
        "coffee",
        model,
        "v1.0",
        start,
        start - dt.timedelta(days=3),
        training,
        f"models:/coffee_{model}/1",
        np.full((n_paths, 14), 100.0),
    )


@pytest.fixture(params=["delta", "parquet"])
def written(spark, tmp_path, request, coffee_history) -> DistributionsTable:
    table = DistributionsTable(spark, str(tmp_path / "distributions"), request.param)
    forecasts = [
        _forecast("naive", JULY[0], 20, dt.date(2024, 7, 1)),
        _forecast("xgboost", JULY[0], 7, dt.date(2024, 7, 1)),
        _forecast("naive", JULY[1], 5, dt.date(2024, 7, 20)),  # trained later: leakage
        _forecast("naive", JULY[2], 3, dt.date(2024, 7, 1)),
    ]
    actuals = actuals_forecast(coffee_history, dt.date(2024, 6, 3))
    assert actuals is not None
    table.write(forecasts_to_frame([*forecasts, actuals], NOW))
    return table


def test_the_light_reader_summarizes_as_spark_does(written):
    light = summarize_forecasts(written.location, written.table_format)
    assert light == written.summarize()
    assert [(e["model_name"], e["n_paths"], e["has_data_leakage"]) for e in light] == [
        ("actuals", 1, False),
        ("naive", 20, False),
        ("xgboost", 7, False),
        ("naive", 5, True),
        ("naive", 3, False),
    ]
    selected = summarize_forecasts(
        written.location, written.table_format, "coffee", JULY[1], JULY[2]
    )
    assert selected == written.summarize("coffee", JULY[1], JULY[2])
    assert len(selected) == 2
    assert summarize_forecasts(written.location, written.table_format, "sugar") == []


def test_as_of_reads_an_older_delta_version_and_is_refused_for_parquet(written):
    if written.table_format == "parquet":
        with pytest.raises(ConfigError, match="needs a Delta table"):
            summarize_forecasts(written.location, "parquet", as_of="0")
        return
    assert summarize_forecasts(written.location, "delta", as_of="0") == []  # as created
    assert len(summarize_forecasts(written.location, "delta", as_of="1")) == 5
    with pytest.raises(ConfigError, match="^--as-of 9: the table's newest version is 1; "):
        summarize_forecasts(written.location, "delta", as_of="9")


def test_no_table_yet_is_an_empty_summary(tmp_path):
    for table_format in ("delta", "parquet"):
        assert summarize_forecasts(str(tmp_path / "none"), table_format) == []


def test_inspect_starts_no_spark(written, tmp_path):
    """With a Spark master nothing listens on, only a run that never starts Spark succeeds."""
    environment = forecast_env(
        tmp_path / "home",
        FORECAST_TABLE=written.location,
        FORECAST_TABLE_FORMAT=written.table_format,
        FORECAST_SPARK_MASTER="spark://127.0.0.1:1",
    )
    result = subprocess.run(
        [sys.executable, "-m", "jobs", "inspect", "--json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["forecasts"]) == 5 and report["models"] == []
    assert not (tmp_path / "home").exists()  # reading never creates the MLflow store
