"""Forecasting models: one contract (``base.Forecaster``), one file per model, a registry."""

from forecast_core.models.base import DEFAULT_HORIZON, DEFAULT_N_PATHS, Forecaster
from forecast_core.models.registry import MODELS, build_model, get_model_class, parse_model_names

__all__ = [
    "DEFAULT_HORIZON",
    "DEFAULT_N_PATHS",
    "MODELS",
    "Forecaster",
    "build_model",
    "get_model_class",
    "parse_model_names",
]
