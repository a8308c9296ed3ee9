"""Monitor checks on synthetic series with a known answer (no Spark, no MLflow)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecast_core.data import trading_steps
from forecast_core.errors import ConfigError
from forecast_core.evaluation.compute.monitoring import (
    MonitorThresholds,
    freshness_breaches,
    missing_forecast_breaches,
    model_figures,
    score_breaches,
)
from forecast_core.evaluation.runner import EvaluationConfig, score_span
from tests.evaluation.synthetic import InMemoryForecasts, cutoff_of, weekday_history

DAILY_VOLATILITY = 0.01  # the synthetic prices' own daily log-return volatility
HISTORY = weekday_history(last=dt.date(2024, 6, 28))
DATES = [dt.date(2024, 3, 1) + dt.timedelta(days=k) for k in range(90)]  # all realized


def _paths(forecast_date: dt.date, volatility: float, seed: int) -> np.ndarray:
    """Paths of the process that made the prices, with ``volatility`` per trading day."""
    known = HISTORY.as_of(forecast_date)
    steps = trading_steps(known.last_date, forecast_date, 14)
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, volatility, size=(1000, int(steps[-1])))
    levels = known.last_close * np.exp(np.cumsum(returns, axis=1))
    with_start = np.concatenate([np.full((1000, 1), known.last_close), levels], axis=1)
    return with_start[:, steps]


def _evaluation():
    forecasts = InMemoryForecasts()
    for offset, day in enumerate(DATES):
        cutoff = cutoff_of(HISTORY, day)
        # random_walk: the true process (calibrated); naive: a tenth of its spread.
        forecasts.add("random_walk", day, cutoff, _paths(day, DAILY_VOLATILITY, offset))
        forecasts.add("naive", day, cutoff, _paths(day, DAILY_VOLATILITY / 10, offset))
    config = EvaluationConfig("coffee", DATES[0], DATES[-1], ("random_walk", "naive"))
    return score_span(config, HISTORY, forecasts.index, forecasts.read)


def test_a_calibrated_model_passes_and_a_narrow_one_breaches():
    figures = model_figures(_evaluation())
    assert 0.65 <= figures["random_walk"]["coverage_80"] <= 0.95
    assert figures["naive"]["coverage_80"] < 0.3
    breaches = score_breaches(
        "coffee", figures, ("random_walk", "naive"), MonitorThresholds(), "random_walk"
    )
    assert {(b.subject, b.check) for b in breaches} == {
        ("naive", "coverage_80"),
        ("naive", "crps_skill"),
    }
    line = next(b for b in breaches if b.check == "coverage_80").describe()
    assert line.startswith("BREACH coffee naive coverage_80 0.")
    assert line.endswith("(expected 0.65..0.95)")


def test_a_model_with_nothing_scored_breaches():
    figures = model_figures(_evaluation())
    breaches = score_breaches("coffee", figures, ("sarimax",), MonitorThresholds(), None)
    assert [b.check for b in breaches] == ["nothing_scored"]


def test_stale_prices_and_missing_forecasts_breach():
    today = dt.date(2024, 7, 8)
    thresholds = MonitorThresholds(max_price_age_days=5)
    assert freshness_breaches("coffee", dt.date(2024, 7, 3), today, thresholds) == []
    (stale,) = freshness_breaches("coffee", dt.date(2024, 6, 28), today, thresholds)
    assert stale.value == 10 and stale.check == "price_age"
    missing = missing_forecast_breaches("coffee", ("naive", "xgboost"), {"naive"}, today)
    assert [(b.subject, b.check) for b in missing] == [("xgboost", "missing_forecast")]


@pytest.mark.parametrize(
    "settings",
    [{"lookback_days": 0}, {"coverage_80_min": 0.9, "coverage_80_max": 0.8}],
    ids=["no-lookback", "inverted-band"],
)
def test_bad_thresholds_are_refused(settings):
    with pytest.raises(ConfigError):
        MonitorThresholds(**settings)
