"""The evaluation behind ``forecast evaluate`` and ``forecast report``, without the command line.

``evaluate_commodities`` scores each commodity's forecasts and records them (metrics table,
MLflow run, files, and the champion with ``promote``); ``report_evaluation`` computes one
evaluation and writes its HTML page. Neither prints nor exits: progress goes to an
``EvaluationReporter`` as the work goes, and the result says what happened. Bad input raises
``ConfigError``, ``DataError`` or ``RegistryError`` before anything is written; a table or
MLflow failing mid-run stops the run (``stopped`` in the result).
"""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from forecast_core.errors import (
    ConfigError,
    DataError,
    ForecastCoreError,
    RegistryError,
    TableError,
)
from jobs.common import preflight_object_store, quiet_libraries, utc_now

if TYPE_CHECKING:
    from forecast_core.data import MarketDataset
    from forecast_core.evaluation import Evaluation, EvaluationConfig
    from forecast_core.evaluation.compute.champion import Champion
    from forecast_core.evaluation.recording import EvaluationRecord
    from jobs.context import CommandStores
    from jobs.options import StoreSettings


class EvaluationReporter(Protocol):
    """Where an evaluation reports as it goes."""

    def line(self, text: str) -> None:
        """Report one line of the log."""

    def evaluated(self, evaluation: Evaluation) -> None:
        """An evaluation is computed: what was scored and left out, and the headline."""


@dataclass(frozen=True)
class EvaluationRequest:
    """What to evaluate: the selection options of ``evaluate`` and ``report``, parsed.

    Attributes:
        metrics_table: The metrics table; None: next to the distributions table.
        store: The store options; each commodity opens its stores (and checks them).
    """

    from_date: dt.date
    to_date: dt.date
    models: tuple[str, ...]
    model_version: str
    fan_date: dt.date | None
    metrics_table: str | None
    store: StoreSettings

    def config(self, commodity: str) -> EvaluationConfig:
        """The evaluation configuration of one commodity (which validates the options)."""
        from forecast_core.evaluation import EvaluationConfig

        return EvaluationConfig(
            commodity=commodity,
            evaluated_from=self.from_date,
            evaluated_to=self.to_date,
            models=self.models,
            model_version=self.model_version,
            fan_date=self.fan_date,
        )

    def default_output(self, commodity: str) -> Path:
        """Where a commodity's files go without ``--output``."""
        name = f"{commodity}_{self.from_date}_{self.to_date}_{self.model_version}"
        return self.store.home / "evaluation" / name


@dataclass(frozen=True)
class CommodityEvaluation:
    """What happened to one commodity of an evaluation.

    Attributes:
        record: What was recorded; None if nothing was realized yet, or it failed.
        error: Why the commodity could not be evaluated; None if it was.
    """

    commodity: str
    record: EvaluationRecord | None = None
    error: str | None = None


@dataclass(frozen=True)
class EvaluationResult:
    """Each commodity evaluated, in order, up to a stop.

    Attributes:
        stopped: Why the run stopped (the table or MLflow failed): the later commodities
            were not evaluated.
    """

    outcomes: tuple[CommodityEvaluation, ...]
    stopped: str | None = None

    @property
    def failed(self) -> dict[str, str]:
        """Why each failed commodity failed, by commodity."""
        return {o.commodity: o.error for o in self.outcomes if o.error is not None}


@dataclass(frozen=True)
class ReportResult:
    """The page written, or why the report stopped (the table failed)."""

    path: Path | None
    stopped: str | None = None


class _Stopped(Exception):
    """The table or MLflow failed mid-run: the run stops with this message."""


@dataclass(frozen=True)
class _Evaluated:
    """An evaluation computed, with the stores it came from."""

    evaluation: Evaluation
    stores: CommandStores
    metrics_location: str


def evaluate_commodities(
    request: EvaluationRequest,
    commodities: tuple[str, ...],
    dataset: MarketDataset,
    output: Path | None,
    promote: bool,
    reporter: EvaluationReporter,
) -> EvaluationResult:
    """Evaluate and record each commodity in turn; one that cannot be evaluated fails alone.

    Args:
        output: The files' folder (one per commodity under it when there are several).
        promote: Make the best model of each commodity its champion.

    Raises:
        ConfigError, DataError, RegistryError: The one commodity cannot be evaluated, or
            none can (nothing is written).
    """
    outcomes: list[CommodityEvaluation] = []
    for commodity in commodities:
        folder = output / commodity if output and len(commodities) > 1 else output
        try:
            record = _evaluate_and_record(request, commodity, folder, promote, dataset, reporter)
        except (ConfigError, DataError, RegistryError) as error:
            if len(commodities) == 1:
                raise
            outcomes.append(CommodityEvaluation(commodity, error=str(error)))
            reporter.line(f"{commodity}: FAILED: {error}")
            continue
        except _Stopped as stop:
            return EvaluationResult(tuple(outcomes), stopped=str(stop))
        outcomes.append(CommodityEvaluation(commodity, record))
    result = EvaluationResult(tuple(outcomes))
    if len(result.failed) == len(commodities):
        raise DataError(
            "nothing evaluated: " + "; ".join(f"{c}: {e}" for c, e in result.failed.items())
        )
    return result


def report_evaluation(
    request: EvaluationRequest,
    commodity: str,
    dataset: MarketDataset,
    output: Path | None,
    reporter: EvaluationReporter,
) -> ReportResult:
    """Compute one commodity's evaluation and write its HTML page (``output``, or
    report.html in the default output folder); nothing else is recorded.

    Raises:
        ConfigError, DataError, RegistryError: Bad options or data, or an unreachable
            tracking server (nothing is written).
    """
    from forecast_core.evaluation.presentation.report import write_report

    try:
        evaluation = _evaluate(request, commodity, dataset, reporter).evaluation
    except _Stopped as stop:
        return ReportResult(None, stopped=str(stop))
    path = output or request.default_output(evaluation.config.commodity) / "report.html"
    write_report(evaluation, path, utc_now())
    return ReportResult(path)


def _evaluate(
    request: EvaluationRequest,
    commodity: str,
    dataset: MarketDataset,
    reporter: EvaluationReporter,
) -> _Evaluated:
    """Validate the options, read the table, and compute the evaluation against ``dataset``.

    Raises:
        ConfigError, DataError, RegistryError: Bad options, data, or an unreachable tracking
            server; nothing is written.
        _Stopped: The object store or the table could not be read.
    """
    from forecast_core.evaluation import evaluate_forecasts, metrics_table_location
    from forecast_core.registry.tracking_server import check_tracking_server

    quiet_libraries()
    config = request.config(commodity)
    opened = request.store.open()
    stores = opened.config
    history = dataset.history(config.commodity)
    check_tracking_server(stores.tracking_uri)  # fail before the long read, not after it
    metrics_location = request.metrics_table or metrics_table_location(stores.table_location)
    try:
        preflight_object_store(metrics_location)
    except TableError as error:
        raise _Stopped(str(error)) from error
    distributions = opened.distributions()
    reporter.line(
        f"{config.commodity}: evaluating {', '.join(config.models)} (version "
        f"{config.model_version}), forecasts {config.evaluated_from}.."
        f"{config.evaluated_to}, prices to {history.last_date}; table "
        f"{stores.table_location}"
    )
    try:
        evaluation = evaluate_forecasts(config, history, distributions)
    except TableError as error:
        raise _Stopped(f"cannot read forecasts: {error}") from error
    reporter.evaluated(evaluation)
    return _Evaluated(evaluation, opened, metrics_location)


def _evaluate_and_record(
    request: EvaluationRequest,
    commodity: str,
    output: Path | None,
    promote: bool,
    dataset: MarketDataset,
    reporter: EvaluationReporter,
) -> EvaluationRecord | None:
    """Evaluate one commodity and record it: metrics table, MLflow run, files; the record,
    or None if nothing is realized yet."""
    from forecast_core.evaluation import MetricsTable, record_evaluation

    evaluated = _evaluate(request, commodity, dataset, reporter)
    config = evaluated.evaluation.config
    champion = _champion(evaluated) if promote else None  # refused before anything is written
    if not evaluated.evaluation.n_scored:
        reporter.line(
            f"{config.commodity}: nothing to record: no forecast of {config.evaluated_from}.."
            f"{config.evaluated_to} has its 14-day horizon realized by the prices to "
            f"{evaluated.evaluation.data_last_date}; no metric rows, MLflow run or files written"
        )
        return None
    folder = output or request.default_output(config.commodity)
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
            evaluated.evaluation, table, stores.registry(), folder, utc_now()
        )
    except ForecastCoreError as error:
        raise _Stopped(f"evaluation not recorded: {error}") from error
    reporter.line(
        f"Wrote {record.rows_written} metric rows to {table.location} "
        f"({record.rows_new} new, {record.rows_written - record.rows_new} replaced)"
    )
    reporter.line(f"MLflow evaluation run {record.run_id}")
    reporter.line(f"Files in {folder}: {', '.join(path.name for path in record.files)}")
    if champion is not None:
        _promote(evaluated, champion, record.run_id, reporter)
    return record


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


def _promote(
    evaluated: _Evaluated, champion: Champion, run_id: str, reporter: EvaluationReporter
) -> None:
    """Point the champion alias at ``champion`` with its evidence.

    Raises:
        _Stopped: MLflow failed.
    """
    from forecast_core.registry import naming

    config = evaluated.evaluation.config
    evidence = {
        naming.CHAMPION_CRPS_SKILL_TAG: f"{champion.crps_skill:.6f}",
        naming.CHAMPION_CRPS_TAG: f"{champion.crps:.6f}",
        naming.CHAMPION_N_FORECASTS_TAG: str(champion.n_forecasts),
        naming.CHAMPION_SPAN_TAG: f"{config.evaluated_from}..{config.evaluated_to}",
        naming.CHAMPION_EVALUATION_RUN_TAG: run_id,
        naming.CHAMPION_PROMOTED_AT_TAG: utc_now().isoformat(timespec="seconds"),
    }
    try:
        message = evaluated.stores.lifecycle().promote(
            config.commodity, champion.model_name, champion.version, evidence
        )
    except ForecastCoreError as error:
        raise _Stopped(f"champion not promoted: {error}") from error
    reporter.line(
        f"{message}; CRPS skill {champion.crps_skill:.3f} over {evidence[naming.CHAMPION_SPAN_TAG]}"
    )
