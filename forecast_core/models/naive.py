"""Naive model: the newest close held, with the spread of bootstrapped historical returns."""

from __future__ import annotations

from typing import Any

import numpy as np

from forecast_core.data.history import MarketHistory
from forecast_core.models.base import Forecaster, log_returns
from forecast_core.models.state import FittedState


class NaiveForecaster(Forecaster):
    """Median path = the newest close; spread from demeaned historical log returns.

    ``fit`` stores the demeaned daily log returns of the last ``window`` trading days
    (``returns_``). Sampling draws them with replacement and cumulates them from the
    newest close before the forecast date, so the centre of every forecast is the
    latest price and its spread is the empirical one (fat tails included).
    """

    name = "naive"
    display_name = "Naive"
    min_history = 30

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {"window": 504}

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"window": 60}

    def _fit(self, known: MarketHistory) -> None:
        returns = log_returns(known.closes[-(self.params["window"] + 1) :])
        self.returns_ = returns - returns.mean()
        self.training_metrics_ = {
            "daily_log_return_std": float(returns.std(ddof=1)),
            "n_returns": float(returns.size),
        }

    def _sample_steps(
        self, known: MarketHistory, n_steps: int, n_paths: int, rng: np.random.Generator
    ) -> np.ndarray:
        draws = self.returns_[rng.integers(0, self.returns_.size, size=(n_paths, n_steps))]
        return known.last_close * np.exp(np.cumsum(draws, axis=1))

    def _fitted_state(self) -> FittedState:
        return FittedState(arrays={"returns": self.returns_})

    def _restore_fitted(self, fitted: FittedState) -> None:
        self.returns_ = fitted.arrays["returns"]
