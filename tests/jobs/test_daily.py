"""``forecast daily`` end to end: real MLflow (SQLite), real Spark, a real Parquet table."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from forecast_core.config import StoreConfig
from forecast_core.mlflow_registry import ModelRegistry
from forecast_core.tables import DistributionsTable

pytestmark = pytest.mark.slow
ALL_MODELS = ("naive", "random_walk", "sarimax", "xgboost")


def _table_rows(spark, home) -> pd.DataFrame:
    table = DistributionsTable(spark, StoreConfig.embedded(home).table_location).read()
    frame = table.toPandas().drop(columns="generation_timestamp")
    return frame.sort_values(["model_name", "forecast_start_date", "path_id"]).reset_index(
        drop=True
    )


def _registry(home) -> ModelRegistry:
    store = StoreConfig.embedded(home)
    return ModelRegistry(store.tracking_uri, store.artifact_root)


def test_daily_trains_registers_writes_and_a_rerun_writes_nothing(invoke, home, spark):
    first = invoke("daily", "--forecast-date", "2024-07-15")
    assert first.exit_code == 0, first.output
    assert "Checking xgboost... retraining needed (last: never, next: 2024-07-01)" in first.output
    assert "Using model trained on 2024-07-01" in first.output
    assert "trained 4, skipped 0, generated 4, already present 0, failed 0" in first.output

    rows = _table_rows(spark, home)
    forecasts = rows[~rows["is_actuals"]]
    assert forecasts.groupby("model_name").size().to_dict() == dict.fromkeys(ALL_MODELS, 2000)
    assert set(forecasts["training_date"]) == {dt.date(2024, 7, 1)}
    assert set(forecasts["data_cutoff_date"]) == {dt.date(2024, 7, 12)}
    assert not rows["has_data_leakage"].any()
    assert rows["is_actuals"].sum() == 1
    registry = _registry(home)
    for name in ALL_MODELS:
        versions = registry.list_versions("coffee", name, "v1.0")
        assert [v.training_date for v in versions] == [dt.date(2024, 7, 1)]

    second = invoke("daily", "--forecast-date", "2024-07-15")
    assert second.exit_code == 0, second.output
    assert "trained 0, skipped 4, generated 0, already present 4, failed 0" in second.output
    pd.testing.assert_frame_equal(_table_rows(spark, home), rows)
    assert len(registry.describe_versions("coffee")) == 4


def test_daily_retrains_only_when_the_cadence_is_due(invoke, home):
    naive = ("--models", "naive", "--n-paths", "50")
    assert invoke("daily", "--forecast-date", "2024-07-15", *naive).exit_code == 0
    quiet = invoke("daily", "--forecast-date", "2024-12-31", *naive)
    assert (
        "Checking naive... no retraining needed (last: 2024-07-01, next: 2025-01-01)"
        in quiet.output
    )
    assert "Using model trained on 2024-07-01" in quiet.output
    # A job that missed 2025-01-01 and runs late still trains for the missed slot.
    late = invoke("daily", "--forecast-date", "2025-01-06", *naive)
    assert "Checking naive... retraining needed (last: 2024-07-01, next: 2025-01-01)" in late.output
    assert "Trained and registered Coffee_Naive_2025-01-01_v1.0" in late.output
    assert "data cutoff 2024-12-31" in late.output
    versions = _registry(home).list_versions("coffee", "naive", "v1.0")
    assert [v.training_date for v in versions] == [dt.date(2024, 7, 1), dt.date(2025, 1, 1)]


def test_one_model_failing_does_not_stop_the_others(invoke, home, spark, sample_dataset, tmp_path):
    # 120 trading days: enough for naive (30) and random_walk (60), not sarimax/xgboost (250).
    prices = sample_dataset.prices
    short = prices[(prices["commodity"] == "coffee") & (prices["date"] < "2024-07-13")].tail(120)
    data = tmp_path / "short"
    data.mkdir()
    short.assign(date=short["date"].dt.strftime("%Y-%m-%d")).to_csv(
        data / "prices.csv", index=False
    )
    result = invoke(
        "daily", "--forecast-date", "2024-07-15", "--n-paths", "50", "--data", str(data)
    )
    assert result.exit_code == 1, result.output
    assert (
        "failed: sarimax (window 2024-07-01): DataError: model 'sarimax' needs at least 250"
        in result.output
    )
    assert "failed: xgboost (window 2024-07-01)" in result.output
    rows = _table_rows(spark, home)
    assert set(rows.loc[~rows["is_actuals"], "model_name"]) == {"naive", "random_walk"}


def test_inspect_json_reports_forecasts_and_model_versions(invoke, home):
    assert (
        invoke(
            "daily",
            "--forecast-date",
            "2024-07-15",
            "--models",
            "naive,random_walk",
            "--n-paths",
            "30",
        ).exit_code
        == 0
    )
    result = invoke("inspect", "--commodity", "coffee", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    naive = next(f for f in report["forecasts"] if f["model_name"] == "naive")
    assert naive == {
        "commodity": "coffee",
        "model_name": "naive",
        "model_version": "v1.0",
        "forecast_start_date": "2024-07-15",
        "data_cutoff_date": "2024-07-12",
        "training_date": "2024-07-01",
        "model_uri": "models:/coffee_naive/1",
        "is_actuals": False,
        "n_paths": 30,
        "has_data_leakage": False,
    }
    assert [m["tags"]["model_id"] for m in report["models"]] == [
        "Coffee_Naive_2024-07-01_v1.0",
        "Coffee_RandomWalk_2024-07-01_v1.0",
    ]
