"""The same jobs against a real ``mlflow server`` on loopback instead of the embedded store."""

from __future__ import annotations

import datetime as dt

import mlflow
import pytest

from forecast_core.registry.store import ModelRegistry
from tests.servers import mlflow_server

pytestmark = pytest.mark.slow


def test_daily_registers_and_forecasts_through_a_tracking_server(
    invoke, tmp_path, spark, coffee_history
):
    with mlflow_server(tmp_path) as uri:
        args = (
            "daily",
            "--forecast-date",
            "2024-07-15",
            "--models",
            "naive,sarimax",
            "--n-paths",
            "100",
        )
        first = invoke(*args, env={"MLFLOW_TRACKING_URI": uri})
        assert first.exit_code == 0, first.output
        assert "trained 2, skipped 0, generated 2" in first.output
        second = invoke(*args, env={"MLFLOW_TRACKING_URI": uri})
        assert "generated 0, already present 2" in second.output

        registry = ModelRegistry(uri)
        versions = registry.list_versions("coffee", "sarimax", "v1.0")
        assert [v.training_date for v in versions] == [dt.date(2024, 7, 1)]
        history_frame = coffee_history.as_of(dt.date(2024, 7, 15)).observations
        paths = mlflow.pyfunc.load_model(versions[0].uri).predict(
            history_frame, params={"forecast_date": "2024-07-15", "n_paths": 10}
        )
        assert paths.shape == (10, 15)
