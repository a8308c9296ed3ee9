"""The ``forecast evaluate`` and ``forecast report`` commands: score forecasts against prices.

``evaluate`` scores the forecasts of a span whose horizon is realized and records the
result (metrics table, MLflow run, PNG/CSV files); ``report`` computes the same evaluation
and writes one self-contained HTML page, recording nothing else. Exit codes: 0 done (or
forecasts found but none realized yet: nothing written); 1 the table or MLflow failed; 2
bad usage or configuration, or no forecast to evaluate.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from forecast_core.errors import ConfigError
from forecast_core.names import ALL_COMMODITIES, parse_commodities, resolve_commodities
from forecast_core.redaction import redact_credentials
from jobs import common, options
from jobs.evaluation_run import EvaluationRequest, evaluate_commodities, report_evaluation
from jobs.reporting import ConsoleReporter

if TYPE_CHECKING:  # the library (Spark, MLflow) is imported when a command runs
    from forecast_core.data import MarketDataset


def _selection_options(command: Callable[..., None]) -> Callable[..., None]:
    """Options shared by ``evaluate`` and ``report``: what to evaluate and where it is."""
    selection = options.with_options(
        command,
        [
            options.commodities(
                "Commodities scored: a key, a comma-separated list or 'all' (evaluate; "
                "report takes one)."
            ),
            click.option(
                "--from",
                "from_date",
                type=options.DATE,
                required=True,
                help="First forecast date scored (YYYY-MM-DD).",
            ),
            click.option(
                "--to",
                "to_date",
                type=options.DATE,
                required=True,
                help="Last forecast date scored (YYYY-MM-DD).",
            ),
            options.models(),
            options.model_version("Version label of the models scored."),
            click.option(
                "--fan-date",
                type=options.DATE,
                default=None,
                help="Forecast date of the fan chart; default: the newest date scored.",
            ),
            click.option(
                "--metrics-table",
                envvar="FORECAST_METRICS_TABLE",
                show_envvar=True,
                default=None,
                help="Metrics table path/URI or catalog name; default: "
                "forecast_metrics next to the distributions table.",
            ),
        ],
    )
    return options.with_options(options.store_options(selection), [options.DATA_OPTION])


def _request(selection: dict[str, Any]) -> EvaluationRequest:
    """The evaluation request of the selection options (``commodity`` and ``data`` aside)."""
    return EvaluationRequest(
        from_date=selection["from_date"],
        to_date=selection["to_date"],
        models=tuple(selection["models"].split(",")),
        model_version=selection["model_version"],
        fan_date=selection["fan_date"],
        metrics_table=selection["metrics_table"],
        store=selection["store"],
    )


def _load_inputs(data: str | None) -> MarketDataset:
    """The prices and weather, read once per command (each commodity validated alone)."""
    from forecast_core.tables.inputs import load_inputs

    return load_inputs(data, today=common.utc_today(), isolate_commodities=True)


@click.command()
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the PNG figures and CSV files; default: "
    "HOME/evaluation/COMMODITY_FROM_TO_VERSION.",
)
@click.option(
    "--promote",
    is_flag=True,
    help="Make the model with the best CRPS skill over the span the commodity's champion "
    "(MLflow alias `champion` on its newest scored version, evidence in its tags).",
)
@_selection_options
@common.exit_on_setup_errors
def evaluate(output: Path | None, promote: bool, **selection: Any) -> None:
    """Score forecasts against what happened: CRPS, calibration and skill.

    Reads the forecasts of [--from, --to] from the distributions table and the prices
    after each forecast's data cutoff; forecasts whose 14-day horizon is not realized yet
    are left out and counted. Writes the metrics to the forecast_metrics table (a rerun of
    the span replaces its own rows and adds none; each commit names the run in its user
    metadata), logs one MLflow evaluation run linked to the model versions scored, and
    writes the figures and CSV files to --output. With nothing realized it says so and
    writes nothing (exit 0: nothing failed).
    Several commodities are evaluated one after the other (--output gets a folder per
    commodity); one that cannot be evaluated fails alone (exit 1, named last).
    """
    common.quiet_libraries()
    requested = parse_commodities(selection["commodity"])
    dataset = _load_inputs(selection["data"])
    commodities = resolve_commodities(requested, dataset.commodities)
    result = evaluate_commodities(
        _request(selection), commodities, dataset, output, promote, ConsoleReporter()
    )
    if result.stopped is not None:
        common.fail(result.stopped, common.EXIT_MODEL_FAILED)
    if result.failed:
        named = "; ".join(f"{c} ({e})" for c, e in result.failed.items())
        click.echo(redact_credentials(f"Failed commodities: {named}"))
    sys.exit(common.EXIT_MODEL_FAILED if result.failed else common.EXIT_OK)


@click.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file to write; default: report.html in the evaluate output folder.",
)
@_selection_options
@common.exit_on_setup_errors
def report(output: Path | None, **selection: Any) -> None:
    """Write one self-contained HTML page (tables and inlined figures) of an evaluation.

    Computes the same evaluation as ``evaluate`` over the same options, and writes only the
    page: nothing goes to the metrics table or MLflow.
    """
    commodities = parse_commodities(selection["commodity"])
    if len(commodities) > 1 or commodities == (ALL_COMMODITIES,):
        raise ConfigError(
            f"report takes one commodity, got {selection['commodity']!r}; expected one key "
            f"(run report once per commodity)"
        )
    dataset = _load_inputs(selection["data"])
    result = report_evaluation(
        _request(selection), commodities[0], dataset, output, ConsoleReporter()
    )
    if result.stopped is not None:
        common.fail(result.stopped, common.EXIT_MODEL_FAILED)
    click.echo(f"Wrote {result.path}")
    sys.exit(common.EXIT_OK)
