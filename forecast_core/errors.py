"""The one error hierarchy of the project.

Every error a user can cause or meet is a ``ForecastCoreError`` whose message is one
line naming the bad value and what was expected. ``jobs/`` maps ``ConfigError`` and
``DataError`` to exit code 2 (bad usage or configuration, nothing written); failures of
one model during a run are recorded, not raised (fail-open).
"""

from __future__ import annotations

import contextlib
import re


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


_GRPC_STATUS = re.compile(r"status = StatusCode\.(\w+)")
_GRPC_DETAILS = re.compile(r'details = "([^"\n]*)"')


def first_line(error: BaseException) -> str:
    """One line saying what went wrong; for a JVM error, its root cause.

    A failed Spark write surfaces as "An error occurred while calling o189.save" with the
    useful part (``FileAlreadyExistsException: ...``, ``No space left on device``) deep in
    the Java cause chain. A Spark Connect call that failed in gRPC (the server is gone) is
    named by its status and details. An error without text is named by its type.
    """
    java_error = getattr(error, "java_exception", None)
    if java_error is not None:
        with contextlib.suppress(Exception):  # the JVM may be gone; fall back to the text
            while java_error.getCause() is not None:
                java_error = java_error.getCause()
            return str(java_error.toString()).strip().splitlines()[0]
    text = str(error).strip()
    grpc_status = _GRPC_STATUS.search(text)
    if text.startswith("<_") and grpc_status:  # a failed gRPC call's repr (Spark Connect)
        details = _GRPC_DETAILS.search(text)
        return f"Spark Connect call failed, {grpc_status[1]}: {details[1] if details else ''}"
    return text.splitlines()[0] if text else type(error).__name__
