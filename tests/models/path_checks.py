"""Helpers the model tests share to read sample paths against real prices."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from forecast_core.data import MarketHistory
from forecast_core.models import Forecaster

N_PATHS = 200
HORIZON = 14


def day_one_median(model: Forecaster, history: MarketHistory, forecast_date: dt.date) -> float:
    """Median of day 1 over ``N_PATHS`` paths of ``model`` for ``forecast_date``."""
    return float(np.median(model.sample_paths(history, forecast_date, HORIZON, N_PATHS)[:, 0]))


def realized_close(history: MarketHistory, day: dt.date) -> float:
    """The price of ``day`` under the calendar rule: the newest close on or before it."""
    observations = history.observations
    return float(observations.loc[observations["date"] <= pd.Timestamp(day), "close"].iloc[-1])


def assert_day_one_near_the_newest_close(
    model: Forecaster, history: MarketHistory, forecast_date: dt.date
) -> None:
    """Day 1 is centred within 3% of the newest close before ``forecast_date``."""
    last_close = history.as_of(forecast_date).last_close
    assert abs(day_one_median(model, history, forecast_date) / last_close - 1) < 0.03


def assert_state_follows_the_dates_without_refitting(
    model: Forecaster, coffee: MarketHistory
) -> None:
    """Day 1 follows a 2024 rally (+23% in two months) and the fit is left untouched."""
    early, late = dt.date(2024, 3, 1), dt.date(2024, 4, 30)
    early_close = coffee.as_of(early).last_close  # 184.35
    late_close = coffee.as_of(late).last_close  # 227.50
    metrics_before = dict(model.training_metrics_)
    early_median = day_one_median(model, coffee, early)
    late_median = day_one_median(model, coffee, late)
    assert abs(early_median / early_close - 1) < 0.02
    assert abs(late_median / late_close - 1) < 0.02
    assert late_median / early_median > 1.15
    assert model.training_metrics_ == metrics_before


def assert_sugar_paths_are_sane(model: Forecaster, sugar: MarketHistory) -> None:
    """A model fitted without weather still gives finite paths centred on the last close."""
    forecast_date = dt.date(2024, 2, 6)
    paths = model.sample_paths(sugar, forecast_date, HORIZON, N_PATHS, seed=1)
    assert paths.shape == (N_PATHS, HORIZON) and np.all(np.isfinite(paths))
    assert abs(np.median(paths[:, 0]) / sugar.as_of(forecast_date).last_close - 1) < 0.03
