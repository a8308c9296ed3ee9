"""Calibrated models: a registered model's paths, their spread rescaled per trading step.

``calibrated("xgboost")`` is the model ``xgboost_cal``: it fits the base model, then fits
one spread factor s_j per trading step j from rolling-origin forecasts inside the training
window (``backtest``), and samples the base model's paths with every path's log price
moved away from (or towards) the median path by s_j:

    log p'_ij = m_j + s_j (log p_ij - m_j),    m_j = the median of log p_.j over the paths.

The map is increasing in each step, so the ranks of the paths are kept at every step, a
path is moved as a whole, and weekend days still repeat the Friday step. s_j is the factor
that makes the central intervals of the backtest hold their nominal share of outcomes at
every level (the smallest Cramer-von Mises distance of |2 PIT - 1| to the uniform), then
smoothed over neighbouring steps. See docs/calibration.md for the choice.

Too little history for ``fit_min_origins`` realized origins: s_j = 1 (the base paths),
with ``training_tags_["calibration"] = "fallback"`` and the reason.

Adding calibration to a model is one line in ``forecast_core.names.MODELS``:
``"<model>_cal": "forecast_core.models.calibration:Calibrated_<model>"``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from forecast_core.data.history import MarketHistory
from forecast_core.models.backtest import Backtest, BacktestPlan, rolling_origin
from forecast_core.models.base import Forecaster

CLASS_PREFIX = "Calibrated_"
# Spread factors tried: 0.25x .. 4x in steps of about 1.7%.
SCALE_GRID = np.geomspace(0.25, 4.0, 169)
FIT_PARAMS: dict[str, Any] = {
    "fit_refits": 3,  # a year and a half of semiannual refits before the training date
    "fit_refit_days": 182,
    "fit_origin_days": 4,  # about 45 origins per refit slot, ~135 in all
    "fit_paths": 500,
    "fit_min_origins": 40,
    "fit_seed": 0,
}
TEST_FIT_PARAMS: dict[str, Any] = {
    "fit_refits": 2,
    "fit_refit_days": 91,
    "fit_origin_days": 9,
    "fit_paths": 64,
    "fit_min_origins": 8,
    "fit_seed": 0,
}


def backtest_plan(params: dict[str, Any]) -> BacktestPlan:
    """The backtest described by a model's ``fit_*`` parameters."""
    return BacktestPlan(
        refits=int(params["fit_refits"]),
        refit_days=int(params["fit_refit_days"]),
        origin_days=int(params["fit_origin_days"]),
        n_paths=int(params["fit_paths"]),
        seed=int(params["fit_seed"]),
    )


def fit_spread_scales(backtest: Backtest) -> np.ndarray:
    """One spread factor per trading step, from out-of-sample paths and their outcomes.

    For a factor s the outcome's PIT among the rescaled paths is the share of base paths
    below m + (log y - m) / s, so every s on ``SCALE_GRID`` is scored without rescaling.

    Returns:
        A float64 array of length ``backtest.paths.shape[2]``.
    """
    log_paths = np.log(backtest.paths)
    medians = np.median(log_paths, axis=1)
    log_outcomes = np.log(backtest.outcomes)
    n_origins, n_paths, n_steps = log_paths.shape
    levels = (np.arange(n_origins) + 0.5) / n_origins  # uniform order statistics
    scales = np.empty(n_steps)
    for step in range(n_steps):
        ordered = np.sort(log_paths[:, :, step], axis=1)
        pit = np.empty((n_origins, SCALE_GRID.size))
        for origin in range(n_origins):
            centre = medians[origin, step]
            thresholds = centre + (log_outcomes[origin, step] - centre) / SCALE_GRID
            below = np.searchsorted(ordered[origin], thresholds, side="left")
            at_or_below = np.searchsorted(ordered[origin], thresholds, side="right")
            pit[origin] = (below + at_or_below) / (2.0 * n_paths)  # ties count half
        central = np.sort(np.abs(2.0 * pit - 1.0), axis=0)
        distance = ((central - levels[:, np.newaxis]) ** 2).sum(axis=0)
        scales[step] = SCALE_GRID[int(np.argmin(distance))]
    return smooth(scales)


def smooth(scales: np.ndarray) -> np.ndarray:
    """A centred three-step mean of the log factors (two at the ends): no step jumps alone."""
    logs = np.log(scales)
    padded = np.concatenate([logs[:1], logs, logs[-1:]])
    return np.exp((padded[:-2] + padded[1:-1] + padded[2:]) / 3.0)


def rescale_paths(paths: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Move every path's log price from the median by the step's factor (ranks kept).

    Args:
        paths: Price levels, shape (n_paths, n_steps), n_steps <= len(scales).
        scales: Spread factor of each step.
    """
    log_paths = np.log(paths)
    medians = np.median(log_paths, axis=0)
    factors = scales[: paths.shape[1]]
    return np.exp(medians + factors * (log_paths - medians))


class CalibratedForecaster(Forecaster):
    """A base model whose paths are rescaled per trading step; see the module docstring.

    Subclasses are made by ``calibrated``; ``base`` is the wrapped model class. The base's
    parameters are the wrapper's too, plus the ``fit_*`` parameters of the backtest.

    ``fit`` sets ``base_`` (the fitted base model), ``scales_`` (one factor per step) and
    ``training_tags_["calibration"]`` (``calibrated`` or ``fallback``); the factors are
    in-sample metrics too (``spread_scale_step_01`` ...), so they are on the version's run.
    """

    base: ClassVar[type[Forecaster]]

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {**cls.base.default_params(), **FIT_PARAMS}

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {**cls.base.test_params(), **TEST_FIT_PARAMS}

    def _base_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.params.items() if k not in FIT_PARAMS}

    def _fit(self, known: MarketHistory) -> None:
        base = self.base(**self._base_params())
        self.base_ = base.fit(known, known.known_before or known.last_date)
        plan = backtest_plan(self.params)
        backtest = rolling_origin(lambda: self.base(**self._base_params()), known, plan)
        minimum = int(self.params["fit_min_origins"])
        if len(backtest) < minimum:
            self.scales_ = np.ones(plan.steps)
            self.training_tags_ = {
                "calibration": "fallback",
                "calibration_note": (
                    f"uncalibrated paths: {len(backtest)} realized backtest origins before "
                    f"{known.known_before}, fewer than fit_min_origins={minimum}"
                ),
            }
        else:
            self.scales_ = fit_spread_scales(backtest)
            self.training_tags_ = {
                "calibration": "calibrated",
                "calibration_note": (
                    f"spread scaled per step from {len(backtest)} backtest origins "
                    f"{backtest.origins[0]}..{backtest.origins[-1]}"
                ),
            }
        self.training_metrics_ = {
            **{f"base_{k}": v for k, v in self.base_.training_metrics_.items()},
            "calibration_origins": float(len(backtest)),
            **{f"spread_scale_step_{j + 1:02d}": float(s) for j, s in enumerate(self.scales_)},
        }

    def _sample_steps_batch(
        self,
        knowns: Sequence[MarketHistory],
        n_steps: Sequence[int],
        n_paths: int,
        rngs: Sequence[np.random.Generator],
    ) -> list[np.ndarray]:
        """The base model's steps, each date's paths rescaled on their own."""
        steps = self.base_._sample_steps_batch(knowns, n_steps, n_paths, rngs)
        if np.all(self.scales_ == 1.0):  # the fallback: the base paths, bit for bit
            return steps
        return [rescale_paths(paths, self._scales_for(paths.shape[1])) for paths in steps]

    def _scales_for(self, n_steps: int) -> np.ndarray:
        """The fitted factors, the last one held for steps past the fitted ones."""
        if n_steps <= self.scales_.size:
            return self.scales_
        return np.concatenate(
            [self.scales_, np.repeat(self.scales_[-1:], n_steps - self.scales_.size)]
        )


@functools.cache
def calibrated(base_name: str) -> type[CalibratedForecaster]:
    """The calibrated model class of the registered model ``base_name`` (one per name).

    It is reachable as ``forecast_core.models.calibration.Calibrated_<base_name>``, so
    pickles (and MLflow pyfunc models) refer to it by name.
    """
    from forecast_core.models.registry import get_model_class

    base = get_model_class(base_name)
    qualname = f"{CLASS_PREFIX}{base_name}"
    return type(
        qualname,
        (CalibratedForecaster,),
        {
            "__module__": __name__,
            "__qualname__": qualname,
            "__doc__": f"``{base_name}`` with calibrated spread per trading step.",
            "base": base,
            "name": f"{base.name}_cal",
            "display_name": f"{base.display_name}Cal",
            "min_history": base.min_history,
        },
    )


def __getattr__(name: str) -> type[CalibratedForecaster]:
    """``Calibrated_<model>``: the class of ``calibrated("<model>")`` (for the registry)."""
    if name.startswith(CLASS_PREFIX):
        return calibrated(name.removeprefix(CLASS_PREFIX))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
