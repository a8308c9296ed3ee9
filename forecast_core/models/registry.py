"""Models by name: adding a model is one file and one line in ``_MODEL_CLASSES``."""

from __future__ import annotations

import re
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
# A model version labels registry versions, MLflow model names and table folders, and is
# matched in folder globs: letters, digits, dots, dashes and underscores only.
MODEL_VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


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


def check_model_version(version: str) -> str:
    """``version`` if it is a valid model version label.

    Raises:
        ConfigError: ``version`` has characters outside ``MODEL_VERSION_PATTERN``.
    """
    if not isinstance(version, str) or not re.match(MODEL_VERSION_PATTERN, version):
        raise ConfigError(
            f"model version {version!r} is not valid; expected letters, digits, "
            f"dots, dashes or underscores, like 'v1.0'"
        )
    return version
