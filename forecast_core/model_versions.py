"""Registered model versions as the pipeline sees them: ids, names and resolution by date.

No MLflow here: the registry adapter (``mlflow_registry``) builds these, and the pipeline
and the in-memory fakes of the tests use them without it. MLflow cannot compare tags with
``<=``, so a run fetches the versions of a (commodity, model, model_version) once and
resolves dates in memory (``resolve_model``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from forecast_core.data.schemas import commodity_info


def model_id(commodity: str, display_name: str, training_date: dt.date, model_version: str) -> str:
    """The id users know a trained model by: ``Coffee_XGBoost_2025-01-01_v1.0``."""
    commodity_name = commodity_info(commodity).display_name
    return f"{commodity_name}_{display_name}_{training_date}_{model_version}"


def registered_model_name(commodity: str, model_name: str) -> str:
    """The registered model holding every version of ``model_name`` for ``commodity``."""
    return f"{commodity}_{model_name}"


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered model version as the pipeline uses it."""

    name: str
    version: int
    commodity: str
    model_name: str
    model_version: str
    training_date: dt.date
    data_cutoff_date: dt.date
    model_id: str
    run_id: str

    @property
    def uri(self) -> str:
        """The registry URI that loads this version (``models:/coffee_naive/3``)."""
        return f"models:/{self.name}/{self.version}"


def resolve_model(
    versions: list[ModelVersionInfo], forecast_date: dt.date
) -> ModelVersionInfo | None:
    """The most recent version with ``training_date <= forecast_date``, or None.

    Two versions for the same training date (racing jobs) resolve to the lower version
    number: the first registered, so earlier forecasts keep their model.
    """
    eligible = [v for v in versions if v.training_date <= forecast_date]
    if not eligible:
        return None
    return max(eligible, key=lambda v: (v.training_date, -v.version))


def last_training_date(versions: list[ModelVersionInfo]) -> dt.date | None:
    """The newest training date among ``versions``, or None if there are none."""
    return max((v.training_date for v in versions), default=None)
