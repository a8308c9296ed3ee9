"""Outcomes come from prices after each forecast's data cutoff, by the project's calendar rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecast_core.data.history import MarketHistory
from forecast_core.errors import DataError
from forecast_core.evaluation.compute.realized import (
    check_after_cutoff,
    last_known_price,
    realized_after_cutoff,
)
from forecast_core.forecasts import realized_prices
from tests.evaluation.synthetic import cutoff_of, weekday_history

HISTORY = weekday_history()


def _closes(history: MarketHistory) -> pd.Series:
    return history.observations.set_index("date")["close"]


@pytest.mark.parametrize(
    "forecast_date", [dt.date(2024, 2, 6), dt.date(2024, 2, 12)], ids=["tuesday", "monday"]
)
def test_weekday_forecasts_follow_the_actuals_rule(forecast_date):
    realized = realized_after_cutoff(HISTORY, forecast_date, cutoff_of(HISTORY, forecast_date))
    np.testing.assert_array_equal(realized, realized_prices(HISTORY, forecast_date))


def test_weekend_days_before_the_first_new_price_are_not_scored():
    saturday = dt.date(2024, 2, 10)
    cutoff = cutoff_of(HISTORY, saturday)
    assert cutoff == dt.date(2024, 2, 9)
    realized = realized_after_cutoff(HISTORY, saturday, cutoff)
    closes = _closes(HISTORY)
    # Sat and Sun would repeat Friday's close, which the forecast already knew.
    assert np.isnan(realized[:2]).all()
    assert realized[2] == closes[pd.Timestamp("2024-02-12")]  # Monday
    assert realized[7] == realized[8] == closes[pd.Timestamp("2024-02-16")]  # Sat, Sun = Fri
    # The rows.realized_prices rule gives Friday's (known) close on day 1 instead.
    assert realized_prices(HISTORY, saturday)[0] == closes[pd.Timestamp("2024-02-09")]


def test_a_horizon_not_yet_realized_has_no_outcome():
    last = HISTORY.last_date  # Friday 2024-03-29
    assert (
        realized_after_cutoff(HISTORY, last - dt.timedelta(days=12), dt.date(2024, 3, 15)) is None
    )
    assert (
        realized_after_cutoff(HISTORY, last - dt.timedelta(days=13), dt.date(2024, 3, 15))
        is not None
    )


def test_outcomes_ignore_every_price_on_or_before_the_cutoff():
    forecast_date = dt.date(2024, 2, 13)
    cutoff = cutoff_of(HISTORY, forecast_date)
    observations = HISTORY.observations.copy()
    on_or_before = observations["date"] <= pd.Timestamp(cutoff)
    observations.loc[on_or_before, "close"] = np.nan
    observations.loc[observations["date"] == pd.Timestamp(cutoff), "close"] = 1e9
    poisoned = MarketHistory("coffee", observations)
    np.testing.assert_array_equal(
        realized_after_cutoff(poisoned, forecast_date, cutoff),
        realized_after_cutoff(HISTORY, forecast_date, cutoff),
    )
    # The reference for direction is the one price read on the cutoff, and only it.
    assert last_known_price(poisoned, cutoff) == 1e9


def test_the_guard_refuses_an_outcome_dated_on_the_cutoff():
    cutoff = dt.date(2024, 2, 9)
    dates = np.array(["2024-02-09", "2024-02-12"], dtype="datetime64[ns]")
    with pytest.raises(DataError, match="not after its data cutoff 2024-02-09"):
        check_after_cutoff(dates, cutoff, dt.date(2024, 2, 10))
    check_after_cutoff(dates[1:], cutoff, dt.date(2024, 2, 10))  # later prices pass


def test_a_cutoff_on_or_after_day_one_is_refused():
    with pytest.raises(DataError, match="is not before it"):
        realized_after_cutoff(HISTORY, dt.date(2024, 2, 12), dt.date(2024, 2, 12))


def test_the_reference_price_needs_a_price_on_the_cutoff():
    assert (
        last_known_price(HISTORY, dt.date(2024, 2, 9))
        == _closes(HISTORY)[pd.Timestamp("2024-02-09")]
    )
    assert last_known_price(HISTORY, dt.date(2024, 2, 10)) is None  # a Saturday
