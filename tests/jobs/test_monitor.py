"""``forecast monitor`` end to end: real Spark, Delta and MLflow (SQLite).

Prices are synthetic and reach today, so the monitor's "today" is the machine's (its
clock stopped for the test, ``stopped_clock``): a random walk whose own models (naive,
random_walk) are calibrated by construction.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from forecast_core.config import StoreConfig
from tests.evaluation.synthetic import weekday_history

pytestmark = pytest.mark.slow
MODELS = ("--models", "naive,random_walk", "--n-paths", "300")


@pytest.fixture
def fresh_data(tmp_path: Path, stopped_clock: dt.date) -> Path:
    """Two years of synthetic coffee prices up to the last weekday on or before today."""
    today = stopped_clock
    history = weekday_history(first=today - dt.timedelta(days=730), last=today, seed=3)
    prices = history.observations.assign(commodity="coffee")
    folder = tmp_path / "data"
    folder.mkdir()
    prices.to_csv(folder / "prices.csv", index=False)
    return folder


def test_monitor_is_healthy_after_the_jobs_ran_and_breaches_without_todays_forecast(
    invoke, home, spark, fresh_data, stopped_clock
):
    today = stopped_clock
    data = ("--data", str(fresh_data), "--commodity", "coffee")
    start = today - dt.timedelta(days=30)
    backfill = invoke(
        "backfill",
        "--start",
        str(start),
        "--end",
        str(today - dt.timedelta(days=1)),
        "--train-frequency",
        "monthly",
        *MODELS,
        *data,
    )
    assert backfill.exit_code == 0, backfill.output
    # Wide thresholds: a month of forecasts is a small sample, and the synthetic series
    # moves with today's date. The known-answer checks are in tests/evaluation.
    loose = ("--coverage-80-min", "0.4", "--coverage-80-max", "1", "--min-crps-skill", "-10")
    watch = ("--models", "naive,random_walk", "--lookback-days", "30", *data, *loose)

    missing = invoke("monitor", *watch)
    assert missing.exit_code == 1, missing.output
    assert f"BREACH coffee naive missing_forecast - (expected a forecast for {today})" in (
        missing.output
    )
    assert "coverage_80" not in missing.output

    daily = invoke("daily", "--train-frequency", "monthly", *MODELS, *data)
    assert daily.exit_code == 0, daily.output
    healthy = invoke("monitor", *watch, "--json")
    assert healthy.exit_code == 0, healthy.output
    report = json.loads(healthy.output)
    assert report["breaches"] == []
    (entry,) = report["commodities"]
    assert 0.65 <= entry["figures"]["naive"]["coverage_80"] <= 0.95
    run = MlflowClient(StoreConfig.embedded(home).tracking_uri).get_run(entry["mlflow_run_id"])
    assert run.data.tags["kind"] == "monitor"
    assert run.data.metrics["breaches"] == 0
    assert run.data.metrics["naive/coverage_80"] == entry["figures"]["naive"]["coverage_80"]

    strict = invoke("monitor", *watch, "--coverage-80-min", "0.99", "--coverage-80-max", "1")
    assert strict.exit_code == 1
    assert "BREACH coffee naive coverage_80" in strict.output
