"""The ``forecast`` command: daily, backfill, plan, inspect (and evaluate, report, models,
monitor, table, data, k8s).

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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from forecast_core import __version__
from forecast_core.cadence import Cadence, parse_frequency
from forecast_core.errors import ConfigError, ForecastCoreError, TableError
from forecast_core.names import (
    ALL_COMMODITIES,
    is_catalog_table,
    parse_commodities,
    parse_model_names,
    resolve_commodities,
)
from forecast_core.planning import plan_backfill
from forecast_core.redaction import redact_credentials
from forecast_core.registry.naming import (
    DATA_CUTOFF_DATE_TAG,
    MODEL_ID_TAG,
    RETIRED,
    RETIRED_TAG,
    TRAINING_DATE_TAG,
)
from jobs import options
from jobs.common import (
    EXIT_MODEL_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    check_object_store,
    exit_on_setup_errors,
    fail,
    quiet_libraries,
    utc_today,
)
from jobs.connect_server import connect_server
from jobs.data_commands import data as data_commands
from jobs.evaluate_commands import evaluate, report
from jobs.forecast_run import ForecastRequest, run_forecasts
from jobs.k8s_commands import k8s
from jobs.models_commands import models as models_commands
from jobs.monitor_commands import monitor
from jobs.reporting import ConsoleReporter
from jobs.table_commands import table as table_commands

if TYPE_CHECKING:
    from jobs.context import CommandStores


def _run_options(command: Callable[..., None]) -> Callable[..., None]:
    """Options shared by ``daily`` and ``backfill``."""
    with_run_options = options.with_options(command, options.RUN_OPTIONS)
    return options.with_options(options.store_options(with_run_options), [options.DATA_OPTION])


def _run(
    commodity: str,
    models: str,
    train_frequency: str,
    data: str | None,
    store: options.StoreSettings,
    start: dt.date,
    end: dt.date,
    run_identity: dict[str, object],
    shard_index: int = 0,
    shard_count: int = 1,
    **settings: Any,
) -> NoReturn:
    """Shared body of daily and backfill: the request built, run, its failures printed.

    ``run_identity`` (command, shard) goes into every table commit, beside the model
    versions and forecast dates, so the table history says which run wrote what.
    ``settings`` are the other run options (version, paths, seed, pins...), as named in
    ``ForecastRequest``.
    """
    quiet_libraries()
    request = ForecastRequest(
        commodities=parse_commodities(commodity),
        models=tuple(models.split(",")),
        cadence=Cadence(parse_frequency(train_frequency)),
        data=data,
        start=start,
        end=end,
        run_identity=run_identity,
        home=store.home,
        shard_index=shard_index,
        shard_count=shard_count,
        **settings,
    )
    stores = store.open()  # the jars first: no request to S3 without them
    check_object_store(store.table_location)
    result = run_forecasts(request, stores, ConsoleReporter())
    if result.nothing_to_do:
        click.echo("Nothing to do: this shard owns no window.")
    if result.failed:
        named = "; ".join(f"{c} ({e})" for c, e in result.failed.items())
        click.echo(redact_credentials(f"Failed commodities: {named}"))
    sys.exit(EXIT_MODEL_FAILED if result.failed else EXIT_OK)


def _run_labels(run_options: dict[str, Any]) -> dict[str, object]:
    """What a table commit records of a run's options, beside its command and shard."""
    return {
        "commodity": run_options["commodity"],
        "models": run_options["models"],
        "model_version": run_options["model_version"],
        "host": socket.gethostname(),
    }


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(version=__version__, prog_name="forecast")
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
@options.use_pins(default=True)
@_run_options
@exit_on_setup_errors
def daily(forecast_date: dt.date | None, **run_options: Any) -> None:
    """Train models whose cadence is due, then forecast one date with every model.

    Each model's pinned version (`forecast models pin`) serves instead of the newest,
    unless --ignore-pins; retired versions never serve.
    """
    day = forecast_date or utc_today()
    _run(
        start=day,
        end=day,
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
@options.shard_count(
    None, "Number of shards; without it one process does everything.", "FORECAST_SHARD_COUNT"
)
@options.use_pins(default=False)
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

    Pins are ignored unless --use-pins: a backfill recomputes history as the newest
    eligible versions (never retired ones) serve it.

    The sharding unit is one commodity's cadence window (a training date and the dates
    its model serves), balanced over shards by forecast count: shards never train the
    same model and never depend on each other. Every shard computes the same split.
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
        shard_index=index,
        shard_count=count,
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
@options.shard_count(1, "Number of shards.")
@options.commodities()
@options.models()
@options.as_json("Print the plan as JSON.")
@options.DATA_OPTION
@exit_on_setup_errors
def plan(
    start: dt.date,
    end: dt.date,
    train_frequency: str,
    shard_count: int,
    commodity: str,
    models: str,
    as_json: bool,
    data: str | None,
) -> None:
    """Show the training dates, windows and what each shard writes (to size a backfill Job).

    The sharding unit is one commodity's cadence window, balanced by forecast count;
    ``--commodity all`` reads the data (``--data``) to list the commodities.
    """
    options.check_date_range(start, end)
    commodities = parse_commodities(commodity)
    if commodities == (ALL_COMMODITIES,):
        from forecast_core.tables.inputs import load_inputs

        available = load_inputs(data, today=utc_today(), isolate_commodities=True).commodities
        commodities = resolve_commodities(commodities, available)
    backfill_plan = plan_backfill(
        Cadence(parse_frequency(train_frequency)),
        start,
        end,
        shard_count,
        len(parse_model_names(models.split(","))),
        commodities,
    )
    if as_json:
        click.echo(json.dumps(backfill_plan.to_dict(), indent=2))
        return
    described = backfill_plan.to_dict()
    click.echo(
        f"Backfill {start}..{end}, cadence {train_frequency}, {', '.join(commodities)}: "
        f"{len(backfill_plan.windows)} windows per commodity, {described['forecasts']} "
        f"forecasts ({described['models']} models)"
    )
    click.echo(f"Training dates: {', '.join(described['training_dates'])}")
    click.echo(
        f"Shards: {shard_count} requested, {backfill_plan.useful_shards} useful "
        f"(set completions to {backfill_plan.useful_shards})"
    )
    for shard in described["shards"]:
        slots = ", ".join(f"{w['commodity']} {w['training_date']}" for w in shard["windows"])
        slots = slots or "-"
        click.echo(
            f"  shard {shard['shard_index']}: {shard['forecast_dates']} dates, "
            f"{shard['forecasts']} forecasts; windows {slots}"
        )


@cli.command()
@options.commodity_filter()
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
    "version", "run_id", "aliases": [...], "tags": {...}}]}; dates are YYYY-MM-DD, absent
    values null. No Spark unless the table is a catalog table: delta-rs reads a Delta
    table, pyarrow a Parquet one, MLflow's client the registry.

    A registry that cannot be read (tracking server down) does not hide the table: the
    table part is shown, the registry part says why it is unavailable ("models": null and
    "registry_error" in JSON), and the exit code is 1, so a script sees the gap.
    """
    quiet_libraries()
    opened = store.open()
    stores = opened.config
    try:
        forecasts = _summarize(opened, commodity, from_date, to_date, as_of)
    except TableError as error:  # with --as-of, most likely a version the table never had
        fail(str(error), EXIT_USAGE if as_of else EXIT_MODEL_FAILED)
    report: dict[str, Any] = {
        "table": stores.table_location,
        "as_of": as_of,
        "forecasts": forecasts,
        "models": None,
    }
    try:
        report["models"] = _registered_versions(opened, commodity)
    except ForecastCoreError as error:  # the table part is still worth showing
        report["registry_error"] = redact_credentials(str(error))
    exit_code = EXIT_MODEL_FAILED if "registry_error" in report else EXIT_OK
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        sys.exit(exit_code)
    when = f" as of {as_of}" if as_of else ""
    click.echo(f"Table {stores.table_location}{when}: {len(forecasts)} forecasts")
    for entry in forecasts:
        click.echo(
            f"  {entry['forecast_start_date']} {entry['model_name']:<12} "
            f"{entry['model_version']:<8} paths {entry['n_paths']:>5}  trained "
            f"{entry['training_date'] or '-'}  {entry['model_uri'] or ''}"
        )
    if report["models"] is None:
        click.echo(f"Registered model versions: unavailable ({report['registry_error']})")
        sys.exit(exit_code)
    click.echo(f"Registered model versions: {len(report['models'])}")
    for version in report["models"]:
        tags = version["tags"]
        aliases = "".join(f" @{alias}" for alias in version["aliases"])
        retired = " retired" if tags.get(RETIRED_TAG) == RETIRED else ""
        click.echo(
            f"  {version['name']} v{version['version']}: {tags.get(MODEL_ID_TAG, '')} "
            f"(training {tags.get(TRAINING_DATE_TAG)}, cutoff {tags.get(DATA_CUTOFF_DATE_TAG)})"
            f"{retired}{aliases}"
        )


def _summarize(
    stores: CommandStores,
    commodity: str | None,
    from_date: dt.date | None,
    to_date: dt.date | None,
    as_of: str | None,
) -> list[dict[str, Any]]:
    """The table's forecasts: delta-rs or pyarrow for a path; Spark only for a catalog table."""
    location, table_format = stores.config.table_location, stores.config.table_format
    if not is_catalog_table(location):
        from forecast_core.tables.summary import summarize_forecasts

        return summarize_forecasts(location, table_format, commodity, from_date, to_date, as_of)
    return stores.distributions().summarize(commodity, from_date, to_date, as_of)


def _registered_versions(stores: CommandStores, commodity: str | None) -> list[dict[str, Any]]:
    """The registry part of ``inspect``, with MLflow's client only; none if no store yet."""
    tracking_uri = stores.config.tracking_uri
    if (
        tracking_uri.startswith("sqlite:///")
        and not Path(tracking_uri.removeprefix("sqlite:///")).is_file()
    ):
        return []  # reading never creates the embedded store
    return [
        {
            "name": v.name,
            "version": v.version,
            "run_id": v.run_id,
            "aliases": list(v.aliases),
            "tags": v.tags,
        }
        for v in stores.lifecycle().versions(commodity)
    ]


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """Kubernetes stops pods with SIGTERM; as PID 1 without a handler we would ignore it."""
    sys.exit(128 + signum)


cli.add_command(k8s)
cli.add_command(connect_server)
cli.add_command(evaluate)
cli.add_command(report)
cli.add_command(monitor)
cli.add_command(models_commands)
cli.add_command(table_commands)
cli.add_command(data_commands)


def main() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    cli(prog_name="forecast")
