"""Adaptive calibrated models: a ``*_cal`` model whose interval widths follow realized coverage.

``adaptive("xgboost")`` is the model ``xgboost_acal``. It is ``xgboost_cal`` (the volatility
target r and the level factors s_kj, ``calibration``) with one more log factor theta_k per
interval level k (0.5, 0.8, 0.95), common to the trading steps, updated online from the
realized coverage of the model's own earlier forecasts by quantile tracking: online
gradient descent on the pinball loss of the interval's log scale, the "P" part of conformal
PID control (Angelopoulos, Candes & Tibshirani 2023), which is adaptive conformal inference
(Gibbs & Candes 2021) in the units of the scale. Each trading day's realized outcomes (one
per step of the forecasts they end) move it by

    theta_k <- theta_k + rate * mean over the outcomes of (miss_kj - (1 - k)),

miss_kj being 1 when the outcome of step j fell outside the level-k interval its forecast
issued. A forecast's paths are then the calibrated ones under the factors s_kj exp(theta_k):

    log p'_ij = m_j + g_j(r (log p_ij - m_j))     (g_j built from s_kj exp(theta_k))

so they keep their ranks at every step and their median path, as ``*_cal``; the factors s_kj
keep the shape across steps fitted on the backtest, theta_k follows what changed since.

**What a forecast for date D reads.** The outcome of step j of the forecast after the close
of day c is the close j trading days after c; it moves theta only for forecasts whose data
cutoff is that close's day or later, so a forecast on D reads only closes before D. The
state is a pure function of the registered model and the history before D:

* on the training date T it is the tracker run over the model's backtest (``fit``: the
  out-of-sample forecasts realized before T that also fit s_kj), each backtest origin
  weighted by the trading days it stands for;
* from T to D it is carried over one forecast per trading day: the fitted base model's
  paths for the day after each close c from the data cutoff before T to the one before D
  (``fit_paths`` paths, seeded by ``fit_seed`` and the date, as the backtest draws its
  origins), scored against the closes after c that came before D.

A batch of dates (a backfill window) scores each of those forecasts once and carries the
state through them in date order; one date alone (a daily run) recomputes them from the
training date, at most one cadence window of trading days. Either way the state and the
paths are bit-identical.

See docs/calibration.md for the choice of the method and of its rate.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from forecast_core.data.history import MarketHistory
from forecast_core.models.backtest import Backtest
from forecast_core.models.calibration import (
    LEVELS,
    SCALE_GRID,
    CalibratedForecaster,
    volatility_ratio,
    wrapper_class,
)
from forecast_core.models.state import FittedState

CLASS_PREFIX = "AdaptiveCalibrated_"
# A log factor beyond the calibration's own grid (0.25x .. 4x) is not followed further.
MAX_LOG_FACTOR = float(np.log(SCALE_GRID[-1]))
# The target miss rate of each level's central interval.
ALPHA = 1.0 - LEVELS
ADAPTIVE_PARAMS: dict[str, Any] = {"adapt_rate": 0.04}


def coverage_scores(
    paths: np.ndarray, ratios: np.ndarray, log_outcomes: np.ndarray, scales: np.ndarray
) -> np.ndarray:
    """How far each outcome fell, in log units of the calibrated level-k interval's half.

    The score of level k at step j is log(|log y_j - m_j| / (r D_kj s_kj)), D_kj being the
    distance from the median m_j to the end of the base paths' central level-k interval on
    the outcome's side, after the volatility target r. The outcome is inside the interval
    scaled by exp(theta_kj) exactly when the score is at most theta_kj.

    Args:
        paths: Base model step paths, shape (forecasts, n_paths, steps).
        ratios: Each forecast's volatility target r, shape (forecasts,).
        log_outcomes: Log closes after each forecast's cutoff, shape (forecasts, steps);
            NaN where not realized.
        scales: The factors s_kj, shape (len(LEVELS), steps).

    Returns:
        Scores of shape (forecasts, len(LEVELS), steps): NaN where not realized, -inf for an
        outcome on the median, +inf for one off a side without spread.
    """
    log_paths = np.log(paths)
    medians = np.median(log_paths, axis=1)
    deviations = (log_paths - medians[:, np.newaxis, :]) * ratios[:, np.newaxis, np.newaxis]
    # (levels, forecasts, steps) -> (forecasts, levels, steps)
    upper = np.moveaxis(np.quantile(deviations, (1.0 + LEVELS) / 2.0, axis=1), 0, 1)
    lower = -np.moveaxis(np.quantile(deviations, (1.0 - LEVELS) / 2.0, axis=1), 0, 1)
    distance = (log_outcomes - medians)[:, np.newaxis, :]
    half = np.where(distance > 0.0, upper, lower) * scales
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.log(np.abs(distance)) - np.log(half)
    scores = np.where(distance == 0.0, -np.inf, scores)
    scores = np.where((distance != 0.0) & (half <= 0.0), np.inf, scores)
    return np.where(np.isnan(distance), np.nan, scores)


def track(
    start: np.ndarray, rows: np.ndarray, scores: np.ndarray, weights: np.ndarray, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Quantile tracking of the log factors over forecasts whose outcomes come in late.

    The score of forecast i at step j (0-based) is realized at the close of row
    ``rows[i] + j + 1``; it moves the state of every forecast whose cutoff row is that row
    or later, never an earlier one. Each realized score moves theta_k by ``rate`` times
    the forecast's weight times (miss - (1 - k)) divided by the number of steps, so a
    trading day's realized outcomes (one per step) move it by ``rate`` times their mean
    coverage error. Scores realized on the same row are taken in the order of their
    forecasts, then steps, so the result does not depend on later rows.

    Args:
        start: The log factors theta_k before the first forecast, shape (len(LEVELS),).
        rows: Each forecast's data cutoff as a row number, strictly ascending.
        scores: ``coverage_scores`` of each forecast, NaN where not realized.
        weights: The trading days each forecast stands for (1 for daily forecasts).
        rate: The step of the update, in log units per trading day of outcomes.

    Returns:
        The state each forecast used, shape (forecasts, len(LEVELS)), and the state after
        every realized score.
    """
    n_steps = scores.shape[2]
    realized = np.argwhere(~np.isnan(scores[:, 0, :]))  # (forecast, step) pairs, row-major
    due = rows[realized[:, 0]] + realized[:, 1] + 1
    order = np.argsort(due, kind="stable")
    events, due = realized[order], due[order]
    steps = rate * weights / n_steps  # per forecast
    theta = start.copy()
    used = np.empty((len(rows), start.size))
    applied = 0
    for index, row in enumerate(rows):
        stop = int(np.searchsorted(due, row, side="right"))
        theta = _update(theta, used, scores, steps, events[applied:stop])
        applied = stop
        used[index] = theta
    return used, _update(theta, used, scores, steps, events[applied:])


def _update(
    theta: np.ndarray, used: np.ndarray, scores: np.ndarray, steps: np.ndarray, events: np.ndarray
) -> np.ndarray:
    """``theta`` after the realized scores ``events`` ((forecast, step) pairs), in order."""
    for forecast, step in events:
        miss = scores[forecast, :, step] > used[forecast]
        theta = np.clip(theta + steps[forecast] * (miss - ALPHA), -MAX_LOG_FACTOR, MAX_LOG_FACTOR)
    return theta


class AdaptiveCalibratedForecaster(CalibratedForecaster):
    """A calibrated model whose interval widths follow the realized coverage of its forecasts.

    Subclasses are made by ``adaptive``; ``base`` is the wrapped model class. The
    parameters are the calibrated model's plus ``adapt_rate``.

    ``fit`` sets, besides the calibrated model's state, ``adaptive_start_``: the log
    factors theta_k on the training date (a float64 array of shape (len(LEVELS),),
    ``None`` in the fallback), from the tracker run over the backtest; they are in-sample
    metrics too (``adaptive_log_scale_q80`` ...), and in its state (the array
    ``adaptive_start``).
    """

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {**super().default_params(), **ADAPTIVE_PARAMS}

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {**super().test_params(), **ADAPTIVE_PARAMS}

    def _base_params(self) -> dict[str, Any]:
        return {k: v for k, v in super()._base_params().items() if k not in ADAPTIVE_PARAMS}

    def _fit(self, known: MarketHistory) -> None:
        self.adaptive_start_: np.ndarray | None = None
        super()._fit(known)
        if self.adaptive_start_ is not None:
            self.training_metrics_.update(
                {
                    f"adaptive_log_scale_q{round(level * 100)}": float(theta)
                    for level, theta in zip(LEVELS, self.adaptive_start_, strict=True)
                }
            )

    def _fit_on_backtest(
        self, known: MarketHistory, backtest: Backtest, ratios: np.ndarray
    ) -> None:
        """The tracker's state on the training date, from the backtest's realized scores."""
        assert self.scales_ is not None  # called once the factors are fitted
        rows = np.array([len(known.as_of(origin)) - 1 for origin in backtest.origins])
        gaps = np.diff(rows).astype(np.float64)
        # Each origin stands for the trading days until the next one (the last: the mean).
        weights = np.append(gaps, gaps.mean() if gaps.size else 1.0)
        scores = coverage_scores(backtest.paths, ratios, np.log(backtest.outcomes), self.scales_)
        start = np.zeros(LEVELS.size)
        _, self.adaptive_start_ = track(start, rows, scores, weights, self._rate())
        self.training_tags_["calibration_note"] += (
            f"; level factors tracked online from realized coverage at rate {self._rate():g}"
        )

    def _fitted_state(self) -> FittedState:
        fitted = super()._fitted_state()
        if self.adaptive_start_ is not None:
            fitted.arrays["adaptive_start"] = self.adaptive_start_
        return fitted

    def _restore_fitted(self, fitted: FittedState) -> None:
        super()._restore_fitted(fitted)
        self.adaptive_start_ = fitted.arrays.get("adaptive_start")

    def _rate(self) -> float:
        return float(self.params["adapt_rate"])

    def _level_scales(self, knowns: Sequence[MarketHistory]) -> list[np.ndarray]:
        """s_kj exp(theta_k) of each forecast, theta carried from the training date."""
        assert self.scales_ is not None and self.adaptive_start_ is not None
        if not knowns:
            return []
        latest = knowns[-1]
        dates = latest.observations["date"].to_numpy()
        assert self.data_cutoff_ is not None  # sampled only when fitted
        first = int(np.searchsorted(dates, np.datetime64(self.data_cutoff_, "ns"), side="left"))
        rows = np.arange(first, len(latest))
        scores = self._realized_scores(latest, rows)
        used, _ = track(self.adaptive_start_, rows, scores, np.ones(len(rows)), self._rate())
        return [
            self.scales_ * np.exp(used[len(known) - 1 - first])[:, np.newaxis] for known in knowns
        ]

    def _realized_scores(self, latest: MarketHistory, rows: np.ndarray) -> np.ndarray:
        """Scores of the base model's forecast after each cutoff row, against ``latest``.

        The forecast after the close of row r is the one for the next calendar day, drawn
        as the backtest draws its origins; its outcomes are the closes of the rows after r
        that ``latest`` holds (NaN beyond). The newest row has none: no forecast is drawn.
        """
        assert self.scales_ is not None
        steps = self.scales_.shape[1]
        scores = np.full((len(rows), LEVELS.size, steps), np.nan)
        scored = rows[rows < len(latest) - 1]
        if not scored.size:
            return scores
        dates = latest.observations["date"].dt.date.to_numpy()
        origins = [dates[row] + dt.timedelta(days=1) for row in scored]
        knowns = [latest.as_of(origin) for origin in origins]
        seed = int(self.params["fit_seed"])
        paths = np.asarray(
            self.base_._sample_steps_batch(
                knowns,
                [steps] * len(knowns),
                int(self.params["fit_paths"]),
                [np.random.default_rng([seed, origin.toordinal()]) for origin in origins],
            )
        )
        ratios = np.array(
            [
                volatility_ratio(known, step_paths)
                for known, step_paths in zip(knowns, paths, strict=True)
            ]
        )
        closes = np.log(latest.closes)
        outcomes = np.full((len(scored), steps), np.nan)
        for index, row in enumerate(scored):
            after = closes[row + 1 : row + 1 + steps]
            outcomes[index, : after.size] = after
        scores[: len(scored)] = coverage_scores(paths, ratios, outcomes, self.scales_)
        return scores


@functools.cache
def adaptive(base_name: str) -> type[AdaptiveCalibratedForecaster]:
    """The adaptive calibrated model class of the registered model ``base_name``.

    It is reachable as ``forecast_core.models.adaptive.AdaptiveCalibrated_<base_name>``.
    """
    doc = f"``{base_name}_cal`` with level factors tracked online from realized coverage."
    suffixes = ("_acal", "ACal")
    return wrapper_class(
        AdaptiveCalibratedForecaster, __name__, CLASS_PREFIX, base_name, suffixes, doc
    )


def __getattr__(name: str) -> type[AdaptiveCalibratedForecaster]:
    """``AdaptiveCalibrated_<model>``: the class of ``adaptive("<model>")`` (for the registry)."""
    if name.startswith(CLASS_PREFIX):
        return adaptive(name.removeprefix(CLASS_PREFIX))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
