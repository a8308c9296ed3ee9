"""Leakage-free probabilistic commodity price forecasts: data, cadence, models, registry."""

__version__ = "0.1.0"
