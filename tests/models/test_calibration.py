"""Calibration of sample paths on synthetic prices whose true distribution is known."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from forecast_core.data import MarketHistory
from forecast_core.errors import ModelError
from forecast_core.models import Forecaster, build_model
from forecast_core.models.backtest import BacktestPlan, rolling_origin
from forecast_core.models.calibration import (
    CalibratedForecaster,
    calibrated,
    rescale_paths,
    volatility_ratio,
)
from forecast_core.models.state_files import write_state
from tests.evaluation.synthetic import history_of_closes

VOLATILITY = 0.02  # the true daily log-return volatility of the synthetic prices
TRAINING_DATE = dt.date(2021, 1, 4)
FIT = {
    "fit_refits": 4,
    "fit_refit_days": 182,
    "fit_origin_days": 3,
    "fit_paths": 400,
    "fit_min_origins": 40,
    "fit_seed": 0,
}


def _synthetic(
    seed: int = 3, start: str = "2015-01-01", end: str = "2022-12-31", later: float = 1.0
) -> MarketHistory:
    """A geometric random walk without drift, volatility ``VOLATILITY``, on weekdays.

    From the training date on, the volatility is ``later`` times that (a regime change).
    """
    dates = pd.bdate_range(start, end)
    rng = np.random.default_rng(seed)
    volatility = np.where(dates.date < TRAINING_DATE, VOLATILITY, VOLATILITY * later)
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, volatility)))
    return history_of_closes("synthetic", dates, closes)


class KnownWalk(Forecaster):
    """The true model of ``_synthetic`` with its volatility times ``spread``."""

    name = "known_walk"
    display_name = "KnownWalk"
    min_history = 30

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {"spread": 1.0}

    def _fit(self, known: MarketHistory) -> None:
        pass

    def _sample_steps(
        self, known: MarketHistory, n_steps: int, n_paths: int, rng: np.random.Generator
    ) -> np.ndarray:
        draws = rng.normal(0.0, VOLATILITY * self.params["spread"], size=(n_paths, n_steps))
        return known.last_close * np.exp(np.cumsum(draws, axis=1))


class CalibratedKnownWalk(CalibratedForecaster):
    base = KnownWalk
    name = "known_walk_cal"
    display_name = "KnownWalkCal"
    min_history = 30


def _calibrated(spread: float, **fit: Any) -> CalibratedKnownWalk:
    model = CalibratedKnownWalk(spread=spread, **{**FIT, **fit})
    return model.fit(_synthetic(), TRAINING_DATE)


def _coverage_after_training(
    model: Forecaster, level: float, history: MarketHistory | None = None
) -> float:
    """Share of realized day-14 prices inside the central ``level`` interval, 2021-2022."""
    history = _synthetic() if history is None else history
    dates = [TRAINING_DATE + dt.timedelta(days=d) for d in range(0, 700, 3)]
    paths = model.sample_paths_batch(history, dates, 14, 400, list(range(len(dates))))
    inside = []
    for forecast_date, date_paths in zip(dates, paths, strict=True):
        outcome = history.as_of(forecast_date + dt.timedelta(days=14)).last_close
        low, high = np.quantile(date_paths[:, -1], [(1 - level) / 2, (1 + level) / 2])
        inside.append(low <= outcome <= high)
    return float(np.mean(inside))


def test_a_too_narrow_model_is_widened_to_the_true_spread():
    model = _calibrated(spread=0.5)
    assert model.training_tags_["calibration"] == "calibrated"
    # Half the true volatility: the volatility target doubles the spread, and the level
    # factors fitted after it stay near 1.
    known = _synthetic().as_of(dt.date(2021, 3, 3))
    base_steps = model.base_._sample_steps(known, 10, 400, np.random.default_rng(0))
    assert 1.6 < volatility_ratio(known, base_steps) < 2.5
    assert model.scales_ is not None
    assert np.all((model.scales_ > 0.8) & (model.scales_ < 1.3)), model.scales_
    # After the training date it covers about what it should. The ~230 day-14 outcomes
    # overlap (a new forecast every 3 days), so a coverage is known to a few points only.
    for level in (0.8, 0.95):
        assert _coverage_after_training(model.base_, level) < level - 0.2
        assert abs(_coverage_after_training(model, level) - level) < 0.07


def test_a_volatility_regime_change_after_training_is_followed():
    """Volatility doubles on the training date: the factors fitted before cannot know it."""
    history = _synthetic(later=2.0)
    model = CalibratedKnownWalk(spread=1.0, **FIT).fit(history, TRAINING_DATE)
    for level in (0.8, 0.95):
        assert _coverage_after_training(model.base_, level, history) < level - 0.15
        assert abs(_coverage_after_training(model, level, history) - level) < 0.06


def test_a_calibrated_model_is_left_nearly_unchanged():
    """Only the noise of a volatility estimate moves the true model's paths."""
    model = _calibrated(spread=1.0)
    assert model.scales_ is not None
    assert np.all(np.abs(model.scales_ - 1.0) < 0.25), model.scales_
    for forecast_date in (dt.date(2021, 3, 3), dt.date(2021, 9, 1), dt.date(2022, 6, 1)):
        calibrated_paths = model.sample_paths(_synthetic(), forecast_date, 14, 400, seed=1)
        base_paths = model.base_.sample_paths(_synthetic(), forecast_date, 14, 400, seed=1)
        spread = np.log(calibrated_paths[:, -1]).std() / np.log(base_paths[:, -1]).std()
        assert 0.75 < spread < 1.33


def test_paths_stay_paths_ranks_kept_and_weekends_repeat_fridays():
    model = _calibrated(spread=0.5)
    saturday = dt.date(2021, 3, 6)
    calibrated_paths = model.sample_paths(_synthetic(), saturday, 14, 201, seed=4)
    base_paths = model.base_.sample_paths(_synthetic(), saturday, 14, 201, seed=4)
    for day in range(14):  # every day orders the paths as the base model does
        np.testing.assert_array_equal(
            np.argsort(calibrated_paths[:, day], kind="stable"),
            np.argsort(base_paths[:, day], kind="stable"),
        )
    np.testing.assert_array_equal(calibrated_paths[:, 1], calibrated_paths[:, 0])  # Sat = Sun
    np.testing.assert_array_equal(calibrated_paths[:, 8], calibrated_paths[:, 7])
    # The median path (201 paths: one middle path) is the base model's: only the spread
    # around it changes.
    np.testing.assert_allclose(
        np.median(calibrated_paths, axis=0), np.median(base_paths, axis=0), rtol=1e-12
    )


def test_too_little_history_falls_back_to_the_base_paths_and_says_so():
    short = _synthetic(start="2020-06-01")
    model = CalibratedKnownWalk(spread=0.5, **FIT).fit(short, TRAINING_DATE)
    assert model.training_tags_["calibration"] == "fallback"
    assert "fewer than fit_min_origins=40" in model.training_tags_["calibration_note"]
    assert model.scales_ is None
    np.testing.assert_array_equal(
        model.sample_paths(short, dt.date(2021, 2, 1), 14, 100, seed=2),
        model.base_.sample_paths(short, dt.date(2021, 2, 1), 14, 100, seed=2),
    )


def test_a_version_fitted_with_one_factor_per_step_is_refused_by_name():
    """A pickle of the earlier calibration (factors of shape (steps,)) fails its model alone."""
    model = _calibrated(spread=0.7)
    model.scales_ = np.ones(10)
    with pytest.raises(ModelError, match=r"one spread factor per step .* a new --model-version"):
        model.sample_paths(_synthetic(), dt.date(2021, 5, 5), 14, 10, seed=1)


def test_fitting_twice_gives_the_same_factors_and_paths():
    first, second = _calibrated(spread=0.7), _calibrated(spread=0.7)
    assert first.scales_ is not None and second.scales_ is not None
    np.testing.assert_array_equal(first.scales_, second.scales_)
    np.testing.assert_array_equal(
        first.sample_paths(_synthetic(), dt.date(2021, 5, 5), 14, 100, seed=9),
        second.sample_paths(_synthetic(), dt.date(2021, 5, 5), 14, 100, seed=9),
    )


def test_the_backtest_reads_nothing_on_or_after_the_training_date():
    history = _synthetic()
    plan = BacktestPlan(refits=2, refit_days=91, origin_days=5, n_paths=10, seed=0)
    backtest = rolling_origin(KnownWalk, history.as_of(TRAINING_DATE), plan)
    assert len(backtest) > 20
    last_outcome_day = pd.Timestamp(backtest.origins[-1]) + pd.offsets.BDay(plan.steps)
    assert last_outcome_day.date() < TRAINING_DATE
    assert backtest.paths.shape == (len(backtest), 10, plan.steps)
    # The outcomes are the closes that followed each origin's cutoff.
    first = history.rows_after(history.as_of(backtest.origins[0]).last_date).closes[: plan.steps]
    np.testing.assert_array_equal(backtest.outcomes[0], first)


def test_rescaling_keeps_the_median_and_scales_log_deviations():
    paths = np.exp(np.array([[0.0, 0.1], [0.2, 0.3], [0.4, 0.5]]))
    flat = np.ones((3, 2))  # one factor for every level: only the volatility target moves
    rescaled = np.log(rescale_paths(paths, 2.0, flat))
    np.testing.assert_allclose(rescaled, [[-0.2, -0.1], [0.2, 0.3], [0.6, 0.7]], atol=1e-12)


def test_level_factors_widen_the_tails_more_than_the_centre_and_keep_the_order():
    log_paths = np.random.default_rng(0).normal(0.0, 0.05, (1001, 3))
    tails = np.array([[1.0] * 3, [1.0] * 3, [2.0] * 3])  # levels 0.5, 0.8: 1x; 0.95: 2x
    moved = np.log(rescale_paths(np.exp(log_paths), 1.0, tails))
    deviation = np.abs(log_paths - np.median(log_paths, axis=0))
    widened = np.abs(moved - np.median(moved, axis=0)) / np.maximum(deviation, 1e-300)
    central = (deviation > 0.0) & (deviation <= np.quantile(deviation, 0.75, axis=0))
    outer = deviation >= np.quantile(deviation, 0.97, axis=0)
    np.testing.assert_allclose(widened[central], 1.0)
    assert np.all(widened[outer] > 1.99)
    for step in range(3):
        np.testing.assert_array_equal(
            np.argsort(moved[:, step], kind="stable"), np.argsort(log_paths[:, step], kind="stable")
        )
    np.testing.assert_allclose(np.median(moved, axis=0), np.median(log_paths, axis=0))


def test_a_factor_falling_faster_than_the_spread_grows_never_reorders_paths():
    log_paths = np.random.default_rng(1).normal(0.0, 0.05, (500, 2))
    falling = np.array([[3.0, 3.0], [0.3, 0.3], [0.3, 0.3]])  # 3x at 0.5, a tenth beyond
    moved = np.log(rescale_paths(np.exp(log_paths), 1.0, falling))
    for step in range(2):
        order = np.argsort(log_paths[:, step])
        assert np.all(np.diff(moved[order, step]) > 0.0)  # strictly increasing: no ties


def test_nothing_to_target_without_spread():
    flat = _synthetic().as_of(dt.date(2021, 3, 3))
    constant = np.full((50, 10), flat.last_close)
    assert volatility_ratio(flat, constant) == 1.0  # a model without spread
    np.testing.assert_allclose(rescale_paths(constant, 1.0, np.ones((3, 10))), constant, rtol=1e-12)


@pytest.mark.parametrize("base", ["naive", "sarimax", "xgboost"])
def test_calibrated_models_are_registered_under_their_base_name(base):
    model_class = calibrated(base)
    assert model_class.name == f"{base}_cal"
    assert build_model(f"{base}_cal").base is build_model(base).__class__
    # Saved states (and versions pickled before) name the class: the module hands out the same one.
    from forecast_core.models import calibration

    assert getattr(calibration, f"Calibrated_{base}") is model_class


def test_a_saved_calibrated_model_loads_in_a_fresh_process(tmp_path, coffee_history):
    """The class is made on first use: a new process finds it by name (as MLflow loads it)."""
    model = build_model("naive_cal", calibrated("naive").test_params())
    model.fit(coffee_history, dt.date(2023, 1, 1))
    saved = tmp_path / "state"
    write_state(model.to_state(), saved)
    expected = model.sample_paths(coffee_history, dt.date(2023, 2, 1), 14, 50, seed=3)
    code = (
        "import sys, datetime as dt, numpy as np; from pathlib import Path; "
        "from forecast_core.data.loading import load_dataset; "
        "from forecast_core.models.registry import model_from_state; "
        "from forecast_core.models.state_files import read_state; "
        "model = model_from_state(read_state(Path(sys.argv[1]))); "
        "history = load_dataset().history('coffee'); "
        "np.save(sys.argv[2], model.sample_paths(history, dt.date(2023, 2, 1), 14, 50, seed=3))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(saved), str(tmp_path / "paths.npy")],
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    np.testing.assert_array_equal(np.load(tmp_path / "paths.npy"), expected)
