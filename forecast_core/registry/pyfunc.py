"""The ``mlflow.pyfunc`` face of a fitted ``Forecaster``: data in, the table's sample paths out.

``mlflow.pyfunc.load_model(uri).predict(pd.concat([prices, weather]),
params={"forecast_date": "2025-11-14"})`` takes the raw tables (or a features frame, see
``data.model_input``), applies the jobs' checks and seed rule, and returns the paths the
pipeline writes for that (commodity, model, date) with the same base seed. The model
store (``store``) logs and loads it.

A version is logged from code (MLflow's models-from-code): its code is ``served_model``,
a module of this package that sets a ``PathSamplerModel``, and its model is the artifact
``state`` (``saved_state``: JSON, numpy arrays, XGBoost's own format) that
``load_context`` reads. Nothing is pickled. A version pickled by 0.2.0 or before
unpickles into this class with its fitted model and no state artifact, and still serves.

Loading it needs neither Spark nor Delta: a served model imports MLflow, the models and
the data checks only (``tests/test_pyfunc_model.py`` checks it in a fresh interpreter).
"""

from __future__ import annotations

import datetime as dt
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.pyfunc import PythonModel, PythonModelContext
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec
from mlflow.types.schema import AnyType

from forecast_core import __version__
from forecast_core.config import DEFAULT_MAX_STALENESS_DAYS
from forecast_core.data.history import MarketHistory
from forecast_core.data.model_input import history_from_frame
from forecast_core.data.schemas import PRICE_COLUMNS, WEATHER_COLUMNS
from forecast_core.errors import ConfigError, RegistryError
from forecast_core.models.base import DEFAULT_HORIZON, DEFAULT_N_PATHS, Forecaster
from forecast_core.registry.saved_state import STATE_ARTIFACT, read_saved_state
from forecast_core.seeds import forecast_seed
from forecast_core.servable import check_forecast_range

# Explicit requirements: MLflow's environment inference costs seconds per model. Nothing is
# pickled, so cloudpickle is not one (mlflow-skinny brings its own for MLflow's use).
_REQUIREMENT_DISTRIBUTIONS = ("numpy", "pandas", "statsmodels", "xgboost-cpu")
# The code every version is logged from (MLflow's models-from-code): it sets the model.
SERVED_MODEL_CODE = Path(__file__).with_name("served_model.py")
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

    Built empty by ``served_model`` and filled by ``load_context`` from the version's
    state; built with a fitted model to predict before logging (the output schema). The
    three attributes keep the names versions pickled by 0.2.0 and before hold.
    """

    def __init__(
        self,
        forecaster: Forecaster | None = None,
        commodity: str = "",
        weather_features: tuple[str, ...] = (),
    ) -> None:
        self.forecaster = forecaster
        self.commodity = commodity
        self.weather_features = weather_features

    def load_context(self, context: PythonModelContext) -> None:
        """Rebuild the fitted model from the version's ``state`` artifact.

        Raises:
            RegistryError: The state's format is not one this release reads (one line), or
                a version logged from code holds no state.
        """
        folder = context.artifacts.get(STATE_ARTIFACT)
        if folder is not None:
            served = read_saved_state(Path(folder))
            self.forecaster = served.forecaster
            self.commodity = served.commodity
            self.weather_features = served.weather_features
        elif self.forecaster is None:  # a pickled version arrives with its model
            raise RegistryError(
                f"the model holds no {STATE_ARTIFACT!r} artifact; expected the state "
                f"of a fitted model"
            )

    def fitted(self) -> Forecaster:
        """The fitted model served (after ``load_context``)."""
        if self.forecaster is None:
            raise RegistryError("the model is not loaded; expected load_context first")
        return self.forecaster

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
        forecaster = self.fitted()
        seed = forecast_seed(int(params["seed"]), self.commodity, forecaster.name, forecast_date)
        paths = forecaster.sample_paths(
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
        forecaster = self.fitted()
        training_date = forecaster.training_date_
        if training_date is not None and forecast_date < training_date:
            raise ConfigError(
                f"forecast date {forecast_date} is before the training date of this "
                f"{self.commodity} {forecaster.name} version ({training_date}); expected "
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
