"""Models by name: adding a model is one file and one line in ``_MODEL_CLASSES``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from forecast_core.errors import ConfigError
from forecast_core.models.base import Forecaster
from forecast_core.models.naive import NaiveForecaster
from forecast_core.models.random_walk import RandomWalkForecaster
from forecast_core.models.sarimax import SarimaxForecaster
from forecast_core.models.xgboost_model import XGBoostForecaster

_MODEL_CLASSES: tuple[type[Forecaster], ...] = (
    NaiveForecaster,
    RandomWalkForecaster,
    SarimaxForecaster,
    XGBoostForecaster,
)

MODELS: dict[str, type[Forecaster]] = {cls.name: cls for cls in _MODEL_CLASSES}


def get_model_class(name: str) -> type[Forecaster]:
    """The model class registered as ``name``.

    Raises:
        ConfigError: ``name`` is not registered (the message lists the valid names).
    """
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; expected one of: {', '.join(sorted(MODELS))}"
        ) from None


def build_model(name: str, params: dict[str, Any] | None = None) -> Forecaster:
    """A new, unfitted model ``name`` with ``params`` over its defaults."""
    return get_model_class(name)(**(params or {}))


def parse_model_names(names: Iterable[str]) -> tuple[str, ...]:
    """Validate and de-duplicate model names, keeping their order."""
    cleaned = tuple(dict.fromkeys(name.strip().lower() for name in names if name.strip()))
    if not cleaned:
        raise ConfigError(f"no model given; expected one or more of: {', '.join(sorted(MODELS))}")
    for name in cleaned:
        get_model_class(name)
    return cleaned
