"""The ``forecast`` command: daily, backfill, plan, inspect (and evaluate, report, k8s).

Every command reads its common options from the environment too (``show_envvar`` in
``--help``). Exit codes: 0 every requested forecast exists; 1 at least one model failed
(the others were written) or the table/registry failed mid-run; 2 bad usage or
configuration (nothing written).
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from forecast_core.cadence import Cadence, parse_frequency, shard_windows
from forecast_core.config import RunConfig
from forecast_core.errors import ConfigError, ForecastCoreError, TableError
from forecast_core.names import parse_model_names
from forecast_core.planning import plan_backfill
from jobs import options
from jobs.common import (
    EXIT_MODEL_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    exit_on_setup_errors,
    fail,
    quiet_libraries,
    utc_now,
    utc_today,
)
from jobs.evaluate_commands import evaluate, report
from jobs.k8s_commands import k8s
from jobs.reporting import ConsoleReporter
from jobs.table_commands import table as table_commands

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _run_options(command: Callable[..., None]) -> Callable[..., None]:
    """Options shared by ``daily`` and ``backfill``."""
    with_run_options = options.with_options(command, options.RUN_OPTIONS)
    return options.with_options(options.store_options(with_run_options), [options.DATA_OPTION])


def _run(
    commodity: str,
    models: str,
    train_frequency: str,
    model_version: str,
    n_paths: int,
    seed: int,
    max_staleness_days: int,
    flush_rows: int,
    data: Path | None,
    store: options.StoreSettings,
    start: dt.date,
    end: dt.date,
    select_windows: Callable[[list[Any]], list[Any]],
    run_identity: dict[str, object],
) -> None:
    """Shared body of daily and backfill: validate everything, then run the pipeline.

    ``run_identity`` (command, shard) goes into every table commit, beside the model
    versions and forecast dates, so the table history says which run wrote what.
    """
    from forecast_core.data import load_dataset
    from forecast_core.mlflow_registry import ModelRegistry
    from forecast_core.pipeline import ForecastPipeline, check_forecast_range
    from forecast_core.spark import build_spark_session
    from forecast_core.tables import DistributionsTable

    quiet_libraries()
    config = RunConfig(
        commodity=commodity.strip().lower(),
        models=tuple(models.split(",")),
        cadence=Cadence(parse_frequency(train_frequency)),
        model_version=model_version,
        n_paths=n_paths,
        seed=seed,
        max_staleness_days=max_staleness_days,
        flush_rows=flush_rows,
    )
    _check_object_store(store.table_location)
    stores = store.config()
    today = utc_today()
    started = time.perf_counter()
    history = load_dataset(data, today=today).history(config.commodity)
    data_load_seconds = time.perf_counter() - started
    check_forecast_range(history, start, end, today, config.max_staleness_days)
    windows = select_windows(config.cadence.windows(start, end))
    timings: dict[str, float] = {"data_load": data_load_seconds}

    def start_spark() -> SparkSession:
        # Started on first need: a Delta table's keys are read without Spark, so a run
        # that finds everything written never starts a JVM.
        started = time.perf_counter()
        session = build_spark_session(
            stores.spark_master, jars=stores.spark_jars, table_format=stores.table_format
        )
        timings["spark_start"] = time.perf_counter() - started
        return session

    table = DistributionsTable(
        start_spark,
        stores.table_location,
        stores.table_format,
        commit_metadata={**run_identity, "forecast_dates": f"{start}..{end}"},
    )
    table.check()
    store.home.mkdir(parents=True, exist_ok=True)  # only now: bad input leaves nothing behind
    registry = ModelRegistry(stores.tracking_uri, stores.artifact_root)
    reporter = ConsoleReporter()
    click.echo(
        f"{config.commodity}: models {', '.join(config.models)}; cadence "
        f"{config.cadence.frequency}; version {config.model_version}; "
        f"forecasts {start}..{end}; table {stores.table_location} ({stores.table_format})"
    )
    try:
        pipeline = ForecastPipeline(config, history, registry, table, reporter, now=utc_now())
        summary = pipeline.run(windows)
    except ForecastCoreError as error:
        reporter.finish()
        fail(f"run stopped: {error}", EXIT_MODEL_FAILED)
    reporter.finish()
    summary.timings = {**timings, **summary.timings}
    click.echo(f"Summary: {summary.describe()}")
    click.echo(f"Timings: {summary.describe_timings()}")
    for failure in summary.failures:
        click.echo(f"  failed: {failure.model_name} ({failure.scope}): {failure.error}")
    sys.exit(EXIT_OK if summary.ok else EXIT_MODEL_FAILED)


def _check_object_store(location: str | None) -> None:
    """For an ``s3a://`` table: bucket, credentials and DynamoDB table checked before
    anything is written (exit 2), an unreachable store after bounded retries (exit 1)."""
    from forecast_core import s3

    if location and s3.is_s3(location):
        try:
            s3.preflight(location, s3.S3Settings.from_env())
        except TableError as error:
            fail(str(error), EXIT_MODEL_FAILED)


def _run_labels(run_options: dict[str, Any]) -> dict[str, object]:
    """What a table commit records of a run's options, beside its command and shard."""
    return {
        "commodity": run_options["commodity"],
        "models": run_options["models"],
        "model_version": run_options["model_version"],
        "host": socket.gethostname(),
    }


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="commodity-forecast")
def cli() -> None:
    """Leakage-free probabilistic commodity price forecasts.

    Exit codes: 0 all requested forecasts exist; 1 a model failed (others written);
    2 bad usage or configuration (nothing written).
    """


@cli.command()
@click.option(
    "--forecast-date",
    type=options.DATE,
    default=None,
    help="Day 1 of the forecast (YYYY-MM-DD); default: today (UTC).",
)
@_run_options
@exit_on_setup_errors
def daily(forecast_date: dt.date | None, **run_options: Any) -> None:
    """Train models whose cadence is due, then forecast one date with every model."""
    day = forecast_date or utc_today()
    _run(
        start=day,
        end=day,
        select_windows=lambda windows: windows,
        run_identity={"command": "daily", **_run_labels(run_options)},
        **run_options,
    )


@cli.command()
@options.start()
@options.end()
@click.option(
    "--shard-index",
    type=int,
    envvar="JOB_COMPLETION_INDEX",
    show_envvar=True,
    default=None,
    help="This shard (0-based); set by a Kubernetes Indexed Job.",
)
@click.option(
    "--shard-count",
    type=int,
    envvar="FORECAST_SHARD_COUNT",
    show_envvar=True,
    default=None,
    help="Number of shards; without it one process does everything.",
)
@_run_options
@exit_on_setup_errors
def backfill(
    start: dt.date,
    end: dt.date,
    shard_index: int | None,
    shard_count: int | None,
    **run_options: Any,
) -> None:
    """Train at every cadence date of [start, end] and forecast every date in it.

    The sharding unit is a cadence window (a training date and the dates its model
    serves): shards never train the same model and never depend on each other.
    """
    options.check_date_range(start, end)
    count = 1 if shard_count is None else shard_count
    index = 0 if shard_index is None else shard_index
    if shard_index is not None and shard_count is None:
        raise ConfigError(
            f"shard index {shard_index} given without a shard count; "
            f"set --shard-count or FORECAST_SHARD_COUNT"
        )
    _run(
        start=start,
        end=end,
        select_windows=lambda windows: shard_windows(windows, index, count),
        run_identity={
            "command": "backfill",
            "shard": f"{index}/{count}",
            **_run_labels(run_options),
        },
        **run_options,
    )


@cli.command()
@options.start()
@options.end()
@options.train_frequency()
@click.option("--shard-count", type=int, default=1, show_default=True, help="Number of shards.")
@options.models()
@options.as_json("Print the plan as JSON.")
@exit_on_setup_errors
def plan(
    start: dt.date,
    end: dt.date,
    train_frequency: str,
    shard_count: int,
    models: str,
    as_json: bool,
) -> None:
    """Show the training dates, windows and what each shard writes (to size a backfill Job)."""
    options.check_date_range(start, end)
    backfill_plan = plan_backfill(
        Cadence(parse_frequency(train_frequency)),
        start,
        end,
        shard_count,
        len(parse_model_names(models.split(","))),
    )
    if as_json:
        click.echo(json.dumps(backfill_plan.to_dict(), indent=2))
        return
    described = backfill_plan.to_dict()
    click.echo(
        f"Backfill {start}..{end}, cadence {train_frequency}: "
        f"{len(backfill_plan.windows)} windows, {described['forecasts']} forecasts "
        f"({described['models']} models)"
    )
    click.echo(f"Training dates: {', '.join(described['training_dates'])}")
    click.echo(
        f"Shards: {shard_count} requested, {backfill_plan.useful_shards} useful "
        f"(set completions to {backfill_plan.useful_shards})"
    )
    for shard in described["shards"]:
        slots = ", ".join(w["training_date"] for w in shard["windows"]) or "-"
        click.echo(
            f"  shard {shard['shard_index']}: {shard['forecast_dates']} dates, "
            f"{shard['forecasts']} forecasts; windows {slots}"
        )


@cli.command()
@options.commodity("Only this commodity.", default=None)
@click.option(
    "--from", "from_date", type=options.DATE, default=None, help="First forecast date shown."
)
@click.option("--to", "to_date", type=options.DATE, default=None, help="Last forecast date shown.")
@click.option(
    "--as-of",
    default=None,
    help="Delta: the table as of a version (12) or a UTC time (2025-11-14 or "
    "2025-11-14T06:00:00); `forecast table history` lists the versions.",
)
@options.as_json("Print the stable JSON format.")
@options.store_options
@exit_on_setup_errors
def inspect(
    commodity: str | None,
    from_date: dt.date | None,
    to_date: dt.date | None,
    as_of: str | None,
    as_json: bool,
    store: options.StoreSettings,
) -> None:
    """Show what the table holds per forecast date and model, and the registered models.

    JSON format (stable): {"table": str, "as_of": str|null, "forecasts": [{"commodity",
    "model_name", "model_version", "forecast_start_date", "data_cutoff_date", "training_date",
    "model_uri", "is_actuals", "has_data_leakage", "n_paths"}], "models": [{"name",
    "version", "run_id", "tags": {...}}]}; dates are YYYY-MM-DD, absent values null.
    """
    from forecast_core.mlflow_registry import ModelRegistry
    from forecast_core.spark import build_spark_session
    from forecast_core.tables import DistributionsTable

    quiet_libraries()
    stores = store.config()
    store.home.mkdir(parents=True, exist_ok=True)
    registry = ModelRegistry(stores.tracking_uri, stores.artifact_root)
    spark = build_spark_session(
        stores.spark_master, jars=stores.spark_jars, table_format=stores.table_format
    )
    table = DistributionsTable(spark, stores.table_location, stores.table_format)
    try:
        forecasts = table.summarize(commodity, from_date, to_date, as_of)
    except TableError as error:  # with --as-of, most likely a version the table never had
        fail(str(error), EXIT_USAGE if as_of else EXIT_MODEL_FAILED)
    report: dict[str, Any] = {
        "table": stores.table_location,
        "as_of": as_of,
        "forecasts": forecasts,
        "models": registry.describe_versions(commodity),
    }
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    when = f" as of {as_of}" if as_of else ""
    click.echo(f"Table {stores.table_location}{when}: {len(forecasts)} forecasts")
    for entry in forecasts:
        click.echo(
            f"  {entry['forecast_start_date']} {entry['model_name']:<12} "
            f"{entry['model_version']:<8} paths {entry['n_paths']:>5}  trained "
            f"{entry['training_date'] or '-'}  {entry['model_uri'] or ''}"
        )
    click.echo(f"Registered model versions: {len(report['models'])}")
    for version in report["models"]:
        tags = version["tags"]
        click.echo(
            f"  {version['name']} v{version['version']}: {tags.get('model_id', '')} "
            f"(training {tags.get('training_date')}, cutoff {tags.get('data_cutoff_date')})"
        )


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """Kubernetes stops pods with SIGTERM; as PID 1 without a handler we would ignore it."""
    sys.exit(128 + signum)


cli.add_command(k8s)
cli.add_command(evaluate)
cli.add_command(report)
cli.add_command(table_commands)


def main() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    cli(prog_name="forecast")
