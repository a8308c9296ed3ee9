"""Rows of the distributions table and the actuals rule (pure pandas, no Spark)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from forecast_core.forecasts import (
    DISTRIBUTIONS_COLUMNS,
    Forecast,
    actuals_forecast,
    forecasts_to_frame,
    realized_prices,
)


def test_one_row_per_path_in_table_order():
    forecast = Forecast(
        "coffee",
        "naive",
        "v1.0",
        dt.date(2024, 7, 15),
        dt.date(2024, 7, 12),
        dt.date(2024, 7, 1),
        "models:/coffee_naive/1",
        np.arange(28, dtype=float).reshape(2, 14),
    )
    frame = forecasts_to_frame([forecast], dt.datetime(2024, 7, 15, tzinfo=dt.UTC))
    assert tuple(frame.columns) == DISTRIBUTIONS_COLUMNS
    assert frame["path_id"].tolist() == [0, 1]
    assert frame.loc[1, "day_1"] == 14.0 and frame.loc[1, "day_14"] == 27.0
    assert not frame["is_actuals"].any()


def test_realized_prices_repeat_friday_over_the_weekend(coffee_history):
    realized = realized_prices(coffee_history, dt.date(2024, 7, 15))  # a Monday
    closes = coffee_history.observations.set_index("date")["close"]
    assert realized[0] == closes[pd.Timestamp("2024-07-15")]
    assert realized[5] == realized[4] == closes[pd.Timestamp("2024-07-19")]  # Sat = Fri
    assert realized[6] == realized[4]  # Sun = Fri


def test_actuals_wait_until_the_horizon_is_realized(coffee_history):
    assert actuals_forecast(coffee_history, dt.date(2025, 11, 10)) is None  # ends 11-23
    actuals = actuals_forecast(coffee_history, dt.date(2025, 11, 1))  # ends Fri 11-14
    assert actuals is not None
    assert actuals.model_name == "actuals" and actuals.paths.shape == (1, 14)
    assert actuals.data_cutoff_date == dt.date(2025, 11, 14)
