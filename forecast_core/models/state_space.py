"""Kalman filtering and path simulation of a fitted univariate state-space model, in numpy.

A fitted statsmodels model carries what sampling needs: the system matrices and the
predicted state after the training data. statsmodels' own tools are built for other
jobs: ``extend`` clones the model and re-runs its filter machinery (milliseconds per
call, from the training cutoff every time), and ``simulate(repetitions=n)`` loops over
the repetitions in Cython (about 190 ms for 2,000 x 14). Sampling only needs the filter
recursion over the new rows and one vectorised draw of all paths (about 1 ms), so both
are done here, with the same equations:

    y_t = d_t + Z a_t + e_t,          e_t ~ N(0, H)
    a_{t+1} = c + T a_t + R n_t,      n_t ~ N(0, Q)

Every row is filtered with the same scalar operations whatever rows come before or after
it in a call, so filtering rows 1..k at once or in pieces gives bit-identical states.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from forecast_core.errors import ModelError

if TYPE_CHECKING:  # results are given, never built here
    from statsmodels.tsa.statespace.mlemodel import MLEResults


@dataclass(frozen=True)
class StateSpace:
    """Time-invariant system matrices of a univariate model (the intercept d_t varies).

    Attributes:
        design: Z, shape (k,).
        obs_variance: H, the measurement noise variance (0 for SARIMAX by default).
        transition: T, shape (k, k).
        state_intercept: c, shape (k,).
        state_cov: R Q R', shape (k, k).
        shock_factor: R chol(Q), shape (k, r): maps r standard normals to a state shock.
    """

    design: np.ndarray
    obs_variance: float
    transition: np.ndarray
    state_intercept: np.ndarray
    state_cov: np.ndarray
    shock_factor: np.ndarray

    @classmethod
    def from_results(cls, results: MLEResults) -> StateSpace:
        """The system matrices of fitted statsmodels results.

        Raises:
            ModelError: The model is multivariate or a matrix other than the observation
                intercept varies over time (then these equations do not hold).
        """
        filtered = results.filter_results
        fixed = ("design", "obs_cov", "transition", "state_intercept", "selection", "state_cov")
        varying = [name for name in fixed if getattr(filtered, name).shape[-1] != 1]
        if filtered.k_endog != 1 or varying:
            raise ModelError(
                f"state-space sampling needs a univariate model with fixed system "
                f"matrices; got {filtered.k_endog} series, time-varying "
                f"{', '.join(varying) or 'none'}"
            )
        selection = filtered.selection[:, :, 0]
        state_cov = filtered.state_cov[:, :, 0]
        return cls(
            design=np.array(filtered.design[0, :, 0]),
            obs_variance=float(filtered.obs_cov[0, 0, 0]),
            transition=np.array(filtered.transition[:, :, 0]),
            state_intercept=np.array(filtered.state_intercept[:, 0]),
            state_cov=selection @ state_cov @ selection.T,
            shock_factor=selection @ np.linalg.cholesky(state_cov),
        )


@dataclass(frozen=True)
class PredictedState:
    """The state of the next row given every row so far: mean a_{t+1|t}, covariance P_{t+1|t}."""

    mean: np.ndarray
    cov: np.ndarray

    @classmethod
    def after(cls, results: MLEResults) -> PredictedState:
        """The predicted state after the last row of fitted statsmodels results."""
        return cls(
            np.array(results.predicted_state[:, -1]),
            np.array(results.predicted_state_cov[:, :, -1]),
        )


def filter_rows(
    space: StateSpace, state: PredictedState, observations: np.ndarray, intercepts: np.ndarray
) -> PredictedState:
    """Run the Kalman filter over new rows with fixed parameters (no refit).

    Args:
        space: The system matrices.
        state: The predicted state of the first new row.
        observations: y_t of the new rows.
        intercepts: d_t of the new rows.

    Returns:
        The predicted state of the row after the last new one.
    """
    mean, cov = state.mean, state.cov
    design, transition = space.design, space.transition
    for observation, intercept in zip(observations.tolist(), intercepts.tolist(), strict=True):
        cov_design = cov @ design
        variance = float(design @ cov_design) + space.obs_variance
        gain = cov_design / variance
        error = observation - intercept - float(design @ mean)
        filtered_mean = mean + gain * error
        filtered_cov = cov - np.outer(gain, cov_design)
        mean = transition @ filtered_mean + space.state_intercept
        cov = transition @ filtered_cov @ transition.T + space.state_cov
    return PredictedState(mean, cov)


def simulate_paths(
    space: StateSpace,
    state: PredictedState,
    intercepts: np.ndarray,
    n_paths: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw ``n_paths`` futures of y from the predicted state, all paths at once.

    The same distribution as statsmodels' ``simulate(anchor="end", repetitions=n_paths)``:
    the first state is drawn from N(mean, cov), then the state equation runs forward with
    fresh shocks. The draws are taken in a fixed order (first states, state shocks,
    measurement noise if any), so one seed gives one set of paths.

    Args:
        space: The system matrices.
        state: The predicted state of the first simulated row.
        intercepts: d_t of each simulated row; its length is the number of steps.
        n_paths: Paths to draw.
        rng: The only source of randomness.

    Returns:
        y of shape (n_paths, len(intercepts)).
    """
    n_steps = intercepts.size
    k_states, k_shocks = space.shock_factor.shape
    states = state.mean + rng.standard_normal((n_paths, k_states)) @ _psd_factor(state.cov).T
    shocks = rng.standard_normal((n_steps, n_paths, k_shocks)) @ space.shock_factor.T
    paths = np.empty((n_paths, n_steps))
    for step in range(n_steps):
        paths[:, step] = states @ space.design + intercepts[step]
        states = states @ space.transition.T + space.state_intercept + shocks[step]
    if space.obs_variance > 0:
        paths += math.sqrt(space.obs_variance) * rng.standard_normal((n_paths, n_steps))
    return paths


def _psd_factor(cov: np.ndarray) -> np.ndarray:
    """L with L L' = cov for a covariance that may be singular (a known integrated level).

    Cholesky fails on the exact zeros of a differenced model's level; the eigen
    decomposition does not, and rounding below zero is clipped.
    """
    eigenvalues, eigenvectors = np.linalg.eigh((cov + cov.T) / 2)
    return eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
