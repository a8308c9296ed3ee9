"""The one error hierarchy of the project.

Every error a user can cause or meet is a ``ForecastCoreError`` whose message is one
line naming the bad value and what was expected. ``jobs/`` maps ``ConfigError`` and
``DataError`` to exit code 2 (bad usage or configuration, nothing written); failures of
one model during a run are recorded, not raised (fail-open).
"""


class ForecastCoreError(Exception):
    """Base class of every error raised on purpose by this project."""


class ConfigError(ForecastCoreError):
    """A setting, option or argument is not valid (unknown model, bad date, bad cadence)."""


class DataError(ForecastCoreError):
    """Input data is missing, malformed, or too short for what was asked."""


class ModelError(ForecastCoreError):
    """A model could not be fitted, sampled, saved or loaded."""


class NotFittedError(ModelError):
    """A model was asked to sample paths before it was fitted."""


class RegistryError(ForecastCoreError):
    """The model registry (MLflow) could not be reached or answered unexpectedly."""


class TableError(ForecastCoreError):
    """The forecast table could not be read or written."""
