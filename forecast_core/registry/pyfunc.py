"""The ``mlflow.pyfunc`` face of a fitted ``Forecaster``: data in, the table's sample paths out.

``mlflow.pyfunc.load_model(uri).predict(pd.concat([prices, weather]),
params={"forecast_date": "2025-11-14"})`` takes the raw tables (or a features frame, see
``data.model_input``), applies the jobs' checks and seed rule, and returns the paths the
pipeline writes for that (commodity, model, date) with the same base seed. The model
store (``store``) logs and loads it.

Loading it needs neither Spark nor Delta: a served model imports MLflow, the models and
the data checks only (``tests/test_pyfunc_model.py`` checks it in a fresh interpreter).
"""

from __future__ import annotations

import datetime as dt
import warnings
from importlib import metadata
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec
from mlflow.types.schema import AnyType

from forecast_core import __version__
from forecast_core.config import DEFAULT_MAX_STALENESS_DAYS
from forecast_core.data.history import MarketHistory
from forecast_core.data.model_input import history_from_frame
from forecast_core.data.schemas import PRICE_COLUMNS, WEATHER_COLUMNS
from forecast_core.errors import ConfigError
from forecast_core.models.base import DEFAULT_HORIZON, DEFAULT_N_PATHS, Forecaster
from forecast_core.seeds import forecast_seed
from forecast_core.servable import check_forecast_range

# Explicit requirements: MLflow's environment inference costs seconds per model.
_REQUIREMENT_DISTRIBUTIONS = ("numpy", "pandas", "statsmodels", "xgboost-cpu", "cloudpickle")
# Trading days of the logged input example: enough for every model's lagged features.
EXAMPLE_ROWS = 60
EXAMPLE_PATHS = 100
PARAMS = ParamSchema(
    [
        ParamSpec("forecast_date", "string", ""),
        ParamSpec("horizon", "long", DEFAULT_HORIZON),
        ParamSpec("n_paths", "long", DEFAULT_N_PATHS),
        ParamSpec("seed", "long", 0),
        ParamSpec("max_staleness_days", "long", DEFAULT_MAX_STALENESS_DAYS),
    ]
)


class PathSamplerModel(PythonModel):
    """The pyfunc face of a fitted ``Forecaster``: data in, sample paths out.

    ``predict(frame, params={"forecast_date": "2025-11-14", "horizon": 14, "n_paths": 2000,
    "seed": 0, "max_staleness_days": 5})`` returns one row per path: ``path_id, day_1 ..
    day_H``. ``seed`` is the base seed of the jobs (``--seed``); the stream of the forecast
    follows their rule, so the paths equal the table's rows for that key. Without
    ``forecast_date`` the day after the newest price is forecast.
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
        params = {**{spec.name: spec.default for spec in PARAMS.params}, **(params or {})}
        today = dt.datetime.now(dt.UTC).date()
        history = history_from_frame(model_input, self.commodity, self.weather_features, today)
        forecast_date = self._forecast_date(str(params["forecast_date"]), history)
        check_forecast_range(
            history, forecast_date, forecast_date, today, int(params["max_staleness_days"])
        )
        seed = forecast_seed(
            int(params["seed"]), self.commodity, self.forecaster.name, forecast_date
        )
        paths = self.forecaster.sample_paths(
            history, forecast_date, int(params["horizon"]), int(params["n_paths"]), seed
        )
        days = {f"day_{k + 1}": paths[:, k] for k in range(paths.shape[1])}
        return pd.DataFrame({"path_id": np.arange(paths.shape[0], dtype=np.int32), **days})

    def _forecast_date(self, text: str, history: MarketHistory) -> dt.date:
        """The requested forecast date, refused before the version's training date."""
        if not text:
            return history.last_date + dt.timedelta(days=1)
        try:
            forecast_date = dt.date.fromisoformat(text)
        except ValueError:
            raise ConfigError(
                f"forecast_date {text!r} is not a date; expected YYYY-MM-DD"
            ) from None
        training_date = self.forecaster.training_date_
        if training_date is not None and forecast_date < training_date:
            raise ConfigError(
                f"forecast date {forecast_date} is before the training date of this "
                f"{self.commodity} {self.forecaster.name} version ({training_date}); expected "
                f"{training_date} or later, the first date it can serve"
            )
        return forecast_date


def input_example(
    known: MarketHistory, training_date: dt.date
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The logged example: the newest trading days of the features frame, forecast on the
    training date (allowing the data's gap before it if that is longer than the default).

    MLflow predicts the example when logging it; ``EXAMPLE_PATHS`` paths keep that cheap.
    Its dates are ISO text, the form the model documents.
    """
    frame = known.observations.tail(EXAMPLE_ROWS).reset_index(drop=True)
    # Dates as users write them (ISO text); a JSON timestamp would come back as text that
    # is not an ISO date.
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    params: dict[str, Any] = {
        "forecast_date": training_date.isoformat(),
        "n_paths": EXAMPLE_PATHS,
    }
    gap = (training_date - known.last_date).days
    if gap > DEFAULT_MAX_STALENESS_DAYS:
        params["max_staleness_days"] = gap
    return frame, params


def signature(example: pd.DataFrame, output: pd.DataFrame) -> ModelSignature:
    """Both input forms, the output paths and the ``predict`` parameters.

    Inferred from the example (the features frame), every column but ``date`` made optional
    so that the raw tables' columns (also listed, optional) can replace them.
    """
    with warnings.catch_warnings():
        # path_id is an integer column that is never missing: MLflow's hint does not apply.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        inferred = infer_signature(example, output)
    assert isinstance(inferred.inputs, Schema) and inferred.outputs is not None
    # ``date`` is checked by the model itself (ISO text or typed dates): a declared datetime
    # type would make MLflow parse text leniently first (11/01/2012 became 2012-11-01).
    columns: list[ColSpec | TensorSpec] = [
        ColSpec(AnyType(), "date", required=True)
        if spec.name == "date"
        else ColSpec(spec.type, spec.name, required=False)
        for spec in inferred.inputs.inputs
        if isinstance(spec, ColSpec)
    ]
    named = {spec.name for spec in columns}
    raw = [name for name in (*PRICE_COLUMNS, *WEATHER_COLUMNS) if name not in named]
    for name in dict.fromkeys(raw):
        kind = "string" if name in ("commodity", "region") else "double"
        columns.append(ColSpec(kind, name, required=False))
    return ModelSignature(inputs=Schema(columns), outputs=inferred.outputs, params=PARAMS)


def pip_requirements() -> list[str]:
    """Pinned requirements of a logged model: this package, MLflow and the model libraries."""
    requirements = [f"commodity-forecast=={__version__}", f"mlflow-skinny=={mlflow.__version__}"]
    for distribution in _REQUIREMENT_DISTRIBUTIONS:
        try:
            requirements.append(f"{distribution}=={metadata.version(distribution)}")
        except metadata.PackageNotFoundError:
            continue
    return requirements
