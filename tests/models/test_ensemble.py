"""The ensemble: members weighted by their backtest CRPS, their paths mixed by weight."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from forecast_core.crps import crps_samples
from forecast_core.data import MarketHistory
from forecast_core.errors import ConfigError
from forecast_core.models import build_model
from forecast_core.models.backtest import rolling_origin
from forecast_core.models.calibration import TEST_FIT_PARAMS, backtest_plan
from forecast_core.models.ensemble import EnsembleForecaster

ROOT = Path(__file__).resolve().parents[2]
TRAINING_DATE = dt.date(2023, 1, 1)
PARAMS = {**EnsembleForecaster.test_params(), "members": "naive,random_walk"}


@pytest.fixture(scope="module")
def ensemble(coffee_history: MarketHistory) -> EnsembleForecaster:
    model = build_model("ensemble", PARAMS).fit(coffee_history, TRAINING_DATE)
    assert isinstance(model, EnsembleForecaster)
    return model


def test_weights_are_the_normalised_inverse_backtest_crps(ensemble, coffee_history):
    """The evaluation's CRPS of each member's backtest, recomputed here, gives the weights."""
    known = coffee_history.as_of(TRAINING_DATE)
    mean_crps = []
    for name in ("naive", "random_walk"):
        backtest = rolling_origin(
            lambda name=name: build_model(name, build_model(name).test_params()),
            known,
            backtest_plan(TEST_FIT_PARAMS),
        )
        mean_crps.append(crps_samples(backtest.outcomes, backtest.paths, sample_axis=1).mean())
    inverse = 1.0 / np.array(mean_crps)
    np.testing.assert_allclose(ensemble.weights_, inverse / inverse.sum(), rtol=1e-12)
    assert ensemble.training_tags_["ensemble"] == "weighted"
    weights = ensemble.training_tags_["ensemble_weights"]
    assert weights == f"naive={ensemble.weights_[0]:.4f},random_walk={ensemble.weights_[1]:.4f}"
    assert ensemble.training_metrics_["weight_naive"] == ensemble.weights_[0]


def test_each_member_draws_its_share_of_the_paths(ensemble):
    counts = ensemble.path_counts(1000)
    assert counts.sum() == 1000
    np.testing.assert_array_equal(counts, np.round(ensemble.weights_ * 1000))
    ensemble_copy = build_model("ensemble", PARAMS)
    ensemble_copy.weights_ = np.array([1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_array_equal(ensemble_copy.path_counts(2), [1, 1, 0])  # earlier first


def test_the_mixture_holds_each_members_paths(ensemble, coffee_history):
    """The first block of paths is the first member's own simulation of the date."""
    forecast_date = dt.date(2023, 3, 15)
    paths = ensemble.sample_paths(coffee_history, forecast_date, 14, 100, seed=5)
    count = int(ensemble.path_counts(100)[0])
    seed = np.random.default_rng(5).integers(0, 2**63, size=2)[0]
    naive = ensemble.members_[0].sample_paths(coffee_history, forecast_date, 14, count, seed)
    np.testing.assert_array_equal(paths[:count], naive)


def test_too_little_history_gives_equal_weights_and_says_so(coffee_history):
    # More realized backtest origins asked for than the training window holds.
    model = build_model("ensemble", {**PARAMS, "fit_min_origins": 10_000})
    model.fit(coffee_history, TRAINING_DATE)
    np.testing.assert_array_equal(model.weights_, [0.5, 0.5])
    assert model.training_tags_["ensemble"] == "fallback"
    assert "fewer than fit_min_origins" in model.training_tags_["ensemble_note"]


@pytest.mark.parametrize("members", ["", "naive,ensemble"])
def test_members_must_be_other_registered_models(members, coffee_history):
    with pytest.raises(ConfigError, match="ensemble members"):
        build_model("ensemble", {**PARAMS, "members": members}).fit(coffee_history, TRAINING_DATE)


def test_the_models_load_without_spark_mlflow_or_matplotlib():
    """The ensemble reuses the evaluation's CRPS without pulling in the evaluation's storage."""
    code = (
        "import sys, forecast_core.models.ensemble, forecast_core.models.calibration; "
        "print(sorted(m for m in ('pyspark', 'mlflow', 'matplotlib') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert loaded.stdout.strip() == "[]"
