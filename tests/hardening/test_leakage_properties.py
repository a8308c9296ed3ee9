"""Leakage, as a property: editing anything on or after a date changes nothing before it.

For random forecast dates and random edits of prices and weather on or after each date,
the forecast (all paths) and the model trained for the date's cadence slot are
bit-identical to the unedited run. The table-level half of the property
(``data_cutoff_date < forecast_start_date`` and ``training_date <= forecast_start_date``
on every row) is asserted by the end-to-end backfill tests.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast_core.cadence import Cadence
from forecast_core.data import MarketDataset
from forecast_core.models import MODELS, build_model, get_model_class
from forecast_core.models.calibration import CalibratedForecaster
from forecast_core.models.ensemble import EnsembleForecaster

pytestmark = pytest.mark.slow
FIRST_DATE = dt.date(2014, 1, 1)
LAST_DATE = dt.date(2025, 11, 1)


def _edited(
    dataset: MarketDataset, first_edited: dt.date, price_factor: float, weather_shift: float
) -> MarketDataset:
    """A copy whose prices and weather on or after ``first_edited`` are changed."""
    cut = pd.Timestamp(first_edited)
    prices = dataset.prices.copy()
    later = prices["date"] >= cut
    prices.loc[later, ["open", "high", "low", "close"]] *= price_factor
    weather = dataset.weather.copy()
    later = weather["date"] >= cut
    weather.loc[later, ["temp_min", "temp_mean", "temp_max", "precipitation"]] += weather_shift
    return MarketDataset(prices, weather, "edited")


@settings(max_examples=16, deadline=None, derandomize=True)
@given(
    name=st.sampled_from(sorted(MODELS)),
    days_after_start=st.integers(0, (LAST_DATE - FIRST_DATE).days),
    price_factor=st.floats(0.2, 5.0).filter(lambda factor: abs(factor - 1) > 1e-3),
    weather_shift=st.floats(-15.0, 15.0).filter(lambda shift: abs(shift) > 1e-3),
    frequency=st.sampled_from(["weekly", "monthly", "semiannually"]),
)
def test_edits_on_or_after_the_forecast_date_change_no_model_and_no_path(
    sample_dataset, name, days_after_start, price_factor, weather_shift, frequency
):
    forecast_date = FIRST_DATE + dt.timedelta(days=days_after_start)
    training_date = Cadence(frequency).training_date_for(forecast_date)
    edited = _edited(sample_dataset, forecast_date, price_factor, weather_shift)

    paths = {}
    for label, dataset in (("original", sample_dataset), ("edited", edited)):
        history = dataset.history("coffee")
        model = build_model(name, get_model_class(name).test_params()).fit(history, training_date)
        assert model.data_cutoff_ < training_date <= forecast_date
        paths[label] = model.sample_paths(history, forecast_date, n_paths=32, seed=11)
    np.testing.assert_array_equal(paths["edited"], paths["original"])


# Models fitted from backtests inside the training window (calibration, ensemble weights):
# every one registered, so a new ``*_cal`` line in MODELS is covered here too.
BACKTESTED = sorted(
    name
    for name in MODELS
    if issubclass(get_model_class(name), (CalibratedForecaster, EnsembleForecaster))
)


@pytest.mark.parametrize("name", BACKTESTED)
@pytest.mark.parametrize(
    "forecast_date",
    [dt.date(2019, 3, 6), dt.date(2024, 7, 1)],  # mid-window; the training date itself
)
def test_calibrated_and_ensemble_paths_ignore_every_row_on_or_after_the_forecast_date(
    sample_dataset, name, forecast_date
):
    """Every price and weather row on or after D edited: the paths for D are bit-identical."""
    assert {"xgboost_cal", "ensemble"} <= set(BACKTESTED)
    training_date = Cadence("semiannually").training_date_for(forecast_date)
    edited = _edited(sample_dataset, forecast_date, price_factor=3.1, weather_shift=7.0)
    paths = {}
    for label, dataset in (("original", sample_dataset), ("edited", edited)):
        history = dataset.history("coffee")
        model = build_model(name, get_model_class(name).test_params()).fit(history, training_date)
        assert model.training_tags_  # the calibration or the weights were fitted
        paths[label] = model.sample_paths(history, forecast_date, n_paths=32, seed=11)
    np.testing.assert_array_equal(paths["edited"], paths["original"])
