"""Scores of sample forecasts against outcomes: pure functions of arrays.

The CRPS is ``crps.crps_samples`` (shared with the ensemble's weights); here are the
quantiles, the pinball loss, interval coverage, PIT values and direction hits.
"""

from __future__ import annotations

import numpy as np

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
