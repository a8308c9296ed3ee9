"""The pyfunc model registered versions hold: compatible with versions registered earlier."""

from __future__ import annotations

import datetime as dt

import cloudpickle

from forecast_core.models.naive import NaiveForecaster
from forecast_core.pyfunc_model import PathSamplerModel


def test_versions_pickled_under_the_old_module_path_still_load(coffee_history, monkeypatch):
    # Versions registered before 0.1.0's split name the class
    # forecast_core.mlflow_registry.PathSamplerModel; that module keeps the name importable.
    fitted = NaiveForecaster().fit(coffee_history, dt.date(2024, 7, 1))
    wrapped = PathSamplerModel(fitted, "coffee", ())
    monkeypatch.setattr(PathSamplerModel, "__module__", "forecast_core.mlflow_registry")
    data = cloudpickle.dumps(wrapped)
    monkeypatch.undo()
    assert b"forecast_core.mlflow_registry" in data
    loaded = cloudpickle.loads(data)
    assert type(loaded) is PathSamplerModel
    assert loaded.forecaster.training_date_ == dt.date(2024, 7, 1)
