"""``forecast monitor``: are the recent forecasts healthy? One line per breach, exit 1 if any.

Per commodity: the newest price's age, a forecast for today from every model, and the
coverage and CRPS skill of the realized forecasts of the last ``--lookback-days`` (scored
by the evaluation code). The figures go to MLflow; ``--json`` prints a report for alerting
tools. ``--as-of DATE`` replays a past day: that day is "today", and prices after it are
not known. Exit codes: 0 healthy; 1 a breach (or MLflow failed); 2 bad usage or
configuration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any

import click

from forecast_core.errors import ConfigError, DataError, ForecastCoreError
from forecast_core.names import parse_commodities, parse_model_names, resolve_commodities
from jobs import common, options

if TYPE_CHECKING:  # the library (Spark, MLflow) is imported when the command runs
    from forecast_core.data import MarketDataset
    from forecast_core.evaluation.compute.monitoring import Breach, MonitorThresholds
    from forecast_core.registry.store import ModelRegistry
    from forecast_core.tables.distributions import DistributionsTable


@click.command()
@options.commodities("Commodities watched: a key, a comma-separated list or 'all'.")
@options.models()
@options.model_version("Version label of the models watched.")
@options.with_monitor_options
@click.option(
    "--as-of",
    "as_of",
    type=options.DATE,
    default=None,
    help="Check as on this day (YYYY-MM-DD): its forecasts, prices up to it; "
    "default: today (UTC). Replays a past day, e.g. on the bundled sample.",
)
@options.as_json("Print the report as JSON.")
@options.DATA_OPTION
@options.store_options
@common.exit_on_setup_errors
def monitor(
    commodity: str,
    models: str,
    model_version: str,
    lookback_days: int,
    coverage_80_min: float,
    coverage_80_max: float,
    min_crps_skill: float,
    max_price_age_days: int,
    as_of: dt.date | None,
    as_json: bool,
    data: str | None,
    store: options.StoreSettings,
) -> None:
    """Check the recent forecasts against thresholds; exit 1 on a breach (for a CronJob).

    Breaches: coverage of the 80% interval outside the band, CRPS skill against the random
    walk below the floor, a model with nothing scored, the newest price too old, a model
    without a forecast for today (UTC, or --as-of: prices after that day are left out, as
    they were not known then). JSON format: {"today" (the day checked), "thresholds",
    "commodities": [{"commodity", "newest_price", "figures": {model: {metric: value}},
    "mlflow_run_id"}], "breaches": [{"commodity", "check", "subject", "value",
    "threshold"}]}.
    """
    from forecast_core.evaluation.compute.monitoring import MonitorThresholds
    from forecast_core.tables.inputs import load_inputs

    common.quiet_libraries()
    thresholds = MonitorThresholds(
        lookback_days, coverage_80_min, coverage_80_max, min_crps_skill, max_price_age_days
    )
    model_names = parse_model_names(models.split(","))
    real_today = common.utc_today()
    if as_of is not None and as_of > real_today:
        raise ConfigError(
            f"--as-of {as_of} is after today ({real_today}); expected a day to replay"
        )
    today = as_of or real_today
    # Rows after the real today are refused as ever; rows after --as-of are cut per commodity.
    dataset = load_inputs(data, today=real_today, isolate_commodities=True)
    commodities = resolve_commodities(parse_commodities(commodity), dataset.commodities)
    stores = store.open()
    watched = _Watch(
        stores.distributions(), stores.registry(), model_names, model_version, thresholds, today
    )
    report: dict[str, Any] = {
        "today": today.isoformat(),
        "thresholds": dataclasses.asdict(thresholds),
        "commodities": [],
        "breaches": [],
    }
    try:
        for name in commodities:
            entry, breaches = watched.check(name, dataset)
            report["commodities"].append(entry)
            report["breaches"].extend(b.to_dict() for b in breaches)
            if not as_json:
                for breach in breaches:
                    click.echo(breach.describe())
    except ForecastCoreError as error:
        common.fail(f"monitor stopped: {error}", common.EXIT_MODEL_FAILED)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    elif not report["breaches"]:
        click.echo(f"Healthy: {', '.join(commodities)} (as of {today}, last {lookback_days} days)")
    sys.exit(common.EXIT_MODEL_FAILED if report["breaches"] else common.EXIT_OK)


@dataclasses.dataclass(frozen=True)
class _Watch:
    """What one monitor run checks each commodity against."""

    table: DistributionsTable
    registry: ModelRegistry
    models: tuple[str, ...]
    model_version: str
    thresholds: MonitorThresholds
    today: dt.date

    def check(self, commodity: str, dataset: MarketDataset) -> tuple[dict[str, Any], list[Breach]]:
        """The report entry and the breaches of one commodity (its figures logged)."""
        from forecast_core.evaluation import EvaluationConfig, evaluate_forecasts
        from forecast_core.evaluation.compute.monitoring import (
            Breach,
            freshness_breaches,
            missing_forecast_breaches,
            model_figures,
            score_breaches,
        )
        from forecast_core.registry.monitor_runs import log_monitor_run

        try:
            # The prices known on the day checked: up to and including it.
            history = dataset.history(commodity).as_of(self.today + dt.timedelta(days=1))
            newest_price = history.last_date  # no price by then is bad data too
        except DataError as error:
            breach = Breach(commodity, "bad_data", commodity, None, str(error))
            return {"commodity": commodity, "newest_price": None, "figures": {}}, [breach]
        breaches = freshness_breaches(commodity, newest_price, self.today, self.thresholds)
        keys = self.table.existing_keys(commodity, self.model_version, self.models, [self.today])
        written = {model for model, _ in keys}
        breaches += missing_forecast_breaches(commodity, self.models, written, self.today)
        config = EvaluationConfig(
            commodity,
            self.today - dt.timedelta(days=self.thresholds.lookback_days),
            self.today,
            self.models,
            self.model_version,
        )
        figures: dict[str, dict[str, float]] = {}
        benchmark = None
        try:
            evaluation = evaluate_forecasts(config, history, self.table)
        except DataError:  # no forecast at all in the span: every model breaches below
            pass
        else:
            figures = model_figures(evaluation)
            benchmark = config.benchmark if evaluation.benchmark_scored else None
        breaches += score_breaches(commodity, figures, self.models, self.thresholds, benchmark)
        age = (self.today - newest_price).days
        run_id = log_monitor_run(self.registry, commodity, self.today, figures, age, breaches)
        entry = {
            "commodity": commodity,
            "newest_price": newest_price.isoformat(),
            "figures": figures,
            "mlflow_run_id": run_id,
        }
        return entry, breaches
