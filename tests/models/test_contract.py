"""The contract every registered model must keep, run over ``sorted(MODELS)``."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecast_core.data import MarketHistory
from forecast_core.errors import ConfigError, DataError, ModelError, NotFittedError
from forecast_core.models import MODELS, Forecaster, build_model, get_model_class
from forecast_core.models.registry import model_from_state
from forecast_core.models.state_files import read_state, write_state

TRAINING_DATE = dt.date(2023, 1, 1)
FORECAST_DATE = dt.date(2023, 3, 15)  # a Wednesday, 2.5 months into the window
N_PATHS = 64
HORIZON = 14

model_names = pytest.mark.parametrize("name", sorted(MODELS))


def _fitted(name: str, history: MarketHistory) -> Forecaster:
    return build_model(name, get_model_class(name).test_params()).fit(history, TRAINING_DATE)


@pytest.fixture(scope="module")
def fitted_models(coffee_history: MarketHistory) -> dict[str, Forecaster]:
    return {name: _fitted(name, coffee_history) for name in sorted(MODELS)}


def _edited_from(history: MarketHistory, first_edited: dt.date) -> MarketHistory:
    """A copy whose prices and weather on or after ``first_edited`` are scrambled."""
    frame = history.observations.copy()
    later = frame["date"] >= pd.Timestamp(first_edited)
    value_columns = [c for c in frame.columns if c != "date"]
    frame.loc[later, value_columns] = frame.loc[later, value_columns] * 3.7 + 11.0
    return MarketHistory(history.commodity, frame, history.weather_features)


@model_names
def test_paths_have_the_contract_shape_and_are_finite_prices(name, fitted_models, coffee_history):
    model = fitted_models[name]
    paths = model.sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=1)
    assert paths.shape == (N_PATHS, HORIZON)
    assert paths.dtype == np.float64
    assert np.all(np.isfinite(paths)) and np.all(paths > 0)


@model_names
def test_same_seed_gives_identical_paths_and_new_seed_different(
    name, fitted_models, coffee_history
):
    model = fitted_models[name]
    first = model.sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=7)
    again = model.sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=7)
    other = model.sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=8)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@model_names
def test_batch_paths_are_bit_identical_to_one_date_at_a_time(name, fitted_models, coffee_history):
    """Consecutive dates (weekends, a holiday gap, the training date itself), out of order."""
    model = fitted_models[name]
    forecast_dates = [
        TRAINING_DATE + dt.timedelta(days=offset)
        for offset in (40, 0, 1, 2, 3, 4, 5, 6, 7, 8, 30, 31, 45, 120, 121)
    ]
    seeds = [np.random.SeedSequence([9, index]) for index in range(len(forecast_dates))]
    batch = model.sample_paths_batch(coffee_history, forecast_dates, HORIZON, N_PATHS, seeds)
    assert len(batch) == len(forecast_dates)
    for forecast_date, seed, paths in zip(forecast_dates, seeds, batch, strict=True):
        np.testing.assert_array_equal(
            paths,
            model.sample_paths(coffee_history, forecast_date, HORIZON, N_PATHS, seed),
            err_msg=f"{name} {forecast_date}",
        )


@model_names
def test_batch_of_no_dates_and_one_short_horizon(name, fitted_models, coffee_history):
    model = fitted_models[name]
    assert model.sample_paths_batch(coffee_history, [], HORIZON, N_PATHS, []) == []
    saturday = dt.date(2023, 3, 18)  # a one-day horizon on a weekend has no trading step
    weekend, weekday = model.sample_paths_batch(
        coffee_history, [saturday, FORECAST_DATE], 1, N_PATHS, [1, 2]
    )
    np.testing.assert_array_equal(weekend, coffee_history.as_of(saturday).last_close)
    np.testing.assert_array_equal(
        weekday, model.sample_paths(coffee_history, FORECAST_DATE, 1, N_PATHS, seed=2)
    )


@model_names
def test_batch_needs_one_seed_per_date_and_dates_after_training(
    name, fitted_models, coffee_history
):
    model = fitted_models[name]
    with pytest.raises(ConfigError, match="1 seeds given for 2 forecast dates"):
        model.sample_paths_batch(
            coffee_history, [FORECAST_DATE, FORECAST_DATE], HORIZON, N_PATHS, [1]
        )
    with pytest.raises(ModelError, match="cannot forecast 2022-12-30"):
        model.sample_paths_batch(
            coffee_history, [FORECAST_DATE, dt.date(2022, 12, 30)], HORIZON, N_PATHS, [1, 2]
        )


@model_names
def test_fit_is_deterministic(name, fitted_models, coffee_history):
    refitted = _fitted(name, coffee_history)
    np.testing.assert_array_equal(
        refitted.sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=3),
        fitted_models[name].sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=3),
    )


@model_names
def test_inputs_are_not_mutated(name, coffee_history):
    before = coffee_history.observations.copy(deep=True)
    model = _fitted(name, coffee_history)
    model.sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=1)
    pd.testing.assert_frame_equal(coffee_history.observations, before)


@model_names
def test_sampling_before_fitting_names_the_model(name, coffee_history):
    with pytest.raises(NotFittedError, match=name):
        build_model(name).sample_paths(coffee_history, FORECAST_DATE)


@model_names
def test_forecast_before_the_training_date_is_refused(name, fitted_models, coffee_history):
    with pytest.raises(ModelError, match="cannot forecast 2022-12-30"):
        fitted_models[name].sample_paths(coffee_history, dt.date(2022, 12, 30))


@model_names
def test_a_model_rebuilt_from_its_saved_state_gives_identical_paths(
    name, fitted_models, coffee_history, tmp_path
):
    # The registry saves a fitted model's state as files (no pickle) and rebuilds it.
    model = fitted_models[name]
    write_state(model.to_state(), tmp_path / "state")
    loaded = model_from_state(read_state(tmp_path / "state"))
    assert type(loaded) is type(model)
    assert loaded.params == model.params
    assert (loaded.training_date_, loaded.data_cutoff_) == (TRAINING_DATE, model.data_cutoff_)
    assert loaded.training_metrics_ == model.training_metrics_
    assert loaded.training_tags_ == model.training_tags_
    np.testing.assert_array_equal(
        loaded.sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=5),
        model.sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=5),
    )


@model_names
def test_no_leakage_edits_on_or_after_the_forecast_date_change_nothing(
    name, fitted_models, coffee_history
):
    edited = _edited_from(coffee_history, FORECAST_DATE)
    np.testing.assert_array_equal(
        fitted_models[name].sample_paths(edited, FORECAST_DATE, HORIZON, N_PATHS, seed=2),
        fitted_models[name].sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=2),
    )


@model_names
def test_no_leakage_in_training_edits_on_or_after_the_training_date_change_nothing(
    name, fitted_models, coffee_history
):
    edited = _edited_from(coffee_history, TRAINING_DATE)
    trained_on_edited = _fitted(name, edited)
    # Sample on the real history so only the training data can differ.
    np.testing.assert_array_equal(
        trained_on_edited.sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=2),
        fitted_models[name].sample_paths(coffee_history, FORECAST_DATE, HORIZON, N_PATHS, seed=2),
    )
    assert trained_on_edited.data_cutoff_ < TRAINING_DATE


@model_names
def test_state_is_updated_to_the_newest_data_without_refitting(name, fitted_models, coffee_history):
    """Two dates in one training window start from their own newest close (no stale state)."""
    model = fitted_models[name]
    for forecast_date in (dt.date(2023, 2, 1), dt.date(2023, 6, 1)):
        last_close = coffee_history.as_of(forecast_date).last_close
        paths = model.sample_paths(coffee_history, forecast_date, HORIZON, 400, seed=1)
        assert abs(np.median(paths[:, 0]) / last_close - 1) < 0.05
    assert model.training_date_ == TRAINING_DATE


@model_names
def test_weekend_days_repeat_the_friday_value(name, fitted_models, coffee_history):
    saturday = dt.date(2023, 3, 18)
    paths = fitted_models[name].sample_paths(coffee_history, saturday, HORIZON, N_PATHS, seed=1)
    # Day 1 and 2 (Sat, Sun) are Friday's known close; day 3 (Monday) moves.
    np.testing.assert_array_equal(paths[:, 0], coffee_history.as_of(saturday).last_close)
    np.testing.assert_array_equal(paths[:, 1], paths[:, 0])
    assert not np.array_equal(paths[:, 2], paths[:, 1])
    np.testing.assert_array_equal(paths[:, 8], paths[:, 7])  # next Sunday = next Saturday


@model_names
def test_too_little_history_is_a_clear_error(name, coffee_history):
    too_early = coffee_history.first_date + dt.timedelta(days=20)
    with pytest.raises(DataError, match=f"model '{name}' needs at least"):
        build_model(name).fit(coffee_history, too_early)


@model_names
def test_unknown_parameter_is_rejected_with_valid_names(name):
    with pytest.raises(ConfigError, match="unknown parameter"):
        build_model(name, {"no_such_param": 1})


def test_unknown_model_lists_valid_names():
    with pytest.raises(
        ConfigError, match="unknown model 'prophet'; expected one of: ensemble, naive"
    ):
        get_model_class("prophet")


def test_a_model_must_implement_one_of_the_sampling_methods():
    class Incomplete(Forecaster):
        name = "incomplete"

        @classmethod
        def default_params(cls) -> dict[str, object]:
            return {}

        def _fit(self, known: MarketHistory) -> None:
            pass

    with pytest.raises(
        TypeError, match="Incomplete implements neither _sample_steps nor _sample_steps_batch"
    ):
        Incomplete()
