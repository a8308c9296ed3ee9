"""Leakage-free probabilistic commodity price forecasts: data, cadence, models, registry."""

# The release (semantic versioning, CHANGELOG.md): what `forecast --version` prints, what the
# package's metadata and image tag say, and what every registered version pins.
__version__ = "0.3.0"
