"""The evaluation of one commodity's forecasts over a span, computed in memory.

``evaluate_forecasts`` reads the distributions table and the price history and computes
everything without writing: scores, metrics, counts of forecasts left out, the model URIs
scored and the fan chart's data. ``score_span`` is its table-free core. Writing the
result is ``recording.record_evaluation``'s job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from forecast_core.data.history import MarketHistory
from forecast_core.errors import ConfigError, DataError
from forecast_core.evaluation.compute.aggregate import (
    SKILL_OVER_TIME_COLUMNS,
    aggregate_metrics,
    forecast_counts,
    headline,
    monthly_skill,
    weekly_skill,
)
from forecast_core.evaluation.compute.scoring import (
    Triage,
    empty_scores,
    score_forecast,
    triage_forecasts,
)
from forecast_core.evaluation.presentation.figures import (
    FanChartData,
    coverage_by_horizon_figure,
    fan_chart_figure,
    pit_histogram_figure,
    skill_over_time_figure,
)
from forecast_core.evaluation.storage.reading import DEFAULT_CHUNK_DATES, ForecastReader
from forecast_core.names import DEFAULT_MODEL_VERSION, check_model_name, parse_model_names
from forecast_core.tables.distributions import DistributionsTable

DEFAULT_BENCHMARK = "random_walk"
# How much history the fan chart draws before the forecast date.
FAN_CONTEXT_DAYS = 60
# "Skill over time" of a span up to 13 weeks is drawn by week: by month it would be two or
# three points joined by straight lines.
WEEKLY_SKILL_MAX_DAYS = 91


@dataclass(frozen=True)
class EvaluationConfig:
    """What to evaluate: one commodity, a span of forecast start dates, some models.

    Attributes:
        commodity: Commodity key (``coffee``).
        evaluated_from: First forecast start date.
        evaluated_to: Last forecast start date.
        models: Models to report, in order.
        model_version: Version label of the models (``v1.0``).
        benchmark: The model skill is measured against (read even if not in ``models``),
            or None for no skill score.
        fan_date: The forecast date of the fan chart; default the newest date scored.
        chunk_dates: Forecast dates per Spark read of paths.
    """

    commodity: str
    evaluated_from: dt.date
    evaluated_to: dt.date
    models: tuple[str, ...]
    model_version: str = DEFAULT_MODEL_VERSION
    benchmark: str | None = DEFAULT_BENCHMARK
    fan_date: dt.date | None = None
    chunk_dates: int = DEFAULT_CHUNK_DATES

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", parse_model_names(self.models))
        if self.evaluated_from > self.evaluated_to:
            raise ConfigError(
                f"--from {self.evaluated_from} is after --to {self.evaluated_to}; "
                f"expected from <= to"
            )
        if self.benchmark is not None:
            check_model_name(self.benchmark)
        if self.fan_date is not None and not (
            self.evaluated_from <= self.fan_date <= self.evaluated_to
        ):
            raise ConfigError(
                f"fan chart date {self.fan_date} is outside the evaluated span "
                f"{self.evaluated_from}..{self.evaluated_to}"
            )
        if self.chunk_dates < 1:
            raise ConfigError(f"chunk_dates {self.chunk_dates} is not valid; expected >= 1")

    @property
    def models_read(self) -> tuple[str, ...]:
        """The models whose forecasts are read: the reported ones and the benchmark."""
        extra = (self.benchmark,) if self.benchmark and self.benchmark not in self.models else ()
        return (*self.models, *extra)


@dataclass(frozen=True)
class Evaluation:
    """The result of scoring one span, before anything is written.

    Attributes:
        config: What was evaluated.
        scores: One row per scored forecast and horizon day (``scoring.SCORE_COLUMNS``),
            every model read (the benchmark's too); holds the PIT values.
        metrics: Tidy metrics of the reported models (``aggregate.AGGREGATE_COLUMNS``),
            including the forecast counts.
        left_out: Forecasts left out per model and reason (``scoring.LEFT_OUT_COLUMNS``).
        scored_uris: ``model_name, model_uri, n_forecasts`` of the reported models.
        fan: The fan chart's data, or None if nothing was scored.
        data_last_date: The newest price in the data (what "realized" could reach).
        benchmark_scored: True if the benchmark had scores (skill is available).
    """

    config: EvaluationConfig
    scores: pd.DataFrame
    metrics: pd.DataFrame
    left_out: pd.DataFrame
    scored_uris: pd.DataFrame
    fan: FanChartData | None
    data_last_date: dt.date
    benchmark_scored: bool

    @property
    def headline(self) -> pd.DataFrame:
        """One row per model: the metrics pooled over days 1..14 and the whole span."""
        return headline(self.metrics)

    @property
    def n_scored(self) -> int:
        """The number of forecasts of the reported models that were scored."""
        reported = self.scores[self.scores["model_name"].isin(list(self.config.models))]
        return len(reported[["model_name", "forecast_start_date"]].drop_duplicates())

    @property
    def skill_period(self) -> str:
        """``week`` for a span of at most ``WEEKLY_SKILL_MAX_DAYS`` days, else ``month``."""
        span_days = (self.config.evaluated_to - self.config.evaluated_from).days + 1
        return "week" if span_days <= WEEKLY_SKILL_MAX_DAYS else "month"

    def skill_over_time(self) -> pd.DataFrame:
        """CRPS skill per reported model and ``skill_period`` (``SKILL_OVER_TIME_COLUMNS``).

        Empty without a scored benchmark. Months are the metrics table's rows; weeks are
        computed from the scores by the same rule.
        """
        if not self.benchmark_scored or self.config.benchmark is None:
            return pd.DataFrame(columns=list(SKILL_OVER_TIME_COLUMNS))
        if self.skill_period == "week":
            return weekly_skill(self.scores, self.config.models, self.config.benchmark)
        return monthly_skill(self.metrics)

    def figures(self) -> dict[str, Figure]:
        """The evaluation figures by name (``figures.FIGURE_FILES``); none if nothing scored."""
        if self.fan is None:
            return {}
        benchmark = self.config.benchmark if self.benchmark_scored else None
        return {
            "fan_chart": fan_chart_figure(self.fan),
            "coverage_by_horizon": coverage_by_horizon_figure(self.metrics),
            "pit_histogram": pit_histogram_figure(self.scores, self.config.models),
            "skill_over_time": skill_over_time_figure(
                self.skill_over_time(), benchmark, self.skill_period
            ),
        }


# (model_name, forecast dates) -> (forecast date, paths) in date order; dates without paths skipped.
PathReader = Callable[[str, Sequence[dt.date]], Iterable[tuple[dt.date, np.ndarray]]]


def evaluate_forecasts(
    config: EvaluationConfig, history: MarketHistory, distributions: DistributionsTable
) -> Evaluation:
    """Score every forecast of the span in the table whose horizon is realized; write nothing.

    Args:
        config: What to evaluate.
        history: The commodity's prices; outcomes are read only after each forecast's cutoff.
        distributions: The distributions table.

    Returns:
        The evaluation.

    Raises:
        ConfigError: The history is of another commodity, or the fan date was not scored.
        DataError: The table holds no forecast of the reported models in the span.
        TableError: The table cannot be read or is inconsistent.
    """
    reader = ForecastReader(
        distributions, config.commodity, config.model_version, config.chunk_dates
    )
    index = reader.index(config.models_read, config.evaluated_from, config.evaluated_to)
    return score_span(config, history, index, reader.paths, repr(distributions.location))


def score_span(
    config: EvaluationConfig,
    history: MarketHistory,
    index: pd.DataFrame,
    read_model_paths: PathReader,
    source: str = "the table",
) -> Evaluation:
    """Score the forecasts of ``index`` whose horizon is realized (the table-free core).

    Args:
        config: What to evaluate.
        history: The commodity's prices; outcomes are read only after each forecast's cutoff.
        index: One row per forecast held (``reading.INDEX_COLUMNS``).
        read_model_paths: Gives the paths of one model's forecasts for some dates.
        source: Where the forecasts come from, for messages.

    Returns:
        The evaluation.

    Raises:
        ConfigError: The history is of another commodity, or the fan date was not scored.
        DataError: ``index`` holds no forecast of the reported models.
    """
    if history.commodity != config.commodity:
        raise ConfigError(
            f"history of {history.commodity!r} given to evaluate {config.commodity!r}"
        )
    reported = index[index["model_name"].isin(list(config.models))]
    if reported.empty:
        raise DataError(
            f"no {config.commodity} forecasts of {', '.join(config.models)} "
            f"(version {config.model_version}) from {config.evaluated_from} to "
            f"{config.evaluated_to} in {source}; expected a backfill of that "
            f"span first"
        )
    triage = triage_forecasts(index, history)
    fan_date = _fan_date(config, triage)
    fan_paths: dict[str, np.ndarray] = {}
    parts = []
    for model_name in config.models_read:
        cutoffs = index[index["model_name"] == model_name].set_index("forecast_start_date")[
            "data_cutoff_date"
        ]
        for forecast_date, paths in read_model_paths(model_name, triage.dates_to_score(model_name)):
            outcome = triage.outcomes[(model_name, forecast_date)]
            parts.append(
                score_forecast(model_name, forecast_date, cutoffs[forecast_date], paths, outcome)
            )
            if forecast_date == fan_date and model_name in config.models:
                fan_paths[model_name] = paths
    scores = pd.concat(parts, ignore_index=True) if parts else empty_scores()
    benchmark_scored = bool(config.benchmark) and bool(
        (scores["model_name"] == config.benchmark).any()
    )
    metrics = pd.concat(
        [
            aggregate_metrics(
                scores, config.models, config.benchmark if benchmark_scored else None
            ),
            forecast_counts(triage.left_out, scores, config.models),
        ],
        ignore_index=True,
    )
    return Evaluation(
        config=config,
        scores=scores,
        metrics=metrics,
        left_out=triage.left_out[
            triage.left_out["model_name"].isin(list(config.models))
        ].reset_index(drop=True),
        scored_uris=_scored_uris(index, scores, config.models),
        fan=_fan_data(config, history, index, triage, fan_date, fan_paths),
        data_last_date=history.last_date,
        benchmark_scored=benchmark_scored,
    )


def _fan_date(config: EvaluationConfig, triage: Triage) -> dt.date | None:
    """The fan chart's date: the one asked for, else the newest date every model scored."""
    per_model = [set(triage.dates_to_score(name)) for name in config.models]
    scored_any = set().union(*per_model)
    if config.fan_date is not None:
        if config.fan_date not in scored_any:
            raise ConfigError(
                f"fan chart date {config.fan_date} has no scored forecast; "
                f"expected a date whose horizon is realized"
            )
        return config.fan_date
    scored_all = set.intersection(*per_model) if per_model else set()
    candidates = scored_all or scored_any
    return max(candidates) if candidates else None


def _fan_data(
    config: EvaluationConfig,
    history: MarketHistory,
    index: pd.DataFrame,
    triage: Triage,
    fan_date: dt.date | None,
    fan_paths: dict[str, np.ndarray],
) -> FanChartData | None:
    if fan_date is None or not fan_paths:
        return None
    some_model = next(iter(fan_paths))
    cutoff = index[
        (index["model_name"] == some_model) & (index["forecast_start_date"] == fan_date)
    ]["data_cutoff_date"].iloc[0]
    known = history.as_of(fan_date).observations
    shown_from = pd.Timestamp(fan_date - dt.timedelta(days=FAN_CONTEXT_DAYS))
    recent = known.loc[known["date"] >= shown_from, ["date", "close"]].reset_index(drop=True)
    return FanChartData(
        commodity=config.commodity,
        forecast_date=fan_date,
        data_cutoff=cutoff,
        recent=recent,
        paths=fan_paths,
        realized=triage.outcomes[(some_model, fan_date)].realized,
    )


def _scored_uris(
    index: pd.DataFrame, scores: pd.DataFrame, model_names: tuple[str, ...]
) -> pd.DataFrame:
    scored_keys = scores[["model_name", "forecast_start_date"]].drop_duplicates()
    scored = index.merge(scored_keys, on=["model_name", "forecast_start_date"])
    scored = scored[scored["model_name"].isin(list(model_names))]
    return (
        scored.groupby(["model_name", "model_uri"], sort=True)
        .size()
        .rename("n_forecasts")
        .reset_index()
    )
