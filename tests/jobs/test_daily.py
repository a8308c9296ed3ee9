"""``forecast daily`` end to end: real MLflow (SQLite), real Spark, a real Parquet table."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from forecast_core.config import StoreConfig
from forecast_core.registry.lifecycle import ModelLifecycle
from forecast_core.registry.store import ModelRegistry
from forecast_core.tables.distributions import DistributionsTable

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


def test_daily_trains_registers_writes_and_a_rerun_writes_nothing(invoke_on, home, spark):
    """On the in-process local session and on the loopback cluster (``spark_master``)."""
    first = invoke_on("daily", "--forecast-date", "2024-07-15")
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

    second = invoke_on("daily", "--forecast-date", "2024-07-15")
    assert second.exit_code == 0, second.output
    assert "trained 0, skipped 4, generated 0, already present 4, failed 0" in second.output
    pd.testing.assert_frame_equal(_table_rows(spark, home), rows)
    assert len(ModelLifecycle(registry.client.tracking_uri).versions("coffee")) == 4


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


def test_pin_retire_and_restore_change_what_daily_uses_and_each_row_names_it(invoke, home, spark):
    """A too-short history is refused up front now, so a model fails here by retirement."""
    models = ("--models", "naive,random_walk", "--n-paths", "50")
    assert invoke("daily", "--forecast-date", "2024-06-28", *models).exit_code == 0
    assert invoke("daily", "--forecast-date", "2024-07-15", *models).exit_code == 0
    assert invoke("models", "pin", "coffee", "naive", "1").exit_code == 0
    assert invoke("models", "retire", "coffee", "random_walk", "2", "--reason", "x").exit_code == 0
    fell_back = invoke("daily", "--forecast-date", "2024-07-16", *models)
    assert fell_back.exit_code == 0, fell_back.output
    assert "pinned models:/coffee_naive/1 serves instead of models:/coffee_naive/2" in (
        fell_back.output
    )
    assert (
        "models:/coffee_random_walk/2 is retired; falling back to models:/coffee_random_walk/1"
        in (fell_back.output)
    )
    assert invoke("models", "retire", "coffee", "random_walk", "1", "--reason", "x").exit_code == 0
    failed = invoke("daily", "--forecast-date", "2024-07-17", *models)
    assert failed.exit_code == 1, failed.output
    assert "failed: random_walk (2024-07-17): DataError: no random_walk model can serve" in (
        failed.output
    )
    assert invoke("models", "restore", "coffee", "random_walk", "2").exit_code == 0
    assert invoke("models", "unpin", "coffee", "naive").exit_code == 0
    assert invoke("daily", "--forecast-date", "2024-07-18", *models).exit_code == 0
    rows = _table_rows(spark, home)
    served = (
        rows[~rows["is_actuals"]]
        .groupby(["model_name", "forecast_start_date"])["model_uri"]
        .unique()
        .map(list)
        .to_dict()
    )
    day = pd.Timestamp
    assert served[("naive", day("2024-07-16").date())] == ["models:/coffee_naive/1"]
    assert served[("random_walk", day("2024-07-16").date())] == ["models:/coffee_random_walk/1"]
    assert ("random_walk", day("2024-07-17").date()) not in served
    assert served[("naive", day("2024-07-17").date())] == ["models:/coffee_naive/1"]
    assert served[("naive", day("2024-07-18").date())] == ["models:/coffee_naive/2"]
    assert served[("random_walk", day("2024-07-18").date())] == ["models:/coffee_random_walk/2"]


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
