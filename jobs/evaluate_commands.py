"""The ``forecast evaluate`` and ``forecast report`` commands: score forecasts against prices.

``evaluate`` scores the forecasts of a span whose horizon is realized and records the
result (metrics table, MLflow run, PNG/CSV files); ``report`` computes the same evaluation
and writes one self-contained HTML page, recording nothing else. Exit codes: 0 done (or
forecasts found but none realized yet: nothing written); 1 the table or MLflow failed; 2
bad usage or configuration, or no forecast to evaluate.
"""

from __future__ import annotations

import datetime as dt
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from forecast_core.errors import (
    ConfigError,
    DataError,
    ForecastCoreError,
    RegistryError,
    TableError,
)
from forecast_core.names import ALL_COMMODITIES, parse_commodities, resolve_commodities
from forecast_core.redaction import redact_credentials
from jobs import common, options

if TYPE_CHECKING:  # the library (Spark, MLflow) is imported when a command runs
    from forecast_core.data import MarketDataset
    from forecast_core.evaluation import Evaluation
    from forecast_core.evaluation.compute.champion import Champion
    from jobs.context import CommandStores


# The metrics echoed (all of them are in the table, the CSV and the report).
_CONSOLE_COLUMNS = (
    "crps",
    "crps_skill",
    "mae_median",
    "rmse_median",
    "coverage_80",
    "width_80",
    "coverage_95",
    "width_95",
    "directional_accuracy",
)


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


def _default_output(
    home: Path, commodity: str, first: dt.date, last: dt.date, model_version: str
) -> Path:
    return home / "evaluation" / f"{commodity}_{first}_{last}_{model_version}"


@dataclass(frozen=True)
class _Evaluated:
    """An evaluation computed by a command, with the stores it came from."""

    evaluation: Evaluation
    stores: CommandStores
    metrics_location: str


def _evaluate(
    commodity: str,
    from_date: dt.date,
    to_date: dt.date,
    models: str,
    model_version: str,
    fan_date: dt.date | None,
    dataset: MarketDataset,
    store: options.StoreSettings,
    metrics_table: str | None,
) -> _Evaluated:
    """Validate the options, read the table, and compute the evaluation against ``dataset``.

    Raises:
        ConfigError, DataError, RegistryError: Bad options, data, or an unreachable tracking
            server (exit 2 through ``common.exit_on_setup_errors``); nothing is written.
    """
    from forecast_core.evaluation import (
        EvaluationConfig,
        evaluate_forecasts,
        metrics_table_location,
    )
    from forecast_core.registry.tracking_server import check_tracking_server

    common.quiet_libraries()
    config = EvaluationConfig(
        commodity=commodity,
        evaluated_from=from_date,
        evaluated_to=to_date,
        models=tuple(models.split(",")),
        model_version=model_version,
        fan_date=fan_date,
    )
    opened = store.open()
    stores = opened.config
    history = dataset.history(config.commodity)
    check_tracking_server(stores.tracking_uri)  # fail before the long read, not after it
    metrics_location = metrics_table or metrics_table_location(stores.table_location)
    common.check_object_store(metrics_location)
    distributions = opened.distributions()
    click.echo(
        f"{config.commodity}: evaluating {', '.join(config.models)} (version "
        f"{config.model_version}), forecasts {config.evaluated_from}.."
        f"{config.evaluated_to}, prices to {history.last_date}; table "
        f"{stores.table_location}"
    )
    try:
        evaluation = evaluate_forecasts(config, history, distributions)
    except TableError as error:
        common.fail(f"cannot read forecasts: {error}", common.EXIT_MODEL_FAILED)
    _echo_summary(evaluation)
    return _Evaluated(evaluation, opened, metrics_location)


def _load_inputs(data: str | None) -> MarketDataset:
    """The prices and weather, read once per command (each commodity validated alone)."""
    from forecast_core.tables.inputs import load_inputs

    return load_inputs(data, today=common.utc_today(), isolate_commodities=True)


def _echo_summary(evaluation: Evaluation) -> None:
    left_out = evaluation.left_out.groupby("model_name")["n_forecasts"].sum()
    for name in evaluation.config.models:
        reasons = evaluation.left_out[
            (evaluation.left_out["model_name"] == name) & (evaluation.left_out["n_forecasts"] > 0)
        ]
        detail = ", ".join(f"{r.reason} {r.n_forecasts}" for r in reasons.itertuples()) or "-"
        scored = evaluation.scores.loc[
            evaluation.scores["model_name"] == name, "forecast_start_date"
        ].nunique()
        click.echo(f"  {name}: scored {scored}, left out {int(left_out.get(name, 0))} ({detail})")
    if not evaluation.benchmark_scored:
        click.echo(f"  no {evaluation.config.benchmark} forecasts scored: no skill score")
    if evaluation.n_scored:
        shown = [c for c in _CONSOLE_COLUMNS if c in evaluation.headline.columns]
        click.echo(evaluation.headline[shown].to_string(float_format=lambda value: f"{value:.3f}"))


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
    requested = parse_commodities(selection.pop("commodity"))
    dataset = _load_inputs(selection.pop("data"))
    commodities = resolve_commodities(requested, dataset.commodities)
    failed: dict[str, str] = {}
    for commodity in commodities:
        folder = output / commodity if output and len(commodities) > 1 else output
        try:
            _evaluate_and_record(commodity, folder, promote, dataset, selection)
        except (ConfigError, DataError, RegistryError) as error:
            if len(commodities) == 1:
                raise
            failed[commodity] = str(error)
            click.echo(f"{commodity}: FAILED: {error}")
    if len(failed) == len(commodities):
        raise DataError("nothing evaluated: " + "; ".join(f"{c}: {e}" for c, e in failed.items()))
    if failed:
        named = "; ".join(f"{c} ({e})" for c, e in failed.items())
        click.echo(redact_credentials(f"Failed commodities: {named}"))
    sys.exit(common.EXIT_MODEL_FAILED if failed else common.EXIT_OK)


def _evaluate_and_record(
    commodity: str,
    output: Path | None,
    promote: bool,
    dataset: MarketDataset,
    selection: dict[str, Any],
) -> None:
    """Evaluate one commodity and record it: metrics table, MLflow run, files."""
    from forecast_core.evaluation import MetricsTable, record_evaluation

    evaluated = _evaluate(commodity=commodity, dataset=dataset, **selection)
    config = evaluated.evaluation.config
    champion = _champion(evaluated) if promote else None  # refused before anything is written
    if not evaluated.evaluation.n_scored:
        click.echo(
            f"{config.commodity}: nothing to record: no forecast of {config.evaluated_from}.."
            f"{config.evaluated_to} has its 14-day horizon realized by the prices to "
            f"{evaluated.evaluation.data_last_date}; no metric rows, MLflow run or files written"
        )
        return
    folder = output or _default_output(
        selection["store"].home,
        config.commodity,
        config.evaluated_from,
        config.evaluated_to,
        config.model_version,
    )
    stores = evaluated.stores
    table = MetricsTable(
        stores.spark,
        evaluated.metrics_location,
        stores.config.table_format,
        commit_metadata={
            "command": "evaluate",
            "commodity": config.commodity,
            "models": ",".join(config.models),
            "model_version": config.model_version,
            "evaluated": f"{config.evaluated_from}..{config.evaluated_to}",
            "host": socket.gethostname(),
            **dataset.lineage(),
        },
    )
    try:
        record = record_evaluation(
            evaluated.evaluation, table, stores.registry(), folder, common.utc_now()
        )
    except ForecastCoreError as error:
        common.fail(f"evaluation not recorded: {error}", common.EXIT_MODEL_FAILED)
    click.echo(
        f"Wrote {record.rows_written} metric rows to {table.location} "
        f"({record.rows_new} new, {record.rows_written - record.rows_new} replaced)"
    )
    click.echo(f"MLflow evaluation run {record.run_id}")
    click.echo(f"Files in {folder}: {', '.join(path.name for path in record.files)}")
    if champion is not None:
        _promote(evaluated, champion, record.run_id)


def _champion(evaluated: _Evaluated) -> Champion:
    """The champion to promote, checked against the registry; nothing written yet.

    Raises:
        DataError: Nothing scored, or no CRPS skill (no benchmark scored).
        ConfigError: The best model's version is not registered here, or is retired.
    """
    from forecast_core.evaluation.compute.champion import choose_champion

    evaluation = evaluated.evaluation
    config = evaluation.config
    champion = choose_champion(
        evaluation.headline,
        evaluation.scored_uris,
        f"{config.evaluated_from}..{config.evaluated_to}",
    )
    evaluated.stores.lifecycle().promotable(config.commodity, champion.model_name, champion.version)
    return champion


def _promote(evaluated: _Evaluated, champion: Champion, run_id: str) -> None:
    """Point the champion alias at ``champion`` with its evidence; exit 1 if MLflow fails."""
    from forecast_core.registry import naming

    config = evaluated.evaluation.config
    evidence = {
        naming.CHAMPION_CRPS_SKILL_TAG: f"{champion.crps_skill:.6f}",
        naming.CHAMPION_CRPS_TAG: f"{champion.crps:.6f}",
        naming.CHAMPION_N_FORECASTS_TAG: str(champion.n_forecasts),
        naming.CHAMPION_SPAN_TAG: f"{config.evaluated_from}..{config.evaluated_to}",
        naming.CHAMPION_EVALUATION_RUN_TAG: run_id,
        naming.CHAMPION_PROMOTED_AT_TAG: common.utc_now().isoformat(timespec="seconds"),
    }
    try:
        message = evaluated.stores.lifecycle().promote(
            config.commodity, champion.model_name, champion.version, evidence
        )
    except ForecastCoreError as error:
        common.fail(f"champion not promoted: {error}", common.EXIT_MODEL_FAILED)
    click.echo(
        f"{message}; CRPS skill {champion.crps_skill:.3f} over {evidence[naming.CHAMPION_SPAN_TAG]}"
    )


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
    from forecast_core.evaluation.presentation.report import write_report

    commodities = parse_commodities(selection["commodity"])
    if len(commodities) > 1 or commodities == (ALL_COMMODITIES,):
        raise ConfigError(
            f"report takes one commodity, got {selection['commodity']!r}; expected one key "
            f"(run report once per commodity)"
        )
    dataset = _load_inputs(selection.pop("data"))
    evaluation = _evaluate(**{**selection, "commodity": commodities[0]}, dataset=dataset).evaluation
    config = evaluation.config
    path = (
        output
        or _default_output(
            selection["store"].home,
            config.commodity,
            config.evaluated_from,
            config.evaluated_to,
            config.model_version,
        )
        / "report.html"
    )
    write_report(evaluation, path, common.utc_now())
    click.echo(f"Wrote {path}")
    sys.exit(common.EXIT_OK)
