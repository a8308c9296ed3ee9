"""What every ``forecast`` command shares: exit codes, the clock, the stores, errors."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from forecast_core.errors import ConfigError, DataError, RegistryError, TableError
from forecast_core.redaction import redact_credentials

if TYPE_CHECKING:
    from forecast_core.s3 import Engine

EXIT_OK, EXIT_MODEL_FAILED, EXIT_USAGE = 0, 1, 2


def utc_now() -> dt.datetime:
    """The time in UTC: where the jobs read the clock, to pass dates and timestamps down.

    The library takes them as arguments; it reads the clock itself only for the age of a
    table's abandoned staging folders, for MLflow's metric timestamps and for the pyfunc
    model's "after today" check (a user calls it without the jobs).
    """
    return dt.datetime.now(dt.UTC)


def utc_today() -> dt.date:
    """Today's date in UTC (``utc_now``)."""
    return utc_now().date()


def quiet_libraries() -> None:
    """Keep MLflow's and Spark's chatter out of the job log (errors still show)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow sets its loggers' level from this when it is imported (after this call: the
    # jobs import it late), overriding setLevel below: its INFO lines ("Creating initial
    # MLflow database tables") stay out of the log.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    # MLflow prints "View run at <tracking URI>" links, credentials included: never.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_PRINT_MODEL_URLS_ON_CREATION", "false")
    # Bounded retries with backoff when the tracking server goes away mid-run (MLflow's
    # defaults retry for minutes): about 1 + 2 + 4 s, then the model fails with one line.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    # Spark's driver binds to loopback unless told otherwise (and stops warning about it).
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("py4j").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"mlflow(\..*)?")
    # A Spark Connect client that gives up on its server warns before it raises; the
    # error is the job's one line.
    warnings.filterwarnings("ignore", message=r"\[RETRIES_EXCEEDED\]")


def preflight_object_store(location: str | None, engine: Engine = "spark") -> None:
    """Before a command writes to an ``s3a://`` location: bucket, credentials, the store's
    conditional writes (where ``engine``'s commits rely on them) and the DynamoDB table
    checked. Nothing for any other location.

    Raises:
        ConfigError: The store refuses the settings (exit 2 through ``exit_on_setup_errors``).
        TableError: The store is unreachable after bounded retries.
    """
    from forecast_core import s3

    if location and s3.is_s3(location):
        s3.preflight(location, s3.S3Settings.from_env(), engine)


def check_object_store(location: str | None, engine: Engine = "spark") -> None:
    """``preflight_object_store``, an unreachable store ending the command (exit 1)."""
    try:
        preflight_object_store(location, engine)
    except TableError as error:
        fail(str(error), EXIT_MODEL_FAILED)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one redacted error line and exit with ``code``."""
    click.echo(f"Error: {redact_credentials(message)}", err=True)
    sys.exit(code)


def exit_on_setup_errors(command: Callable[..., None]) -> Callable[..., None]:
    """Before the run starts, any ForecastCoreError is bad usage: one line, exit 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except (ConfigError, DataError, RegistryError) as error:
            fail(str(error))

    return wrapper
