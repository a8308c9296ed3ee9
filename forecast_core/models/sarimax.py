"""SARIMAX on log closes with the weather features as standardised exogenous regressors."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast_core.data.history import MarketHistory
from forecast_core.errors import DataError, ModelError
from forecast_core.models.base import Forecaster
from forecast_core.models.state import FittedState
from forecast_core.models.state_space import (
    PredictedState,
    StateSpace,
    filter_rows,
    simulate_paths,
)

if TYPE_CHECKING:  # statsmodels (1.3 s) is imported when a model is fitted, not to name one
    from statsmodels.tsa.statespace.mlemodel import MLEResults

# Fewer complete rows than this leave the ARMA and weather coefficients unidentified.
MIN_FIT_ROWS = 100


class SarimaxForecaster(Forecaster):
    """SARIMAX(p, d, q) on log closes, weather features as exogenous regressors.

    The model is a regression of the log close on the standardised weather features with
    ARIMA errors (statsmodels' SARIMAX, trend none). With ``d = 1`` the weather therefore
    acts on price changes through weather changes; held at its newest value over the
    horizon (``future_weather``), it shapes the fitted ARMA dynamics and the filtered
    state rather than adding a drift. A commodity without weather features is fitted
    without exogenous regressors.

    ``fit`` estimates the model on the last ``window`` trading days (leading rows with a
    missing weather feature dropped) and sets:

    - ``feature_means_`` / ``feature_stds_``: standardisation of the weather features
      (training window), reused for every later row so coefficients keep their meaning;
    - ``weather_coefficients_``: the fitted coefficient of each weather feature;
    - ``state_results_``: a filtered results object holding only the last training row,
      whose end state equals that of the full fit (``last_row_results``);
    - ``training_metrics_``: aic, bic, sigma2, loglike, in-sample one-step RMSE of the log
      close, whether the optimiser converged, and the weather coefficients.

    Sampling filters the rows after the data cutoff with the fitted parameters (no refit;
    what ``state_results_.extend`` does) and draws the paths from the end of that sample
    (the distribution of ``simulate(anchor="end")``), both in numpy
    (``forecast_core.models.state_space``), so every path starts at the newest close
    before the forecast date. A batch of dates filters each new row once.

    Its state (``to_state``) is the spec (order), the fitted parameters, the last training
    row and the predicted state before it, from which ``last_row_results`` rebuilds
    ``state_results_`` as ``fit`` built it, and the weather standardisation.
    """

    name = "sarimax"
    display_name = "SARIMAX+Weather"
    min_history = 250

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {"order": (1, 1, 1), "window": 1000, "maxiter": 200}

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"order": (1, 1, 1), "window": 300, "maxiter": 100}

    def _fit(self, known: MarketHistory) -> None:
        rows = _complete_tail(known, int(self.params["window"]))
        if len(rows) < MIN_FIT_ROWS:
            raise DataError(
                f"model {self.name!r} needs at least {MIN_FIT_ROWS} trading days of "
                f"{known.commodity} with every weather feature before {known.known_before}; "
                f"found {len(rows)} in the last {self.params['window']} rows"
            )
        log_closes = np.log(rows.closes)
        features = rows.weather_matrix()
        self.feature_means_ = features.mean(axis=0)
        stds = features.std(axis=0)
        # A feature constant over the window would divide by zero; leave it centred only.
        self.feature_stds_ = np.where(stds > 0, stds, 1.0)
        exog = self._standardise(features)

        from statsmodels.tools.sm_exceptions import ConvergenceWarning, EstimationWarning
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        model = SARIMAX(log_closes, exog=exog, order=tuple(self.params["order"]), trend="n")
        with warnings.catch_warnings():
            # Non-convergence is recorded in the metrics (and visible there), not raised.
            warnings.simplefilter("ignore", ConvergenceWarning)
            # Bad default start parameters are replaced by zeros: routine, not actionable.
            warnings.filterwarnings(
                "ignore", message="Non-(stationary|invertible) starting", category=EstimationWarning
            )
            results = model.fit(disp=False, maxiter=int(self.params["maxiter"]))
        converged = bool(results.mle_retvals.get("converged", False))

        self.state_results_ = last_row_results(
            self.params["order"],
            np.asarray(results.params),
            log_closes[-1:],
            exog[-1:] if exog is not None else None,
            PredictedState(
                np.array(results.predicted_state[:, -2]),
                np.array(results.predicted_state_cov[:, :, -2]),
            ),
        )
        fitted = dict(zip(results.model.param_names, map(float, results.params), strict=True))
        # With array input statsmodels names the regressors x1, x2, ... in column order.
        self.weather_coefficients_ = {
            feature: fitted[f"x{column + 1}"]
            for column, feature in enumerate(known.weather_features)
        }
        # The first residuals come from the diffuse initial state: no forecast, skip them.
        burn = max(int(results.loglikelihood_burn), 1)
        one_step_errors = np.asarray(results.resid)[burn:]
        self.training_metrics_ = {
            "aic": float(results.aic),
            "bic": float(results.bic),
            "loglike": float(results.llf),
            "sigma2": fitted["sigma2"],
            "rmse_log_close_one_step": float(np.sqrt(np.mean(one_step_errors**2))),
            "converged": float(converged),
            "n_train_rows": float(len(rows)),
            **{f"coef_{feature}": value for feature, value in self.weather_coefficients_.items()},
        }

    # An override: the signature repeats Forecaster._sample_steps_batch's on purpose.
    def _sample_steps_batch(
        self,
        knowns: Sequence[MarketHistory],
        n_steps: Sequence[int],
        n_paths: int,
        rngs: Sequence[np.random.Generator],
    ) -> list[np.ndarray]:
        """Filter the state forward date by date (only the new rows), draw paths per date.

        Filtering row by row is what ``state_results_.extend`` does, without its model
        clone; a batch filters each row once instead of from the data cutoff every date.
        """
        space = StateSpace.from_results(self.state_results_)
        state = PredictedState.after(self.state_results_)
        coefficients = self._exog_coefficients()
        cutoff = self.data_cutoff_
        assert cutoff is not None  # sample_paths_batch samples fitted models only
        paths = []
        for known, steps, rng in zip(knowns, n_steps, rngs, strict=True):
            new_rows = known.rows_after(cutoff)
            if len(new_rows):
                new_features = new_rows.weather_matrix()
                if np.isnan(new_features).any():
                    raise DataError(
                        f"{known.commodity} weather features are missing after "
                        f"{self.data_cutoff_} (before {known.known_before}); expected "
                        f"forward-filled features"
                    )
                log_closes = np.array([math.log(close) for close in new_rows.closes])
                state = filter_rows(
                    space, state, log_closes, self._intercepts(new_features, coefficients)
                )
                cutoff = new_rows.last_date
            # Over the horizon the newest observed weather persists (``future_weather``).
            future = (
                self.future_weather(known, steps)
                if known.weather_features
                else np.zeros((steps, 0))
            )
            log_paths = simulate_paths(
                space, state, self._intercepts(future, coefficients), n_paths, rng
            )
            paths.append(np.exp(log_paths))
        return paths

    def _fitted_state(self) -> FittedState:
        results = self.state_results_
        model = results.model
        arrays = {
            "params": np.asarray(results.params),
            "last_log_close": np.asarray(model.endog[:, 0]),
            # The predicted state of the last training row: the filter's starting point.
            "state_mean": np.array(results.predicted_state[:, 0]),
            "state_cov": np.array(results.predicted_state_cov[:, :, 0]),
            "feature_means": self.feature_means_,
            "feature_stds": self.feature_stds_,
        }
        if model.exog is not None:
            arrays["last_exog"] = np.asarray(model.exog)
        return FittedState(
            values={
                "order": list(model.order),
                "param_names": list(model.param_names),
                "weather_coefficients": self.weather_coefficients_,
            },
            arrays=arrays,
        )

    def _restore_fitted(self, fitted: FittedState) -> None:
        arrays = fitted.arrays
        self.state_results_ = last_row_results(
            fitted.values["order"],
            arrays["params"],
            arrays["last_log_close"],
            arrays.get("last_exog"),
            PredictedState(arrays["state_mean"], arrays["state_cov"]),
        )
        names = list(self.state_results_.model.param_names)
        if names != fitted.values["param_names"]:
            raise ModelError(
                f"model {self.name!r}: the saved parameters {fitted.values['param_names']} do "
                f"not match this statsmodels' {names}; expected the same SARIMAX parameters"
            )
        self.feature_means_ = arrays["feature_means"]
        self.feature_stds_ = arrays["feature_stds"]
        self.weather_coefficients_ = dict(fitted.values["weather_coefficients"])

    def _exog_coefficients(self) -> np.ndarray:
        """The fitted weather coefficients, in feature order (statsmodels puts them first)."""
        model = self.state_results_.model
        return np.asarray(self.state_results_.params)[model.k_trend : model.k_trend + model.k_exog]

    def _intercepts(self, features: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
        """The observation intercept (weather effect) of each row of raw weather features.

        One dot product per row, so a row's value does not depend on the rows around it.
        """
        standardised = self._standardise(features)
        if standardised is None:
            return np.zeros(features.shape[0])
        return np.array([float(row @ coefficients) for row in standardised])

    def _standardise(self, features: np.ndarray) -> np.ndarray | None:
        if features.shape[1] == 0:
            return None
        if features.shape[1] != self.feature_means_.size:
            raise ModelError(
                f"model {self.name!r} was fitted on {self.feature_means_.size} weather "
                f"features; got {features.shape[1]}"
            )
        return (features - self.feature_means_) / self.feature_stds_


def _complete_tail(known: MarketHistory, window: int) -> MarketHistory:
    """The last ``window`` rows of ``known``, after the newest row missing a weather feature."""
    tail = MarketHistory(
        known.commodity,
        known.observations.iloc[-window:],
        known.weather_features,
        known.known_before,
    )
    missing = np.isnan(tail.weather_matrix()).any(axis=1)
    if not missing.any():
        return tail
    first_complete = int(np.flatnonzero(missing)[-1]) + 1
    return MarketHistory(
        known.commodity,
        tail.observations.iloc[first_complete:],
        known.weather_features,
        known.known_before,
    )


def last_row_results(
    order: Sequence[int],
    params: np.ndarray,
    last_log_close: np.ndarray,
    last_exog: np.ndarray | None,
    before: PredictedState,
) -> MLEResults:
    """Filtered results over the last training row only, ending in the fit's final state.

    Starting the Kalman filter at the state predicted for the last row (``before``) and
    filtering that row with the fitted parameters reproduces the full fit's final predicted
    state and covariance exactly; ``extend`` and ``simulate(anchor="end")`` only need those.
    ``fit`` and ``from_state`` both build the results here, from the same numbers.

    Args:
        order: (p, d, q).
        params: The fitted parameters, in statsmodels' order.
        last_log_close: The last training row's log close, shape (1,).
        last_exog: Its standardised weather features, shape (1, k), or None without weather.
        before: The predicted state of the last row.
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = SARIMAX(last_log_close, exog=last_exog, order=tuple(order), trend="n")
    model.ssm.initialize_known(before.mean, before.cov)
    # cov_type "none": parameter standard errors from one row are meaningless (and warn).
    return model.filter(params, cov_type="none")
