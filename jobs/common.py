"""What every ``forecast`` command shares: exit codes, the clock, store options, errors."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from forecast_core.config import DEFAULT_HOME, StoreConfig
from forecast_core.errors import ConfigError, DataError, RegistryError
from forecast_core.models.registry import MODELS
from forecast_core.redaction import redact_credentials

EXIT_OK, EXIT_MODEL_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_MODELS = "naive,random_walk,sarimax,xgboost"
DATE = click.DateTime(formats=["%Y-%m-%d"])


def utc_today() -> dt.date:
    """Today's date in UTC: the only place the clock is read."""
    return dt.datetime.now(dt.UTC).date()


def quiet_libraries() -> None:
    """Keep MLflow's and Spark's chatter out of the job log (errors still show)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
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


def fail(message: str, code: int = EXIT_USAGE) -> None:
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


def store_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where models and tables live, and the Spark session: options shared by commands."""
    options = [
        click.option(
            "--home",
            envvar="FORECAST_HOME",
            show_envvar=True,
            default=DEFAULT_HOME,
            show_default=True,
            type=click.Path(path_type=Path),
            help="Folder of the embedded MLflow store and table.",
        ),
        click.option(
            "--tracking-uri",
            envvar="MLFLOW_TRACKING_URI",
            show_envvar=True,
            default=None,
            help="MLflow tracking URI; default: SQLite under --home.",
        ),
        click.option(
            "--table",
            "table_location",
            envvar="FORECAST_TABLE",
            show_envvar=True,
            default=None,
            help="Distributions table path/URI or catalog name; default: under --home.",
        ),
        click.option(
            "--table-format",
            envvar="FORECAST_TABLE_FORMAT",
            show_envvar=True,
            default="parquet",
            show_default=True,
            type=click.Choice(["parquet", "delta"]),
            help="Table format.",
        ),
        click.option(
            "--spark-master",
            envvar="FORECAST_SPARK_MASTER",
            show_envvar=True,
            default="local[2]",
            show_default=True,
            help="Spark master URL.",
        ),
        click.option(
            "--spark-jars",
            envvar="FORECAST_SPARK_JARS",
            show_envvar=True,
            default="",
            help="Comma-separated extra jars or folders of jars (Delta Lake).",
        ),
    ]
    return with_options(command, options)


def with_options(
    command: Callable[..., Any], options: list[Callable[[Callable[..., Any]], Callable[..., Any]]]
) -> Callable[..., Any]:
    """``command`` with click ``options``, listed in the order ``--help`` shows them."""
    for option in reversed(options):
        command = option(command)
    return command


def models_option() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--models`` option: comma-separated registered model names."""
    return click.option(
        "--models",
        default=DEFAULT_MODELS,
        show_default=True,
        help=f"Comma-separated models: {', '.join(sorted(MODELS))}.",
    )


def data_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--data`` option: the user's data, or the bundled sample."""
    return click.option(
        "--data",
        envvar="FORECAST_DATA",
        show_envvar=True,
        default=None,
        type=click.Path(path_type=Path),
        help="Data folder or prices file (CSV/Parquet); default: bundled sample.",
    )(command)


def jar_files(spec: str) -> tuple[str, ...]:
    """The jars of a comma-separated ``spec``: a folder stands for every ``*.jar`` in it."""
    jars: list[str] = []
    for entry in (item.strip() for item in spec.split(",")):
        if entry and Path(entry).is_dir():
            jars += sorted(str(path) for path in Path(entry).glob("*.jar"))
        elif entry:
            jars.append(entry)
    return tuple(jars)


def store_config(
    home: Path,
    tracking_uri: str | None,
    table_location: str | None,
    table_format: str,
    spark_master: str,
    spark_jars: str,
) -> StoreConfig:
    """The store settings from the shared options (defaults under ``home``)."""
    jars = jar_files(spark_jars)
    return StoreConfig.embedded(
        home,
        tracking_uri=tracking_uri,
        table_location=table_location,
        table_format=table_format,
        spark_master=spark_master,
        spark_jars=jars,
    )
