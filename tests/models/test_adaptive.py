"""Adaptive calibration: the tracker, what a forecast may read, and a shift it follows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from forecast_core.data import MarketHistory
from forecast_core.models import Forecaster, build_model
from forecast_core.models.adaptive import (
    AdaptiveCalibratedForecaster,
    adaptive,
    coverage_scores,
    track,
)
from forecast_core.models.calibration import LEVELS, CalibratedForecaster
from tests.evaluation.synthetic import history_of_closes

VOLATILITY = 0.02
TRAINING_DATE = dt.date(2021, 1, 4)
FIT = {
    "fit_refits": 3,
    "fit_refit_days": 182,
    "fit_origin_days": 3,
    "fit_paths": 200,
    "fit_min_origins": 40,
    "fit_seed": 0,
}
ALPHA = 1.0 - LEVELS


def _synthetic(persistence: float = 0.0, seed: int = 5) -> MarketHistory:
    """A driftless geometric walk on weekdays, volatility ``VOLATILITY`` a day.

    From the training date on, the daily returns are an AR(1) with ``persistence`` (the
    same daily volatility): trends make a two-week move wider than a walk's, which the
    volatility of daily returns, and factors fitted before the training date, cannot see.
    """
    dates = pd.bdate_range("2015-01-01", "2022-06-30")
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0.0, VOLATILITY, dates.size)
    later = dates.date >= TRAINING_DATE
    returns = shocks.copy()
    innovation = np.sqrt(1.0 - persistence**2)
    for index in np.flatnonzero(later):
        returns[index] = persistence * returns[index - 1] + innovation * shocks[index]
    closes = 100.0 * np.exp(np.cumsum(returns))
    return history_of_closes("synthetic", dates, closes)


class Walk(Forecaster):
    """The random walk of ``_synthetic`` before the training date."""

    name = "walk"
    display_name = "Walk"
    min_history = 30

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {}

    def _fit(self, known: MarketHistory) -> None:
        pass

    def _sample_steps(
        self, known: MarketHistory, n_steps: int, n_paths: int, rng: np.random.Generator
    ) -> np.ndarray:
        draws = rng.normal(0.0, VOLATILITY, size=(n_paths, n_steps))
        return known.last_close * np.exp(np.cumsum(draws, axis=1))


class CalibratedWalk(CalibratedForecaster):
    base = Walk
    name = "walk_cal"
    display_name = "WalkCal"


class AdaptiveWalk(AdaptiveCalibratedForecaster):
    base = Walk
    name = "walk_acal"
    display_name = "WalkACal"


@pytest.fixture(scope="module")
def trending() -> MarketHistory:
    return _synthetic(persistence=0.5)


@pytest.fixture(scope="module")
def models(trending: MarketHistory) -> dict[str, Forecaster]:
    return {
        name: model_class(**FIT, **extra).fit(trending, TRAINING_DATE)
        for name, model_class, extra in (
            ("cal", CalibratedWalk, {}),
            ("acal", AdaptiveWalk, {"adapt_rate": 0.1}),
        )
    }


def _day14_coverage(model: Forecaster, history: MarketHistory, level: float) -> float:
    """Share of realized day-14 closes in the central ``level`` interval, 2021-H1."""
    dates = [TRAINING_DATE + dt.timedelta(days=d) for d in range(20, 178)]
    paths = model.sample_paths_batch(history, dates, 14, 300, list(range(len(dates))))
    inside = []
    for forecast_date, date_paths in zip(dates, paths, strict=True):
        outcome = history.as_of(forecast_date + dt.timedelta(days=14)).last_close
        low, high = np.quantile(date_paths[:, -1], [(1 - level) / 2, (1 + level) / 2])
        inside.append(low <= outcome <= high)
    return float(np.mean(inside))


# -- the tracker ------------------------------------------------------------------------


def test_a_day_of_misses_widens_a_day_of_hits_narrows_by_the_rate_times_the_level_error():
    start = np.zeros(LEVELS.size)
    # Forecast 0's two steps are realized on rows 1 and 2; forecast 2 is made on row 2.
    rows = np.array([0, 1, 2])
    far_out = np.full((3, LEVELS.size, 2), np.nan)
    far_out[0] = 5.0
    used, final = track(start, rows, far_out, np.ones(3), rate=0.1)
    np.testing.assert_array_equal(used[0], start)
    np.testing.assert_allclose(used[1], 0.1 * (1.0 - ALPHA) / 2)  # one of two steps in
    np.testing.assert_allclose(used[2], 0.1 * (1.0 - ALPHA))  # a whole day of misses
    np.testing.assert_allclose(final, used[2])
    near = np.where(np.isnan(far_out), np.nan, -5.0)
    _, final = track(start, rows, near, np.full(3, 2.0), rate=0.1)  # weight: two days
    np.testing.assert_allclose(final, -0.2 * ALPHA)


def test_an_outcome_moves_only_forecasts_made_after_its_close():
    """Step j of the forecast after row r is the close of row r + j: forecasts up to that
    row cannot see it; the forecast made on that row's close can."""
    rows = np.arange(10)
    scores = np.full((10, LEVELS.size, 3), -np.inf)
    scores[2, :, 2] = np.inf  # forecast 2, step 3: realized on row 5
    used, _ = track(np.zeros(LEVELS.size), rows, scores, np.ones(10), rate=0.05)
    quiet, _ = track(
        np.zeros(LEVELS.size), rows, np.full_like(scores, -np.inf), np.ones(10), rate=0.05
    )
    np.testing.assert_array_equal(used[:5], quiet[:5])
    assert np.all(used[5:] > quiet[5:])


def test_later_rows_change_no_earlier_state():
    """A prefix of the forecasts (what a daily run knows) gives the states of the whole."""
    rng = np.random.default_rng(0)
    rows = np.arange(40)
    scores = rng.normal(0.0, 1.0, (40, LEVELS.size, 10))
    whole, _ = track(np.zeros(LEVELS.size), rows, scores, np.ones(40), rate=0.05)
    assert np.unique(whole[:, 1]).size > 20  # the state moves
    for cut in (1, 7, 25):
        known = scores[:cut].copy()
        for index in range(cut):  # outcomes realized after row cut - 1 are unknown
            known[index, :, max(0, cut - 1 - index) :] = np.nan
        prefix, _ = track(np.zeros(LEVELS.size), rows[:cut], known, np.ones(cut), rate=0.05)
        np.testing.assert_array_equal(prefix, whole[:cut])


def test_coverage_scores_are_at_most_zero_exactly_inside_the_calibrated_interval():
    rng = np.random.default_rng(1)
    paths = np.exp(rng.normal(0.0, 0.05, (1, 2001, 2)))
    scales = np.array([[1.0, 1.0], [1.5, 1.5], [2.0, 2.0]])
    log_paths = np.log(paths[0])
    upper80 = np.quantile(log_paths - np.median(log_paths, axis=0), 0.9, axis=0)
    outcome = np.median(log_paths, axis=0) + upper80 * 1.5 * np.array([0.99, 1.01])
    scores = coverage_scores(paths, np.array([1.0]), outcome[np.newaxis, :], scales)
    assert scores[0, 1, 0] < 0.0 < scores[0, 1, 1]  # just inside, just outside the 80% end
    on_median = np.log(np.median(paths[0], axis=0))[np.newaxis, :]
    assert np.all(coverage_scores(paths, np.array([1.0]), on_median, scales) == -np.inf)


# -- the models ---------------------------------------------------------------------------


def test_a_shift_the_volatility_target_cannot_see_is_followed(models, trending):
    """After the training date returns trend (same daily volatility): the walk's two-week
    intervals are too narrow, the fixed calibration keeps them so, the tracker widens them."""
    for level in (0.8, 0.95):
        fixed = _day14_coverage(models["cal"], trending, level)
        adapted = _day14_coverage(models["acal"], trending, level)
        assert fixed < level - 0.06
        assert abs(adapted - level) < abs(fixed - level) - 0.03, (level, fixed, adapted)


def test_paths_stay_paths_ranks_and_median_kept(models, trending):
    model = models["acal"]
    forecast_date = dt.date(2021, 5, 3)
    scales = model._level_scales([trending.as_of(forecast_date)])[0]
    assert np.all(scales > model.scales_ * 1.05)  # the tracker has widened every level
    adapted = model.sample_paths(trending, forecast_date, 14, 201, seed=4)
    base = model.base_.sample_paths(trending, forecast_date, 14, 201, seed=4)
    for day in range(14):
        np.testing.assert_array_equal(
            np.argsort(adapted[:, day], kind="stable"), np.argsort(base[:, day], kind="stable")
        )
    np.testing.assert_allclose(np.median(adapted, axis=0), np.median(base, axis=0), rtol=1e-12)


def test_a_date_alone_gives_the_paths_of_the_same_date_in_a_sequence(models, trending):
    """What a daily run computes for D is what a backfill computes in its batch."""
    model = models["acal"]
    dates = [TRAINING_DATE + dt.timedelta(days=offset) for offset in range(0, 150)]
    seeds = list(range(len(dates)))
    sequence = model.sample_paths_batch(trending, dates, 14, 64, seeds)
    for index in (0, 1, 13, 74, 149):
        alone = model.sample_paths(trending, dates[index], 14, 64, seeds[index])
        np.testing.assert_array_equal(alone, sequence[index], err_msg=str(dates[index]))


def test_edits_after_a_cut_change_no_forecast_up_to_it(models, trending):
    """Prices on or after the cut scrambled: every forecast up to the cut is bit-identical,
    in a batch that also forecasts past it; a forecast weeks later reads the edits."""
    model = models["acal"]
    cut = dt.date(2021, 4, 1)
    frame = trending.observations.copy()
    later = frame["date"] >= pd.Timestamp(cut)
    frame.loc[later, ["open", "high", "low", "close"]] *= np.linspace(0.6, 1.9, int(later.sum()))[
        :, np.newaxis
    ]
    edited = MarketHistory(trending.commodity, frame)
    dates = [TRAINING_DATE + dt.timedelta(days=offset) for offset in range(0, 150, 3)]
    seeds = list(range(len(dates)))
    original = model.sample_paths_batch(trending, dates, 14, 64, seeds)
    changed = model.sample_paths_batch(edited, dates, 14, 64, seeds)
    for forecast_date, before, after in zip(dates, original, changed, strict=True):
        if forecast_date <= cut:
            np.testing.assert_array_equal(after, before, err_msg=str(forecast_date))
    late = dates.index(dt.date(2021, 5, 4))
    # The levels moved (the paths start elsewhere), and so did the tracked factors.
    assert not np.array_equal(changed[late], original[late])
    scales = [model._level_scales([h.as_of(dates[late])])[0] for h in (trending, edited)]
    assert not np.array_equal(*scales)


def test_the_fitted_state_is_plain_data(models):
    model = models["acal"]
    assert model.training_tags_["calibration"] == "calibrated"
    assert "tracked online" in model.training_tags_["calibration_note"]
    assert isinstance(model.adaptive_start_, np.ndarray)
    assert model.adaptive_start_.dtype == np.float64
    assert model.adaptive_start_.shape == LEVELS.shape
    assert {"adaptive_log_scale_q80", "adaptive_log_scale_q95"} <= set(model.training_metrics_)


def test_too_little_history_falls_back_to_the_base_paths(trending):
    short = MarketHistory(trending.commodity, trending.observations.iloc[-450:])
    model = AdaptiveWalk(**FIT).fit(short, TRAINING_DATE)
    assert model.training_tags_["calibration"] == "fallback"
    assert model.adaptive_start_ is None
    np.testing.assert_array_equal(
        model.sample_paths(short, dt.date(2021, 2, 1), 14, 50, seed=2),
        model.base_.sample_paths(short, dt.date(2021, 2, 1), 14, 50, seed=2),
    )


@pytest.mark.parametrize("base", ["naive", "sarimax", "xgboost"])
def test_adaptive_models_are_registered_under_their_base_name(base):
    model_class = adaptive(base)
    assert model_class.name == f"{base}_acal"
    assert build_model(f"{base}_acal").base is build_model(base).__class__
    assert issubclass(model_class, CalibratedForecaster)  # the leakage suite's backtested set
    from forecast_core.models import adaptive as module

    assert getattr(module, f"AdaptiveCalibrated_{base}") is model_class
