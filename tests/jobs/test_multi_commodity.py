"""Every commodity in one run: one commodity's broken or stale data fails it alone.

Real Spark and Delta, real MLflow (SQLite); the table is read back with delta-rs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable

from tests.cli_args import Q1_2024_MONTHLY

pytestmark = pytest.mark.slow
FAST = ("--models", "naive", "--n-paths", "20")


@pytest.fixture
def broken_data(tmp_path: Path, sample_dataset) -> Path:
    """The sample with sugar's prices broken (a negative close) and cocoa's stale (to
    2024-06-28): coffee alone is fit to forecast 2024-07-15."""
    prices = sample_dataset.prices.copy()
    sugar_day = (prices["commodity"] == "sugar") & (prices["date"] == "2020-03-02")
    prices.loc[sugar_day, "close"] = -1.0
    stale = (prices["commodity"] == "cocoa") & (prices["date"] > "2024-06-28")
    prices = prices[~stale & (prices["date"] < "2024-07-13")]
    folder = tmp_path / "data"
    folder.mkdir()
    prices.to_csv(folder / "prices.csv", index=False)
    sample_dataset.weather.to_csv(folder / "weather.csv", index=False)
    return folder


def _forecast_keys(home: Path) -> set[tuple[str, dt.date]]:
    rows = DeltaTable(str(home / "tables" / "distributions")).to_pandas(
        columns=["commodity", "model_name", "forecast_start_date", "is_actuals"]
    )
    forecasts = rows[~rows["is_actuals"]]
    return set(zip(forecasts["commodity"], forecasts["forecast_start_date"], strict=True))


def test_all_commodities_run_and_the_broken_ones_fail_alone(invoke, home, spark, broken_data):
    result = invoke(
        "daily",
        "--forecast-date",
        "2024-07-15",
        "--commodity",
        "all",
        "--data",
        str(broken_data),
        *FAST,
    )
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Failed commodities: cocoa (forecast date 2024-07-15 is 17 days")
    assert "; sugar (prices.csv: column 'close': non-positive value -1.0 on 2020-03-02" in last
    assert "coffee" not in last
    assert _forecast_keys(home) == {("coffee", dt.date(2024, 7, 15))}


def test_one_broken_commodity_alone_is_bad_input_and_writes_nothing(invoke, home, broken_data):
    result = invoke(
        "daily",
        "--forecast-date",
        "2024-07-15",
        "--commodity",
        "sugar",
        "--data",
        str(broken_data),
        *FAST,
    )
    assert result.exit_code == 2, result.output
    assert "non-positive value -1.0 on 2020-03-02 (sugar)" in result.output
    assert not home.exists()


def test_backfill_shards_split_commodity_windows_and_cover_everything(invoke, home, spark):
    commodities = ("--commodity", "coffee,sugar,cocoa")
    for index in range(2):
        result = invoke(
            "backfill",
            *Q1_2024_MONTHLY,
            *commodities,
            *FAST,
            "--shard-index",
            str(index),
            "--shard-count",
            "2",
        )
        assert result.exit_code == 0, result.output
    keys = _forecast_keys(home)
    dates = pd.date_range("2024-01-01", "2024-03-31").date
    assert keys == {(c, d) for c in ("coffee", "sugar", "cocoa") for d in dates}


def test_evaluate_scores_each_commodity_and_one_without_forecasts_fails_alone(
    invoke, home, tmp_path, spark
):
    span = ("--start", "2024-03-01", "--end", "2024-03-07", "--train-frequency", "monthly")
    models = ("--models", "naive,random_walk", "--n-paths", "50")
    assert invoke("backfill", *span, "--commodity", "coffee,sugar", *models).exit_code == 0
    output = tmp_path / "evaluation"
    result = invoke(
        "evaluate",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-07",
        "--commodity",
        "all",
        "--models",
        "naive,random_walk",
        "--output",
        str(output),
    )
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1].startswith("Failed commodities: cocoa (")
    metrics = DeltaTable(str(home / "tables" / "forecast_metrics")).to_pandas(columns=["commodity"])
    assert set(metrics["commodity"]) == {"coffee", "sugar"}
    assert (output / "coffee" / "scores.csv.gz").is_file()
    assert (output / "sugar" / "scores.csv.gz").is_file()
