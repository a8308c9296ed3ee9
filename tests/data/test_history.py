"""History as known on a date, the weather join, and the calendar rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecast_core.data import MarketHistory, trading_steps
from forecast_core.data.weather import join_weather, weather_features
from forecast_core.errors import DataError


@pytest.mark.parametrize(
    "when",
    [dt.date(2024, 7, 15), dt.date(2024, 7, 13), dt.date(2012, 1, 4)],
    ids=["monday", "saturday", "second-trading-day"],
)
def test_as_of_holds_only_rows_strictly_before_the_date(coffee_history, when):
    known = coffee_history.as_of(when)
    assert known.observations["date"].max() < pd.Timestamp(when)
    later = coffee_history.observations["date"] >= pd.Timestamp(when)
    assert len(known) == int((~later).sum())
    assert known.known_before == when


def test_as_of_keeps_the_earliest_cutoff(coffee_history):
    assert coffee_history.as_of(dt.date(2024, 1, 1)).as_of(
        dt.date(2025, 1, 1)
    ).known_before == dt.date(2024, 1, 1)


def test_forecast_date_before_the_data_starts_is_a_clear_error(coffee_history):
    with pytest.raises(DataError, match="no coffee prices before 2011-06-01"):
        _ = coffee_history.as_of(dt.date(2011, 6, 1)).last_date


def _weather(days: pd.DatetimeIndex, temp: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": days,
            "region": "R",
            "temp_min": temp,
            "temp_mean": temp,
            "temp_max": temp,
            "precipitation": temp,
        }
    )


def test_weather_features_are_trailing_and_weekends_reach_monday():
    days = pd.date_range("2024-01-01", "2024-03-31", freq="D")
    temp = np.zeros(len(days))
    temp[days == pd.Timestamp("2024-03-16")] = 300.0  # a Saturday
    features = weather_features(_weather(days, temp), ("R",))
    assert features.loc["2024-03-15", "precip_30d"] == 0.0  # Friday: no look-ahead
    assert features.loc["2024-03-18", "precip_30d"] == pytest.approx(10.0)  # Monday sees it


def test_join_only_fills_forward_never_backward():
    days = pd.date_range("2024-01-01", "2024-03-31", freq="D")
    features = weather_features(_weather(days, np.arange(len(days), dtype=float)), ("R",))
    prices = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-03", "2024-03-29", "2024-04-05"]),
            "close": [1.0, 2.0, 3.0],
        }
    )
    joined = join_weather(prices, features)
    assert np.isnan(joined.loc[0, "temp_mean_30d"])  # too few days yet: not filled from later
    # After the weather ends, the newest earlier value is held.
    assert joined.loc[2, "temp_mean_30d"] == features["temp_mean_30d"].iloc[-1]


def test_weather_edits_after_a_date_do_not_change_earlier_features(sample_dataset):
    from forecast_core.data.loading import MarketDataset

    cut = pd.Timestamp("2020-06-01")
    weather = sample_dataset.weather.copy()
    weather.loc[weather["date"] >= cut, ["temp_mean", "temp_min", "precipitation"]] += 50.0
    edited = MarketDataset(sample_dataset.prices, weather, "edited").history("coffee")
    original = sample_dataset.history("coffee")
    before = original.observations["date"] < cut
    pd.testing.assert_frame_equal(edited.observations[before], original.observations[before])
    assert not edited.observations[~before].equals(original.observations[~before])


STEP_CASES = [
    # last observation, forecast date, expected steps for 14 calendar days
    pytest.param(
        dt.date(2024, 7, 12),
        dt.date(2024, 7, 15),
        [1, 2, 3, 4, 5, 5, 5, 6, 7, 8, 9, 10, 10, 10],
        id="monday-after-friday",
    ),
    pytest.param(
        dt.date(2024, 7, 12),
        dt.date(2024, 7, 13),
        [0, 0, 1, 2, 3, 4, 5, 5, 5, 6, 7, 8, 9, 10],
        id="saturday-repeats-friday",
    ),
    pytest.param(
        dt.date(2024, 7, 10),
        dt.date(2024, 7, 15),
        [3, 4, 5, 6, 7, 7, 7, 8, 9, 10, 11, 12, 12, 12],
        id="stale-data-widens-day-1",
    ),
]


@pytest.mark.parametrize(("last_observation", "forecast_date", "expected"), STEP_CASES)
def test_trading_steps_calendar_rule(last_observation, forecast_date, expected):
    assert trading_steps(last_observation, forecast_date, 14).tolist() == expected


def test_history_without_weather_has_an_empty_matrix():
    frame = pd.DataFrame(
        {
            "date": pd.bdate_range("2020-01-01", periods=3),
            "open": 1.0,
            "high": 1.0,
            "low": 1.0,
            "close": 1.0,
        }
    )
    assert MarketHistory("x", frame).weather_matrix().shape == (3, 0)
