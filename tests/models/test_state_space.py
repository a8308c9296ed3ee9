"""The numpy Kalman filter and path simulation against statsmodels, on a small synthetic model."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.tsa.statespace.sarimax import SARIMAX

from forecast_core.errors import ModelError
from forecast_core.models.state_space import (
    PredictedState,
    StateSpace,
    filter_rows,
    simulate_paths,
)


@pytest.fixture(scope="module")
def results():
    """ARIMA(1,1,1) with measurement error: a singular level covariance and H > 0."""
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(0.0, 1.0, 300)) + rng.normal(0.0, 0.3, 300)
    model = SARIMAX(series[:200], order=(1, 1, 1), measurement_error=True)
    return model.filter([0.5, -0.2, 0.1, 1.0]), series[200:]


def test_filter_equals_statsmodels_and_pieces_equal_one_pass(results):
    fitted, new_rows = results
    space, start = StateSpace.from_results(fitted), PredictedState.after(fitted)
    intercepts = np.zeros(new_rows.size)
    at_once = filter_rows(space, start, new_rows, intercepts)
    extended = fitted.extend(new_rows)
    np.testing.assert_allclose(at_once.mean, extended.predicted_state[:, -1], rtol=1e-10)
    np.testing.assert_allclose(at_once.cov, extended.predicted_state_cov[:, :, -1], rtol=1e-10)
    halfway = filter_rows(space, start, new_rows[:37], intercepts[:37])
    in_pieces = filter_rows(space, halfway, new_rows[37:], intercepts[37:])
    np.testing.assert_array_equal(in_pieces.mean, at_once.mean)
    np.testing.assert_array_equal(in_pieces.cov, at_once.cov)


def test_simulation_matches_statsmodels_moments_and_is_seeded(results):
    fitted, _ = results
    space, state = StateSpace.from_results(fitted), PredictedState.after(fitted)
    n_paths, n_steps = 20_000, 8
    ours = simulate_paths(space, state, np.zeros(n_steps), n_paths, np.random.default_rng(1))
    reference = (
        np.asarray(
            fitted.simulate(
                n_steps, repetitions=n_paths, anchor="end", rng=np.random.default_rng(2)
            )
        )
        .reshape(n_steps, -1)
        .T
    )
    standard_error = np.sqrt((ours.var(axis=0) + reference.var(axis=0)) / n_paths)
    assert np.all(np.abs(ours.mean(axis=0) - reference.mean(axis=0)) < 4.5 * standard_error)
    np.testing.assert_allclose(ours.std(axis=0), reference.std(axis=0), rtol=0.03)
    np.testing.assert_array_equal(
        ours, simulate_paths(space, state, np.zeros(n_steps), n_paths, np.random.default_rng(1))
    )


def test_time_varying_system_matrices_are_refused():
    rng = np.random.default_rng(0)
    exog = rng.normal(size=(50, 1))
    model = SARIMAX(
        rng.normal(size=50),
        exog=exog,
        order=(1, 0, 0),
        time_varying_regression=True,
        mle_regression=False,
    )
    with pytest.raises(ModelError, match="time-varying design"):
        StateSpace.from_results(model.filter(model.start_params))
