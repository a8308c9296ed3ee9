"""Forecasting models: one contract (``base.Forecaster``), one file per model, a registry."""

from forecast_core.models.base import DEFAULT_HORIZON, DEFAULT_N_PATHS, Forecaster
from forecast_core.models.registry import build_model, get_model_class
from forecast_core.names import (
    MODEL_VERSION_PATTERN,
    MODELS,
    check_model_version,
    parse_model_names,
)

__all__ = [
    "DEFAULT_HORIZON",
    "DEFAULT_N_PATHS",
    "MODELS",
    "MODEL_VERSION_PATTERN",
    "Forecaster",
    "build_model",
    "check_model_version",
    "get_model_class",
    "parse_model_names",
]
