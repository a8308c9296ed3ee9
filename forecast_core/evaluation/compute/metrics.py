"""Scores of sample forecasts against outcomes: pure functions of arrays.

CRPS comes from ``scoringrules`` (maintained, O(M log M) per forecast). Its default
estimator (``qd``) is the CRPS of the empirical distribution of the M samples; it is
biased upwards by E|X - X'| / (2M) for the distribution the samples are drawn from. We use
the probability-weighted-moment estimator (``pwm``), which equals the "fair" estimator
E|X - y| - E|X - X'| / 2 with the M(M - 1) pair normalisation: unbiased, so models with
different path counts compare fairly. ``tests/evaluation/test_metrics.py`` checks both
identities against scoringrules' own O(M^2) energy-form estimators.
"""

from __future__ import annotations

import numpy as np
import scoringrules

# The probability-weighted-moment form of the fair CRPS estimator (see the module docstring).
CRPS_ESTIMATOR = "pwm"
# Pinned so scores do not depend on whether numba happens to be installed.
CRPS_BACKEND = "numpy"
PINBALL_LEVELS: tuple[float, ...] = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
# Central intervals: nominal coverage in percent -> (lower, upper) quantile level.
INTERVALS: dict[int, tuple[float, float]] = {80: (0.10, 0.90), 95: (0.025, 0.975)}
# Every quantile a score row keeps: the pinball levels and the interval bounds, sorted.
QUANTILE_LEVELS: tuple[float, ...] = tuple(
    sorted({*PINBALL_LEVELS, *(level for bounds in INTERVALS.values() for level in bounds)})
)


def quantile_column(level: float) -> str:
    """The score column holding the ``level`` quantile: ``q05``, ``q50``, ``q025``, ``q975``."""
    permille = round(level * 1000)
    return f"q{permille // 10:02d}" if permille % 10 == 0 else f"q{permille:03d}"


def crps_samples(observed: np.ndarray, samples: np.ndarray, sample_axis: int = -1) -> np.ndarray:
    """The CRPS of sample forecasts, one value per observation (lower is better).

    Args:
        observed: Outcomes, shape ``S`` (any shape).
        samples: Samples whose shape is ``S`` plus one sample axis at ``sample_axis``.
        sample_axis: The axis of ``samples`` holding the samples.

    Returns:
        CRPS values of shape ``S``, in the unit of the prices. A single sample (a point
        forecast) scores its absolute error.
    """
    observed = np.asarray(observed, dtype=np.float64)
    samples = np.asarray(samples, dtype=np.float64)
    # The fair estimator divides by M - 1: one sample is a point mass, whose CRPS is the
    # absolute error, which the empirical-distribution estimator gives exactly.
    estimator = CRPS_ESTIMATOR if samples.shape[sample_axis] > 1 else "qd"
    return np.asarray(
        scoringrules.crps_ensemble(
            observed, samples, m_axis=sample_axis, estimator=estimator, backend=CRPS_BACKEND
        )
    )


def sample_quantiles(
    samples: np.ndarray, levels: tuple[float, ...], sample_axis: int = 0
) -> np.ndarray:
    """Quantiles of samples (linear interpolation), the level axis first.

    Args:
        samples: Samples along ``sample_axis``.
        levels: Quantile levels in (0, 1).
        sample_axis: The axis holding the samples.

    Returns:
        Array of shape ``(len(levels),)`` plus the shape of ``samples`` without ``sample_axis``.
    """
    return np.quantile(samples, levels, axis=sample_axis)


def pinball_loss(observed: np.ndarray, quantile: np.ndarray, level: float) -> np.ndarray:
    """The pinball (quantile) loss of a ``level`` quantile forecast, elementwise.

    ``level * (y - q)`` if the outcome is above the quantile, ``(1 - level) * (q - y)``
    otherwise; at ``level`` 0.5 it is half the absolute error.

    Raises:
        ValueError: ``level`` is not strictly between 0 and 1.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"quantile level {level!r} is not valid; expected 0 < level < 1")
    error = np.asarray(observed, dtype=np.float64) - np.asarray(quantile, dtype=np.float64)
    return np.maximum(level * error, (level - 1.0) * error)


def interval_covers(observed: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """True where ``lower <= observed <= upper`` (bounds included)."""
    return (np.asarray(lower) <= observed) & (np.asarray(observed) <= np.asarray(upper))


def pit_values(observed: np.ndarray, samples: np.ndarray, sample_axis: int = 0) -> np.ndarray:
    """Probability integral transform: where each outcome falls in its sample distribution.

    Ties count half (mid-rank), so a sample equal to the outcome does not push the PIT to
    an edge. A calibrated forecast gives uniformly distributed values in [0, 1].

    Returns:
        PIT values, shape of ``samples`` without ``sample_axis``.
    """
    samples = np.moveaxis(np.asarray(samples, dtype=np.float64), sample_axis, 0)
    observed = np.asarray(observed, dtype=np.float64)
    below = (samples < observed).sum(axis=0)
    ties = (samples == observed).sum(axis=0)
    return (below + 0.5 * ties) / samples.shape[0]


def direction_hits(median: np.ndarray, observed: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """True where the median forecast moves the same way from ``reference`` as the outcome.

    Args:
        median: Median forecasts.
        observed: Outcomes.
        reference: The last price known at the forecast's data cutoff.

    Returns:
        Booleans; an unchanged outcome is a hit only for an unchanged median.
    """
    return np.sign(np.asarray(median) - reference) == np.sign(np.asarray(observed) - reference)
