"""Health checks of the recent forecasts: calibration, skill, fresh data, today's forecasts.

Pure functions over an evaluation (``runner.Evaluation``, read as a ``ScoredSpan``: the
scores of the recent realized forecasts), the newest price date and the models that wrote
today's forecast; ``forecast monitor`` reads them and reports one ``Breach`` per failed
check.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from forecast_core.errors import ConfigError
from forecast_core.names import (
    DEFAULT_COVERAGE_80_BAND,
    DEFAULT_MAX_PRICE_AGE_DAYS,
    DEFAULT_MIN_CRPS_SKILL,
    DEFAULT_MONITOR_LOOKBACK_DAYS,
)

if TYPE_CHECKING:
    import pandas as pd

# The figures a monitor logs per model, from the evaluation's pooled headline.
MONITORED_METRICS: tuple[str, ...] = ("coverage_80", "coverage_95", "crps", "crps_skill")


class _ReportedModels(Protocol):
    """What the checks read of an evaluation's configuration."""

    @property
    def models(self) -> tuple[str, ...]:
        """The models reported, in order."""
        ...


class ScoredSpan(Protocol):
    """What the checks read of an evaluation: ``runner.Evaluation`` (a higher layer) has it."""

    @property
    def config(self) -> _ReportedModels:
        """What was evaluated."""
        ...

    @property
    def headline(self) -> pd.DataFrame:
        """One row per model: the metrics pooled over the span and the horizon."""
        ...


@dataclass(frozen=True)
class MonitorThresholds:
    """When the recent forecasts count as unhealthy.

    Attributes:
        lookback_days: Forecast dates scored: the last ``lookback_days`` days (only those
            whose horizon is realized count).
        coverage_80_min, coverage_80_max: The band the 80% interval's coverage must lie in.
        min_crps_skill: The floor of CRPS skill against the benchmark (0 = as good as it).
        max_price_age_days: How old the newest price may be, in days.
    """

    lookback_days: int = DEFAULT_MONITOR_LOOKBACK_DAYS
    coverage_80_min: float = DEFAULT_COVERAGE_80_BAND[0]
    coverage_80_max: float = DEFAULT_COVERAGE_80_BAND[1]
    min_crps_skill: float = DEFAULT_MIN_CRPS_SKILL
    max_price_age_days: int = DEFAULT_MAX_PRICE_AGE_DAYS

    def __post_init__(self) -> None:
        if self.lookback_days < 1 or self.max_price_age_days < 0:
            raise ConfigError(
                f"lookback {self.lookback_days} days and price age {self.max_price_age_days} "
                f"days are not valid; expected a lookback >= 1 and an age >= 0"
            )
        if not 0.0 <= self.coverage_80_min < self.coverage_80_max <= 1.0:
            raise ConfigError(
                f"coverage band {self.coverage_80_min}..{self.coverage_80_max} is not valid; "
                f"expected 0 <= min < max <= 1"
            )


@dataclass(frozen=True)
class Breach:
    """One failed check, named as the alert line says it."""

    commodity: str
    check: str  # coverage_80, crps_skill, price_age, missing_forecast, nothing_scored
    subject: str  # a model name, or the commodity
    value: float | None
    threshold: str

    def describe(self) -> str:
        """The one-line alert; a check of the commodity itself names it once.

        ``BREACH coffee xgboost coverage_80 0.58 (...)``, ``BREACH coffee price_age 9 (...)``.
        """
        shown = "-" if self.value is None else f"{self.value:.3f}".rstrip("0").rstrip(".")
        subject = "" if self.subject == self.commodity else f" {self.subject}"
        return f"BREACH {self.commodity}{subject} {self.check} {shown} ({self.threshold})"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "commodity": self.commodity,
            "check": self.check,
            "subject": self.subject,
            "value": self.value,
            "threshold": self.threshold,
        }


def model_figures(evaluation: ScoredSpan) -> dict[str, dict[str, float]]:
    """The monitored figures per reported model (missing ones left out)."""
    headline = evaluation.headline
    figures: dict[str, dict[str, float]] = {}
    for model in evaluation.config.models:
        if model not in headline.index:
            continue
        row = headline.loc[model]
        figures[model] = {
            metric: float(row[metric])
            for metric in (*MONITORED_METRICS, "forecasts_scored")
            if metric in row.index and not math.isnan(float(row[metric]))
        }
    return figures


def score_breaches(
    commodity: str,
    figures: dict[str, dict[str, float]],
    models: Iterable[str],
    thresholds: MonitorThresholds,
    benchmark: str | None,
) -> list[Breach]:
    """Coverage outside the band, skill below the floor, or a model with nothing scored."""
    breaches: list[Breach] = []
    band = f"expected {thresholds.coverage_80_min}..{thresholds.coverage_80_max}"
    for model in models:
        model_figures_ = figures.get(model, {})
        if not model_figures_.get("forecasts_scored"):
            breaches.append(
                Breach(
                    commodity,
                    "nothing_scored",
                    model,
                    None,
                    f"expected realized forecasts in the last {thresholds.lookback_days} days",
                )
            )
            continue
        coverage = model_figures_.get("coverage_80")
        if coverage is not None and not (
            thresholds.coverage_80_min <= coverage <= thresholds.coverage_80_max
        ):
            breaches.append(Breach(commodity, "coverage_80", model, coverage, band))
        skill = model_figures_.get("crps_skill")
        if model != benchmark and skill is not None and skill < thresholds.min_crps_skill:
            breaches.append(
                Breach(
                    commodity,
                    "crps_skill",
                    model,
                    skill,
                    f"expected >= {thresholds.min_crps_skill} against {benchmark}",
                )
            )
    return breaches


def freshness_breaches(
    commodity: str, newest_price: dt.date, today: dt.date, thresholds: MonitorThresholds
) -> list[Breach]:
    """The newest price older than allowed."""
    age = (today - newest_price).days
    if age <= thresholds.max_price_age_days:
        return []
    return [
        Breach(
            commodity,
            "price_age",
            commodity,
            float(age),
            f"newest price {newest_price}; expected at most "
            f"{thresholds.max_price_age_days} days old",
        )
    ]


def missing_forecast_breaches(
    commodity: str, models: Iterable[str], written: set[str], today: dt.date
) -> list[Breach]:
    """A model with no forecast for today."""
    return [
        Breach(commodity, "missing_forecast", model, None, f"expected a forecast for {today}")
        for model in models
        if model not in written
    ]
