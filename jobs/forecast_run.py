"""The run behind ``forecast daily`` and ``forecast backfill``, without the command line.

``run_forecasts`` validates the data for every commodity, plans the windows of this shard,
runs the pipeline commodity by commodity (one failing does not stop the others) and returns
what happened. It never prints and never exits: progress goes to a ``RunReporter`` as the
run goes, and bad input raises ``ConfigError`` or ``DataError`` before anything is written.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from forecast_core.cadence import Cadence, TrainingWindow
from forecast_core.config import RunConfig
from forecast_core.errors import ConfigError, DataError, ForecastCoreError
from forecast_core.names import resolve_commodities
from forecast_core.planning import plan_backfill
from forecast_core.registry.naming import CHAMPION_CRPS_SKILL_TAG, CHAMPION_SPAN_TAG
from forecast_core.registry.tracking_server import check_tracking
from jobs.common import utc_now, utc_today

if TYPE_CHECKING:
    from forecast_core.data import MarketDataset, MarketHistory
    from forecast_core.pipeline import RunSummary
    from forecast_core.tables.distributions import DistributionsTable
    from jobs.context import CommandStores


class RunReporter(Protocol):
    """Where a run reports: the pipeline's ``Reporter`` and the end of each commodity."""

    def line(self, text: str) -> None:
        """Report one line of the run log."""

    def start(self, total_forecasts: int) -> None:
        """The pipeline will produce ``total_forecasts`` (model, date) forecasts."""

    def advance(self, forecasts: int) -> None:
        """``forecasts`` more forecasts are done (generated, failed or skipped)."""

    def stopped(self, error: ForecastCoreError) -> None:
        """The commodity's run stopped on ``error`` (the table or registry failed)."""

    def finished(self, summary: RunSummary) -> None:
        """The commodity's run ended with ``summary`` (some models may have failed)."""


@dataclass(frozen=True)
class ForecastRequest:
    """What to forecast: the options of ``daily`` or ``backfill``, parsed.

    Attributes:
        commodities: As requested (``all`` is resolved against the data).
        run_identity: What every table commit records of the run (command, shard, options).
        home: The folder of the embedded stores, created once the input is checked.
    """

    commodities: tuple[str, ...]
    models: tuple[str, ...]
    cadence: Cadence
    model_version: str
    n_paths: int
    seed: int
    max_staleness_days: int
    flush_rows: int
    use_pins: bool
    data: str | None
    start: dt.date
    end: dt.date
    run_identity: Mapping[str, object]
    home: Path
    shard_index: int = 0
    shard_count: int = 1

    def config(self, commodity: str) -> RunConfig:
        """The run configuration of one commodity (which validates the models)."""
        return RunConfig(
            commodity=commodity,
            models=self.models,
            cadence=self.cadence,
            model_version=self.model_version,
            n_paths=self.n_paths,
            seed=self.seed,
            max_staleness_days=self.max_staleness_days,
            flush_rows=self.flush_rows,
            use_pins=self.use_pins,
        )


@dataclass(frozen=True)
class CommodityOutcome:
    """What happened to one commodity of the run.

    Attributes:
        summary: The pipeline's summary; None if refused or stopped.
        error: Why the commodity failed (refused, stopped or model failures); None if not.
        refused: Its data could not serve the dates, so it never ran.
    """

    commodity: str
    summary: RunSummary | None = None
    error: str | None = None
    refused: bool = False


@dataclass(frozen=True)
class RunResult:
    """Every commodity this run owned, in order; none means nothing to do."""

    outcomes: tuple[CommodityOutcome, ...]

    @property
    def nothing_to_do(self) -> bool:
        """This shard owns no window."""
        return not self.outcomes

    @property
    def failed(self) -> dict[str, str]:
        """Why each failed commodity failed, by commodity."""
        return {o.commodity: o.error for o in self.outcomes if o.error is not None}

    @property
    def refused(self) -> dict[str, str]:
        """Why each commodity whose data could not serve the dates was refused."""
        return {o.commodity: o.error for o in self.outcomes if o.refused and o.error}


def run_forecasts(
    request: ForecastRequest, stores: CommandStores, reporter: RunReporter
) -> RunResult:
    """Check the input, then run each commodity this shard owns; what happened to each.

    With several commodities, one whose data is bad or stale fails alone (fail-open); with
    one, it is bad input.

    Raises:
        ConfigError, DataError: Bad input (nothing is written).
        RegistryError: The tracking store cannot be opened or reached.
    """
    from forecast_core.tables.inputs import load_inputs

    today = utc_today()
    started = time.perf_counter()
    dataset = load_inputs(request.data, today=today, isolate_commodities=True)
    data_load_seconds = time.perf_counter() - started
    commodities = resolve_commodities(request.commodities, dataset.commodities)
    configs = {name: request.config(name) for name in commodities}
    n_models = len(next(iter(configs.values())).models)
    plan = plan_backfill(
        request.cadence, request.start, request.end, request.shard_count, n_models, commodities
    )
    units = plan.shard(request.shard_index)
    # A shard checks and runs the commodities it owns units of (a daily run owns all).
    owned = tuple(c for c in commodities if any(u.commodity == c for u in units))
    if len(commodities) == 1:
        owned = commodities
    histories, refused = _check_commodities(
        dataset, owned, configs, request, today, alone=len(commodities) == 1
    )
    stores.startup_timings["data_load"] = data_load_seconds
    table = stores.distributions(
        commit_metadata={
            **request.run_identity,
            "forecast_dates": f"{request.start}..{request.end}",
            **dataset.lineage(),
        }
    )
    table.check()
    check_tracking(stores.config.tracking_uri)
    request.home.mkdir(parents=True, exist_ok=True)  # only now: bad input leaves nothing behind
    outcomes = []
    for name in owned:
        if name in refused:
            reporter.line(f"{name}: FAILED before the run: {refused[name]}")
            outcomes.append(CommodityOutcome(name, error=refused[name], refused=True))
            continue
        config = configs[name]
        reporter.line(
            f"{name}: models {', '.join(config.models)}; cadence "
            f"{config.cadence.frequency}; version {config.model_version}; "
            f"forecasts {request.start}..{request.end}; table "
            f"{stores.config.table_location} ({stores.config.table_format})"
        )
        windows = [u.window for u in units if u.commodity == name]
        outcomes.append(_run_commodity(config, histories[name], stores, table, windows, reporter))
        if stores.registry_opened:  # a commodity with nothing to do needs no registry
            reporter.line(_champion_line(stores, name))
    return RunResult(tuple(outcomes))


def _check_commodities(
    dataset: MarketDataset,
    commodities: tuple[str, ...],
    configs: dict[str, RunConfig],
    request: ForecastRequest,
    today: dt.date,
    alone: bool,
) -> tuple[dict[str, MarketHistory], dict[str, str]]:
    """Each commodity's history, or why its data cannot serve the requested dates.

    Its data must be fresh and long enough for every requested model from the start on.

    Raises:
        ConfigError, DataError: The commodity run ``alone`` is refused, or every one is.
    """
    from forecast_core.servable import check_enough_history, check_forecast_range

    histories: dict[str, MarketHistory] = {}
    refused: dict[str, str] = {}
    for name in commodities:
        try:
            config = configs[name]
            history = dataset.history(name)
            check_forecast_range(
                history, request.start, request.end, today, config.max_staleness_days
            )
            check_enough_history(history, config.cadence, config.models, request.start)
        except (ConfigError, DataError) as error:
            if alone:
                raise
            refused[name] = str(error)
            continue
        histories[name] = history
    if commodities and not histories:
        raise DataError(
            "no commodity can be forecast: "
            + "; ".join(f"{name}: {error}" for name, error in refused.items())
        )
    return histories, refused


def _run_commodity(
    config: RunConfig,
    history: MarketHistory,
    stores: CommandStores,
    table: DistributionsTable,
    windows: list[TrainingWindow],
    reporter: RunReporter,
) -> CommodityOutcome:
    """Run the pipeline for one commodity; a table or registry failure stops it alone."""
    from forecast_core.pipeline import ForecastPipeline

    try:
        pipeline = ForecastPipeline(
            config, history, stores.registry, table, reporter, now=utc_now()
        )
        summary = pipeline.run(windows)
    except ForecastCoreError as error:
        reporter.stopped(error)
        return CommodityOutcome(config.commodity, error=f"run stopped: {error}")
    summary.timings = {**stores.startup_timings, **summary.timings}
    stores.startup_timings.clear()  # shared start-up phases count once, in the next summary
    reporter.finished(summary)
    if summary.ok:
        return CommodityOutcome(config.commodity, summary)
    names = sorted({failure.model_name for failure in summary.failures})
    why = f"{len(summary.failures)} model failure(s): {', '.join(names)}"
    return CommodityOutcome(config.commodity, summary, why)


def _champion_line(stores: CommandStores, commodity: str) -> str:
    """The commodity's champion for the run log: a pointer for consumers, not a filter."""
    try:
        champion = stores.lifecycle().champion(commodity)
    except ForecastCoreError as error:
        return f"{commodity} champion: unknown ({error})"
    if champion is None:
        return f"{commodity} champion: none yet (`forecast evaluate --promote`)"
    tags = champion.tags
    return (
        f"{commodity} champion: {champion.uri} ({champion.model_id}), CRPS skill "
        f"{tags.get(CHAMPION_CRPS_SKILL_TAG, '?')} over {tags.get(CHAMPION_SPAN_TAG, '?')}; "
        f"every model is still forecast"
    )
