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
