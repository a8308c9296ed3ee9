"""XGBoost on next-day log returns, simulated recursively with bootstrapped residuals."""

from __future__ import annotations

from typing import Any

import numpy as np
import xgboost as xgb
from numpy.lib.stride_tricks import sliding_window_view

from forecast_core.data.history import MarketHistory
from forecast_core.errors import DataError
from forecast_core.models.base import Forecaster

# Log closes one feature row needs: 20 returns for the 20-day statistics.
LOOKBACK_CLOSES = 21
N_LAGS = 5
PRICE_FEATURES: tuple[str, ...] = (
    *(f"return_lag_{lag}" for lag in range(1, N_LAGS + 1)),
    "return_std_5d",
    "return_std_20d",
    "return_mean_20d",
    "log_close_over_ma_20d",
)
# Fewer training rows than this make the residual bootstrap and the trees meaningless.
MIN_FIT_ROWS = 100


class XGBoostForecaster(Forecaster):
    """Gradient-boosted trees predicting the next trading day's log return.

    Features of day t (all known at the close of t): log returns lagged 1..5, the
    standard deviation of returns over 5 and 20 days, the mean return over 20 days,
    log(close / 20-day moving average) and the raw weather features (trees are scale
    free). One function builds them for training and for simulation, so both see
    exactly the same definitions.

    ``fit`` trains on the last ``window`` days with a complete feature row and sets:

    - ``booster_``: the trained ``xgboost.Booster`` (single-threaded, seeded);
    - ``feature_names_``: the feature columns, in order;
    - ``residuals_``: in-sample residuals (realized minus predicted return), bootstrapped
      when sampling;
    - ``feature_importance_``: total gain of every feature (0 for unused ones);
    - ``training_metrics_``: in-sample RMSE, residual std, return std, rows.

    Sampling needs no refit: it seeds each path with the newest closes before the
    forecast date and, step by step, predicts the mean return of all paths in one call,
    adds a bootstrapped residual and rolls the paths forward. Weather over the horizon is
    ``future_weather`` (persistence), never the realized weather.
    """

    name = "xgboost"
    display_name = "XGBoost"
    uses_weather = True
    min_history = 250

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {
            "n_estimators": 100,
            "max_depth": 3,
            "learning_rate": 0.05,
            "subsample": 0.8,
            "window": 1000,
            "n_jobs": 1,
            "random_state": 0,
        }

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {**cls.default_params(), "n_estimators": 20, "window": 300}

    def _fit(self, known: MarketHistory) -> None:
        log_closes = np.log(known.closes)
        windows = sliding_window_view(log_closes, LOOKBACK_CLOSES)
        # Row i describes day t = i + LOOKBACK_CLOSES - 1; its target is the return of t + 1,
        # so the newest day (no target yet) is left out.
        features = price_and_weather_features(
            windows[:-1], known.weather_matrix()[LOOKBACK_CLOSES - 1:-1]
        )
        targets = np.diff(log_closes)[LOOKBACK_CLOSES - 1:]
        features, targets = features[-self.params["window"]:], targets[-self.params["window"]:]
        incomplete = np.isnan(features).any(axis=1)
        if incomplete.any():
            first_complete = int(np.flatnonzero(incomplete)[-1]) + 1
            features, targets = features[first_complete:], targets[first_complete:]
        if len(targets) < MIN_FIT_ROWS:
            raise DataError(
                f"model {self.name!r} needs at least {MIN_FIT_ROWS} trading days of "
                f"{known.commodity} with complete features before {known.known_before}; "
                f"found {len(targets)} in the last {self.params['window']} rows"
            )

        self.feature_names_ = (*PRICE_FEATURES, *known.weather_features)
        training = xgb.DMatrix(features, label=targets, feature_names=list(self.feature_names_))
        booster_params = {
            "objective": "reg:squarederror",
            "tree_method": "hist",
            "max_depth": int(self.params["max_depth"]),
            "eta": float(self.params["learning_rate"]),
            "subsample": float(self.params["subsample"]),
            # One thread and a fixed seed: the same data give bit-identical trees.
            "nthread": int(self.params["n_jobs"]),
            "seed": int(self.params["random_state"]),
        }
        self.booster_ = xgb.train(booster_params, training,
                                  num_boost_round=int(self.params["n_estimators"]))
        self.residuals_ = targets - self._predict(features)
        gains = self.booster_.get_score(importance_type="total_gain")
        self.feature_importance_ = {name: float(gains.get(name, 0.0))
                                    for name in self.feature_names_}
        self.training_metrics_ = {
            "rmse_log_return": float(np.sqrt(np.mean(self.residuals_**2))),
            "residual_std": float(self.residuals_.std(ddof=1)),
            "log_return_std": float(targets.std(ddof=1)),
            "n_train_rows": float(len(targets)),
        }

    def _sample_steps(
        self, known: MarketHistory, n_steps: int, n_paths: int, rng: np.random.Generator
    ) -> np.ndarray:
        # The newest closes before the forecast date: fresh lag features, no refit.
        recent = np.log(known.closes[-LOOKBACK_CLOSES:])
        buffer = np.repeat(recent[np.newaxis, :], n_paths, axis=0)
        # Features of the day each step starts from: the newest observed weather, then the
        # persistence forecast of the simulated days.
        weather = known.weather_matrix()[-1:]
        if known.weather_features:
            weather = np.vstack([weather, self.future_weather(known, n_steps)[:-1]])
        else:
            weather = np.zeros((n_steps, 0))
        shocks = self.residuals_[rng.integers(0, self.residuals_.size, size=(n_steps, n_paths))]
        log_paths = np.empty((n_paths, n_steps))
        for step in range(n_steps):
            step_weather = np.repeat(weather[step:step + 1], n_paths, axis=0)
            mean_returns = self._predict(price_and_weather_features(buffer, step_weather))
            log_paths[:, step] = buffer[:, -1] + mean_returns + shocks[step]
            buffer = np.concatenate([buffer[:, 1:], log_paths[:, step:step + 1]], axis=1)
        return np.exp(log_paths)

    def _predict(self, features: np.ndarray) -> np.ndarray:
        # inplace_predict returns float32; widen so path arithmetic stays float64.
        return np.asarray(self.booster_.inplace_predict(features), dtype=np.float64)


def price_and_weather_features(log_close_windows: np.ndarray, weather: np.ndarray) -> np.ndarray:
    """Feature rows (columns as ``PRICE_FEATURES`` then the weather features).

    Args:
        log_close_windows: (rows, LOOKBACK_CLOSES) log closes, oldest first; each row's last
            value is the day the features describe.
        weather: (rows, n_weather) weather features of those days.

    Returns:
        A (rows, len(PRICE_FEATURES) + n_weather) float64 array.
    """
    returns = np.diff(log_close_windows, axis=1)
    lags = returns[:, ::-1][:, :N_LAGS]
    moving_average = np.exp(log_close_windows[:, 1:]).mean(axis=1)
    return np.column_stack([
        lags,
        returns[:, -5:].std(axis=1),
        returns.std(axis=1),
        returns.mean(axis=1),
        log_close_windows[:, -1] - np.log(moving_average),
        weather,
    ])
