"""The CRPS of sample forecasts: one leaf that the ensemble's weights and the evaluation share.

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
