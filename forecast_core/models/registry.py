"""Models by name, imported lazily: ``names.MODELS`` maps a name to ``module:Class``.

A model's module (and its libraries: statsmodels, xgboost) is imported when the model is
first built, so naming and validating models costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

from forecast_core.models.base import Forecaster
from forecast_core.models.state import ModelState
from forecast_core.names import MODELS, check_model_name


def get_model_class(name: str) -> type[Forecaster]:
    """The model class registered as ``name``, imported on first use.

    Raises:
        ConfigError: ``name`` is not registered (the message lists the valid names).
    """
    module_name, _, class_name = MODELS[check_model_name(name)].partition(":")
    model_class = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(model_class, type) and issubclass(model_class, Forecaster)):
        raise TypeError(f"{MODELS[name]} is not a Forecaster")
    return model_class


def build_model(name: str, params: dict[str, Any] | None = None) -> Forecaster:
    """A new, unfitted model ``name`` with ``params`` over its defaults."""
    return get_model_class(name)(**(params or {}))


def model_from_state(state: ModelState) -> Forecaster:
    """The fitted model ``state`` describes, rebuilt by the class registered as its model."""
    return get_model_class(state.model).from_state(state)
