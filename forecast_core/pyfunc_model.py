"""The ``mlflow.pyfunc`` face of a fitted ``Forecaster``: history frame in, sample paths out.

What a registered version holds: ``mlflow.pyfunc.load_model(uri).predict(history_frame,
params={"forecast_date": "2025-01-15"})`` returns the sample paths. The registry adapter
(``mlflow_registry``) logs and loads it.
"""

from __future__ import annotations

import datetime as dt
from importlib import metadata
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

from forecast_core import __version__
from forecast_core.data.history import OBSERVATION_PRICE_COLUMNS, MarketHistory
from forecast_core.models.base import DEFAULT_HORIZON, DEFAULT_N_PATHS, Forecaster

# Explicit requirements: MLflow's environment inference costs seconds per model.
_REQUIREMENT_DISTRIBUTIONS = ("numpy", "pandas", "statsmodels", "xgboost-cpu", "cloudpickle")


class PathSamplerModel(PythonModel):
    """The pyfunc face of a fitted ``Forecaster``: history frame in, sample paths out.

    ``predict(history, params={"forecast_date": ..., "horizon": 14, "n_paths": 2000,
    "seed": 0})`` takes a frame in the observation schema (date, open, high, low, close
    and the weather features) and returns one row per path: ``path_id, day_1 .. day_H``.
    Without ``forecast_date`` the day after the newest row is forecast.
    """

    def __init__(
        self, forecaster: Forecaster, commodity: str, weather_features: tuple[str, ...]
    ) -> None:
        self.forecaster = forecaster
        self.commodity = commodity
        self.weather_features = weather_features

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        params = params or {}
        frame = model_input.assign(date=pd.to_datetime(model_input["date"])).sort_values("date")
        history = MarketHistory(self.commodity, frame.reset_index(drop=True), self.weather_features)
        forecast_date = history.last_date + dt.timedelta(days=1)
        if params.get("forecast_date"):
            forecast_date = dt.date.fromisoformat(params["forecast_date"])
        paths = self.forecaster.sample_paths(
            history,
            forecast_date,
            int(params.get("horizon", DEFAULT_HORIZON)),
            int(params.get("n_paths", DEFAULT_N_PATHS)),
            int(params.get("seed", 0)),
        )
        days = {f"day_{k + 1}": paths[:, k] for k in range(paths.shape[1])}
        return pd.DataFrame({"path_id": np.arange(paths.shape[0]), **days})


def signature(weather_features: tuple[str, ...]) -> ModelSignature:
    """The input columns and ``predict`` parameters of a ``PathSamplerModel``."""
    columns: list[ColSpec | TensorSpec] = [ColSpec("datetime", "date")]
    columns += [ColSpec("double", name) for name in OBSERVATION_PRICE_COLUMNS[1:]]
    columns += [ColSpec("double", name, required=False) for name in weather_features]
    return ModelSignature(
        inputs=Schema(columns),
        params=ParamSchema(
            [
                ParamSpec("forecast_date", "string", ""),
                ParamSpec("horizon", "long", DEFAULT_HORIZON),
                ParamSpec("n_paths", "long", DEFAULT_N_PATHS),
                ParamSpec("seed", "long", 0),
            ]
        ),
    )


def pip_requirements() -> list[str]:
    """Pinned requirements of a logged model: this package, MLflow and the model libraries."""
    requirements = [f"commodity-forecast=={__version__}", f"mlflow-skinny=={mlflow.__version__}"]
    for distribution in _REQUIREMENT_DISTRIBUTIONS:
        try:
            requirements.append(f"{distribution}=={metadata.version(distribution)}")
        except metadata.PackageNotFoundError:
            continue
    return requirements
