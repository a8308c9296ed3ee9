"""The daily job fed from Delta input tables, day by day: what it reads, and its lineage."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from deltalake import DeltaTable

from forecast_core.config import StoreConfig
from forecast_core.tables import delta_log
from forecast_core.tables.inputs import read_dataset

pytestmark = pytest.mark.slow
FIRST_DAY = dt.date(2025, 11, 11)  # a Tuesday; the sample has prices on it and the next two
NAIVE = ("--models", "naive", "--n-paths", "50", "--max-staleness-days", "1")


@pytest.fixture
def coffee(sample_dataset):
    prices = sample_dataset.prices
    return prices[prices["commodity"] == "coffee"]


def _csv(folder: Path, name: str, rows) -> str:
    path = folder / name
    rows.assign(date=rows["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return str(path)


def _distributions_commits(home: Path) -> list[dict[str, object]]:
    """The user metadata of every write to the distributions table, oldest first."""
    table = delta_log.open_table(StoreConfig.embedded(home).table_location)
    assert table is not None
    return [
        json.loads(str(commit["user_metadata"]))
        for commit in reversed(delta_log.history(table))
        if commit["operation"] == "WRITE"
    ]


def _forecast_cutoffs(home: Path) -> dict[dt.date, dt.date]:
    """forecast_start_date -> data_cutoff_date of the naive forecasts written."""
    table = DeltaTable(StoreConfig.embedded(home).table_location)
    rows = table.to_pandas(columns=["forecast_start_date", "data_cutoff_date", "model_name"])
    naive = rows[rows["model_name"] == "naive"].drop_duplicates()
    return dict(zip(naive["forecast_start_date"], naive["data_cutoff_date"], strict=True))


def test_three_days_of_loads_and_daily_runs_see_exactly_the_rows_loaded(
    invoke, home, tmp_path, spark, coffee, sample_dataset
):
    root = str(tmp_path / "lake")
    data = ("--data", root)
    history = coffee[coffee["date"] < str(FIRST_DAY)]
    weather = tmp_path / "weather.parquet"
    sample_dataset.weather.to_parquet(weather)
    loaded = invoke(
        "data",
        "load",
        "--prices",
        _csv(tmp_path, "history.csv", history),
        "--weather",
        str(weather),
        *data,
    )
    assert loaded.exit_code == 0, loaded.output

    for offset in range(3):
        day = FIRST_DAY + dt.timedelta(days=offset)
        forecast_date = day + dt.timedelta(days=1)
        # Before the day's prices arrive, its forecast is refused as stale, writing nothing.
        early = invoke("daily", "--forecast-date", str(forecast_date), *NAIVE, *data)
        assert early.exit_code == 2, early.output
        newest = day - dt.timedelta(days=1)
        assert (
            f"forecast date {forecast_date} is 2 days after the newest coffee price ({newest})"
            in early.output
        )

        rows = coffee[coffee["date"] == str(day)]
        assert len(rows) == 1
        loaded = invoke("data", "load", "--prices", _csv(tmp_path, f"{day}.csv", rows), *data)
        assert loaded.exit_code == 0, loaded.output
        assert f"{root}/prices: 1 rows inserted, 0 updated; version {offset + 1}" in loaded.output
        inputs = read_dataset(root).history("coffee")
        assert inputs.last_date == day
        assert len(inputs.observations) == len(history) + offset + 1

        result = invoke("daily", "--forecast-date", str(forecast_date), *NAIVE, *data)
        assert result.exit_code == 0, result.output
        assert _forecast_cutoffs(home)[forecast_date] == day  # the newest row loaded

    assert _forecast_cutoffs(home) == {
        FIRST_DAY + dt.timedelta(days=k + 1): FIRST_DAY + dt.timedelta(days=k) for k in range(3)
    }
    forecasts = [c for c in _distributions_commits(home) if c["forecast_dates"]]
    assert [c["input_versions"] for c in forecasts] == [
        {"prices": k, "weather": 0} for k in (1, 2, 3)
    ]
    # Spark's Delta reads the tables delta-rs wrote: the same rows.
    via_spark = spark.read.format("delta").load(f"{root}/prices")
    assert via_spark.count() == len(history) + 3
    assert {str(r.date) for r in via_spark.where("date >= '2025-11-11'").collect()} == {
        "2025-11-11",
        "2025-11-12",
        "2025-11-13",
    }


def test_a_corrected_price_changes_the_input_version_the_next_forecast_records(
    invoke, home, tmp_path, coffee
):
    root = str(tmp_path / "lake")
    data = ("--data", root)
    history = coffee[coffee["date"] <= str(FIRST_DAY)]
    assert (
        invoke("data", "load", "--prices", _csv(tmp_path, "h.csv", history), *data).exit_code == 0
    )
    first = invoke("daily", "--forecast-date", "2025-11-12", *NAIVE, *data)
    assert first.exit_code == 0, first.output

    corrected = history.tail(3).head(1).assign(close=lambda f: f["close"] + 1.0)
    fix = invoke("data", "load", "--prices", _csv(tmp_path, "fix.csv", corrected), *data)
    assert f"{root}/prices: 0 rows inserted, 1 updated; version 1" in fix.output
    rerun = invoke("daily", "--forecast-date", "2025-11-12", *NAIVE, *data)
    assert "already present 1" in rerun.output  # a rerun writes nothing, lineage unchanged
    nextday = coffee[coffee["date"] == "2025-11-12"]
    assert (
        invoke("data", "load", "--prices", _csv(tmp_path, "d.csv", nextday), *data).exit_code == 0
    )
    second = invoke("daily", "--forecast-date", "2025-11-13", *NAIVE, *data)
    assert second.exit_code == 0, second.output

    writes = [c for c in _distributions_commits(home) if c["forecast_dates"]]
    assert [(c["forecast_dates"], c["input_versions"]) for c in writes] == [
        ("2025-11-12..2025-11-12", {"prices": 0}),
        ("2025-11-13..2025-11-13", {"prices": 2}),
    ]
