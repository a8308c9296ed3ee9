"""Random walk: Gaussian log returns with drift and volatility from the training window."""

from __future__ import annotations

from typing import Any

import numpy as np

from forecast_core.data.history import MarketHistory
from forecast_core.models.base import Forecaster, log_returns
from forecast_core.models.state import FittedState


class RandomWalkForecaster(Forecaster):
    """Geometric random walk from the newest close.

    ``fit`` estimates ``drift_`` (mean) and ``volatility_`` (standard deviation) of daily
    log returns over the last ``window`` trading days. Sampling cumulates
    N(drift_, volatility_) draws from the newest close before the forecast date. The
    drift can be switched off (``drift=False``): over a few weeks it is mostly noise.
    """

    name = "random_walk"
    display_name = "RandomWalk"
    min_history = 60

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {"window": 252, "drift": True}

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"window": 60, "drift": True}

    def _fit(self, known: MarketHistory) -> None:
        returns = log_returns(known.closes[-(self.params["window"] + 1) :])
        self.drift_ = float(returns.mean()) if self.params["drift"] else 0.0
        self.volatility_ = float(returns.std(ddof=1))
        self.training_metrics_ = {
            "drift": self.drift_,
            "volatility": self.volatility_,
            "annualized_volatility": self.volatility_ * float(np.sqrt(252)),
        }

    def _sample_steps(
        self, known: MarketHistory, n_steps: int, n_paths: int, rng: np.random.Generator
    ) -> np.ndarray:
        draws = rng.normal(self.drift_, self.volatility_, size=(n_paths, n_steps))
        return known.last_close * np.exp(np.cumsum(draws, axis=1))

    def _fitted_state(self) -> FittedState:
        return FittedState(values={"drift": self.drift_, "volatility": self.volatility_})

    def _restore_fitted(self, fitted: FittedState) -> None:
        self.drift_ = float(fitted.values["drift"])
        self.volatility_ = float(fitted.values["volatility"])
