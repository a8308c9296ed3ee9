"""Known answers for the scores: CRPS, pinball loss, interval coverage, PIT and direction."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import scoringrules

from forecast_core.crps import crps_samples
from forecast_core.evaluation.compute.aggregate import aggregate_metrics
from forecast_core.evaluation.compute.metrics import (
    QUANTILE_LEVELS,
    direction_hits,
    interval_covers,
    pinball_loss,
    pit_values,
    quantile_column,
)
from forecast_core.evaluation.compute.scoring import Outcome, score_forecast
from forecast_core.names import HORIZON_DAYS

# CRPS(N(0, 1), 0) = 2 * phi(0) - 1/sqrt(pi) = (sqrt(2) - 1) / sqrt(pi).
STANDARD_NORMAL_CRPS_AT_ZERO = (math.sqrt(2.0) - 1.0) / math.sqrt(math.pi)


@pytest.mark.parametrize("n_samples", [1, 7, 2000], ids=["one-sample", "7-copies", "2000-copies"])
def test_crps_of_a_point_mass_is_the_absolute_error(n_samples):
    observed = np.array([10.0, 10.0, -3.5, 120.25])
    value = np.array([10.0, 12.5, 1.5, 100.0])
    samples = np.repeat(value[:, None], n_samples, axis=1)
    np.testing.assert_allclose(
        crps_samples(observed, samples), np.abs(observed - value), atol=1e-12
    )


def test_crps_of_standard_normal_samples_against_zero_is_0_2337():
    samples = np.random.default_rng(0).normal(size=20_000)
    crps = float(crps_samples(np.array(0.0), samples))
    assert round(STANDARD_NORMAL_CRPS_AT_ZERO, 4) == 0.2337
    # The estimator's spread at 20,000 samples is about 0.0016.
    assert crps == pytest.approx(STANDARD_NORMAL_CRPS_AT_ZERO, abs=0.006)


def test_crps_estimator_is_fair_so_small_ensembles_are_not_penalised():
    """Averaged over many 5-member ensembles, the fair estimator finds the true CRPS.

    The CRPS of the 5-point empirical distribution (scoringrules' default ``qd``) is
    larger by E|X - X'| / (2M) = 0.113: it would punish models sampled with fewer paths.
    """
    samples = np.random.default_rng(1).normal(size=(20_000, 5))
    observed = np.zeros(20_000)
    fair = crps_samples(observed, samples).mean()
    empirical = scoringrules.crps_ensemble(
        observed, samples, estimator="qd", backend="numpy"
    ).mean()
    assert fair == pytest.approx(STANDARD_NORMAL_CRPS_AT_ZERO, abs=0.005)
    assert empirical == pytest.approx(
        STANDARD_NORMAL_CRPS_AT_ZERO + 2 / math.sqrt(math.pi) / 10, abs=0.005
    )


def test_crps_equals_scoringrules_energy_form_estimators():
    """The O(M log M) estimators match the O(M^2) energy forms they stand for."""
    rng = np.random.default_rng(2)
    observed = rng.normal(size=50)
    samples = rng.normal(size=(50, 40)) * 3.0
    fair_energy = scoringrules.crps_ensemble(observed, samples, estimator="fair", backend="numpy")
    np.testing.assert_allclose(crps_samples(observed, samples), fair_energy, rtol=1e-10)
    empirical = scoringrules.crps_ensemble(observed, samples, estimator="qd", backend="numpy")
    energy = scoringrules.crps_ensemble(observed, samples, estimator="nrg", backend="numpy")
    np.testing.assert_allclose(empirical, energy, rtol=1e-10)


def test_empirical_crps_is_the_integral_of_the_squared_cdf_difference():
    """The definition, integrated exactly over the step function of 4 samples."""
    samples = np.array([1.0, 2.0, 4.0, 7.0])
    observed = 3.0
    # CDF F is 0 below 1, .25 on [1,2), .5 on [2,4), .75 on [4,7), 1 after; 1{y <= x} from 3.
    integral = 0.25**2 * 1 + 0.5**2 * 1 + (0.5 - 1) ** 2 * 1 + (0.75 - 1) ** 2 * 3
    assert scoringrules.crps_ensemble(
        observed, samples, estimator="qd", backend="numpy"
    ) == pytest.approx(integral)


def test_pinball_at_50_percent_is_half_the_absolute_error():
    observed = np.array([10.0, 3.0, -2.0, 5.0])
    median = np.array([12.0, 3.0, 4.0, 1.0])
    np.testing.assert_allclose(pinball_loss(observed, median, 0.5), 0.5 * np.abs(observed - median))


def test_pinball_weights_misses_by_the_quantile_level():
    assert pinball_loss(np.array(110.0), np.array(100.0), 0.9) == pytest.approx(9.0)
    assert pinball_loss(np.array(90.0), np.array(100.0), 0.9) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="expected 0 < level < 1"):
        pinball_loss(np.array(1.0), np.array(1.0), 1.0)


def test_quantile_columns_name_levels_in_percent_or_permille():
    assert [quantile_column(level) for level in QUANTILE_LEVELS] == [
        "q025",
        "q05",
        "q10",
        "q25",
        "q50",
        "q75",
        "q90",
        "q95",
        "q975",
    ]


def test_interval_bounds_count_as_covered():
    covered = interval_covers(
        np.array([1.0, 2.0, 3.0, 4.0]),
        np.array([1.0, 2.5, 0.0, 0.0]),
        np.array([2.0, 3.0, 3.0, 3.9]),
    )
    assert covered.tolist() == [True, False, True, False]


def test_pit_counts_ties_half():
    samples = np.array([[1.0], [2.0], [2.0], [3.0]])
    assert pit_values(np.array([2.0]), samples).tolist() == [0.5]
    assert pit_values(np.array([0.0]), samples).tolist() == [0.0]
    assert pit_values(np.array([9.0]), samples).tolist() == [1.0]


def test_direction_compares_moves_from_the_last_known_price():
    hits = direction_hits(
        median=np.array([101.0, 99.0, 101.0, 100.0]),
        observed=np.array([105.0, 95.0, 95.0, 100.0]),
        reference=100.0,
    )
    assert hits.tolist() == [True, True, False, True]


def _synthetic_scores(n_forecasts: int, spread_ratio: float, seed: int = 3) -> pd.DataFrame:
    """Forecasts of N(center, s_k) outcomes with samples of N(center, spread_ratio * s_k)."""
    rng = np.random.default_rng(seed)
    scale = np.linspace(1.0, 4.0, HORIZON_DAYS)
    parts = []
    for i in range(n_forecasts):
        center = rng.uniform(50.0, 150.0)
        paths = center + rng.normal(size=(400, HORIZON_DAYS)) * scale * spread_ratio
        realized = center + rng.normal(size=HORIZON_DAYS) * scale
        forecast_date = dt.date(2020, 1, 1) + dt.timedelta(days=i)
        parts.append(
            score_forecast(
                "synthetic",
                forecast_date,
                forecast_date - dt.timedelta(1),
                paths,
                Outcome(realized, center),
            )
        )
    return pd.concat(parts, ignore_index=True)


def _pooled(metrics: pd.DataFrame, metric: str) -> float:
    rows = metrics[
        (metrics["metric"] == metric) & (metrics["horizon_day"] == 0) & (metrics["period"] == "all")
    ]
    return float(rows["value"].iloc[0])


def test_coverage_of_a_calibrated_forecast_approaches_nominal():
    scores = _synthetic_scores(600, spread_ratio=1.0)
    metrics = aggregate_metrics(scores, ["synthetic"])
    # 8,400 cells: the standard error is 0.0044 at 80% and 0.0024 at 95%.
    assert _pooled(metrics, "coverage_80") == pytest.approx(0.80, abs=0.015)
    assert _pooled(metrics, "coverage_95") == pytest.approx(0.95, abs=0.008)
    deciles = np.histogram(scores["pit"], bins=10, range=(0.0, 1.0))[0] / len(scores)
    np.testing.assert_allclose(deciles, 0.1, atol=0.015)


def test_coverage_of_a_too_narrow_forecast_falls_short():
    metrics = aggregate_metrics(_synthetic_scores(300, spread_ratio=0.5), ["synthetic"])
    # Half the spread: P(|Z| < 1.2816 / 2) = 0.48 and P(|Z| < 1.96 / 2) = 0.67.
    assert _pooled(metrics, "coverage_80") == pytest.approx(0.48, abs=0.03)
    assert _pooled(metrics, "coverage_95") == pytest.approx(0.67, abs=0.03)
