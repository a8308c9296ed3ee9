"""XGBoost on next-day log returns, simulated recursively with bootstrapped residuals."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from forecast_core.data.history import MarketHistory
from forecast_core.errors import DataError
from forecast_core.models.base import Forecaster
from forecast_core.models.state import FittedState

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
# The booster in XGBoost's own binary JSON (UBJSON): exact floats, read by any XGBoost >= 1.6.
BOOSTER_FILE = "booster.ubj"
# Rows simulated together in one prediction call: past ~100,000 the call gains nothing
# and the feature arrays (~0.5 KB a row) only take memory.
MAX_ROWS_PER_CALL = 131_072


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

    Its state (``to_state``) is the booster in XGBoost's own format (``BOOSTER_FILE``),
    the residuals, the feature names and their importance.
    """

    name = "xgboost"
    display_name = "XGBoost"
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
            windows[:-1], known.weather_matrix()[LOOKBACK_CLOSES - 1 : -1]
        )
        targets = np.diff(log_closes)[LOOKBACK_CLOSES - 1 :]
        features, targets = features[-self.params["window"] :], targets[-self.params["window"] :]
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
        import xgboost as xgb  # on first fit: naming or validating the model needs none of it

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
        self.booster_ = xgb.train(
            booster_params, training, num_boost_round=int(self.params["n_estimators"])
        )
        self.residuals_ = targets - self._predict(features)
        # total_gain is one number per feature (lists are for vector-leaf models).
        gains = cast(dict[str, float], self.booster_.get_score(importance_type="total_gain"))
        self.feature_importance_ = {
            name: float(gains.get(name, 0.0)) for name in self.feature_names_
        }
        self.training_metrics_ = {
            "rmse_log_return": float(np.sqrt(np.mean(self.residuals_**2))),
            "residual_std": float(self.residuals_.std(ddof=1)),
            "log_return_std": float(targets.std(ddof=1)),
            "n_train_rows": float(len(targets)),
        }

    # An override: the signature repeats Forecaster._sample_steps_batch's on purpose.
    def _sample_steps_batch(
        self,
        knowns: Sequence[MarketHistory],
        n_steps: Sequence[int],
        n_paths: int,
        rngs: Sequence[np.random.Generator],
    ) -> list[np.ndarray]:
        """Simulate every date's paths together: one prediction call per step for all.

        A call on 2,000 rows costs about 2 us a row, on 100,000 rows about 0.5 us: the
        trees are walked for many rows at a time. Every row's features and prediction
        depend on that row alone, so a date's paths are the same in any batch.
        """
        paths: list[np.ndarray] = []
        per_chunk = max(1, MAX_ROWS_PER_CALL // n_paths)  # bounds the memory of one batch
        for first in range(0, len(knowns), per_chunk):
            chunk = slice(first, first + per_chunk)
            paths.extend(
                self._simulate_together(knowns[chunk], n_steps[chunk], n_paths, rngs[chunk])
            )
        return paths

    # The arguments of _sample_steps_batch, for one chunk of its dates.
    def _simulate_together(
        self,
        knowns: Sequence[MarketHistory],
        n_steps: Sequence[int],
        n_paths: int,
        rngs: Sequence[np.random.Generator],
    ) -> list[np.ndarray]:
        # Dates with more steps first, so the rows still moving at each step are a prefix.
        order = sorted(range(len(knowns)), key=lambda i: -n_steps[i])
        # The newest closes before each forecast date: fresh lag features, no refit.
        buffer = np.concatenate(
            [
                np.repeat(
                    np.log(knowns[i].closes[-LOOKBACK_CLOSES:])[np.newaxis, :], n_paths, axis=0
                )
                for i in order
            ]
        )
        # Weather of the day each step starts from: the newest observed row, held over the
        # simulated days (``future_weather``: persistence, never the realized weather).
        weather = np.concatenate(
            [
                np.repeat(
                    self.future_weather(knowns[i], 1)
                    if knowns[i].weather_features
                    else np.zeros((1, 0)),
                    n_paths,
                    axis=0,
                )
                for i in order
            ]
        )
        max_steps = n_steps[order[0]] if order else 0
        # Bootstrapped residuals, drawn per date in the order of a batch of one.
        shocks = np.zeros((len(order) * n_paths, max_steps))
        for rank, i in enumerate(order):
            draws = rngs[i].integers(0, self.residuals_.size, size=(n_steps[i], n_paths))
            shocks[rank * n_paths : (rank + 1) * n_paths, : n_steps[i]] = self.residuals_[draws].T
        log_paths = np.empty((len(order) * n_paths, max_steps))
        # Predict on every core (half the time on two): a row's prediction does not depend
        # on the thread count, and training keeps its own single thread.
        self.booster_.set_param({"nthread": os.cpu_count() or 1})
        try:
            for step in range(max_steps):
                moving = n_paths * sum(1 for i in order if n_steps[i] > step)
                mean_returns = self._predict(
                    price_and_weather_features(buffer[:moving], weather[:moving])
                )
                log_paths[:moving, step] = (
                    buffer[:moving, -1] + mean_returns + shocks[:moving, step]
                )
                buffer = np.concatenate(
                    [buffer[:moving, 1:], log_paths[:moving, step : step + 1]], axis=1
                )
        finally:
            self.booster_.set_param({"nthread": int(self.params["n_jobs"])})
        by_date = {
            i: np.exp(log_paths[rank * n_paths : (rank + 1) * n_paths, : n_steps[i]])
            for rank, i in enumerate(order)
        }
        return [by_date[i] for i in range(len(knowns))]

    def _fitted_state(self) -> FittedState:
        return FittedState(
            values={
                "feature_names": list(self.feature_names_),
                "feature_importance": self.feature_importance_,
            },
            arrays={"residuals": self.residuals_},
            files={BOOSTER_FILE: bytes(self.booster_.save_raw(raw_format="ubj"))},
        )

    def _restore_fitted(self, fitted: FittedState) -> None:
        import xgboost as xgb

        self.booster_ = xgb.Booster()
        self.booster_.load_model(bytearray(fitted.files[BOOSTER_FILE]))
        self.feature_names_ = tuple(fitted.values["feature_names"])
        self.feature_importance_ = dict(fitted.values["feature_importance"])
        self.residuals_ = fitted.arrays["residuals"]

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
    return np.column_stack(
        [
            lags,
            returns[:, -5:].std(axis=1),
            returns.std(axis=1),
            returns.mean(axis=1),
            log_close_windows[:, -1] - np.log(moving_average),
            weather,
        ]
    )
