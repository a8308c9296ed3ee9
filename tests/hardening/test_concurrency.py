"""Three backfill shards and a daily run at once, against one MLflow store and one table."""

from __future__ import annotations

import datetime as dt

import pytest

from forecast_core.registry.store import ModelRegistry
from tests.cli_args import Q1_2024_MONTHLY
from tests.hardening.conftest import finish, start, table_rows
from tests.job_env import forecast_env
from tests.servers import mlflow_server

pytestmark = pytest.mark.slow
MODELS = ("naive", "random_walk")
N_PATHS = 200
RUN = ["--models", ",".join(MODELS), "--n-paths", str(N_PATHS)]
BACKFILL = ["backfill", *Q1_2024_MONTHLY, *RUN]
# Inside shard 1's window: the daily run races it for the same model slot and forecast.
DAILY = ["daily", "--forecast-date", "2024-02-15", "--train-frequency", "monthly", *RUN]


def _race(home, tracking_uri: str) -> None:
    workers = [
        start(
            BACKFILL,
            forecast_env(
                home,
                MLFLOW_TRACKING_URI=tracking_uri,
                JOB_COMPLETION_INDEX=str(index),
                FORECAST_SHARD_COUNT="3",
            ),
        )
        for index in range(3)
    ]
    workers.append(start(DAILY, forecast_env(home, MLFLOW_TRACKING_URI=tracking_uri)))
    results = [finish(worker) for worker in workers]
    for result in results:
        assert result.returncode == 0, result.output


def _assert_each_forecast_and_model_exists_once(spark, home, tracking_uri: str) -> None:
    rows = table_rows(spark, home)
    forecasts = rows[~rows["is_actuals"]]
    per_key = forecasts.groupby(["model_name", "forecast_start_date"])["path_id"]
    assert len(per_key) == len(MODELS) * 91  # every expected forecast exists
    assert (per_key.size() == N_PATHS).all()  # ... exactly once: no duplicate rows
    assert (per_key.nunique() == N_PATHS).all()
    assert rows["is_actuals"].sum() == 91
    registry = ModelRegistry(tracking_uri)
    for name in MODELS:
        slots = [v.training_date for v in registry.list_versions("coffee", name, "v1.0")]
        assert slots == [dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]


def test_concurrent_writers_against_an_mlflow_server_on_postgresql(tmp_path, spark, postgres_uri):
    home = tmp_path / "home"
    with mlflow_server(tmp_path, backend_store_uri=postgres_uri) as uri:
        _race(home, uri)
        _assert_each_forecast_and_model_exists_once(spark, home, uri)


def test_concurrent_writers_against_the_embedded_sqlite_store(tmp_path, spark):
    home = tmp_path / "home"
    home.mkdir()
    tracking_uri = f"sqlite:///{home / 'mlflow.db'}"
    ModelRegistry(tracking_uri).list_versions("coffee", "naive", "v1.0")  # create the store first
    _race(home, tracking_uri)
    _assert_each_forecast_and_model_exists_once(spark, home, tracking_uri)
