"""Calibrated models: a registered model's paths, volatility-targeted and rescaled per level.

``calibrated("xgboost")`` is the model ``xgboost_cal``: it fits the base model, then fits
spread factors from rolling-origin forecasts inside the training window (``backtest``),
and samples the base model's paths with every path's log price moved away from (or
towards) the median path m_j of step j in two stages:

1. **Volatility target**: by r = sigma_recent / sigma_model, the same for every step and
   path of a forecast. sigma_recent is the exponentially weighted (RiskMetrics, decay
   0.94) volatility of the daily log returns before the forecast date; sigma_model is the
   spread of the paths' first step. It follows volatility regimes, which a factor fixed at
   training time cannot.
2. **Level factors**: s_kj for the central-interval levels 0.5, 0.8 and 0.95 (``LEVELS``)
   at step j. Each side of the median is mapped piecewise-linearly through the forecast's
   own level-k deviations D_kj -> s_kj D_kj, proportionally inside the first level and
   beyond the last, so the tails can widen more than the centre:

    log p'_ij = m_j + g_j(r (log p_ij - m_j)).

Each s_kj is the factor under which the backtest's central intervals of level k hold
their nominal share of outcomes, then smoothed over neighbouring steps. g_j is strictly
increasing (a factor falling faster than the deviations grow is raised just enough), so a
path is moved as a whole, the order of the paths is kept at every step and weekend days
still repeat the Friday step. See docs/calibration.md for the choice.

Too little history for ``fit_min_origins`` realized origins: the base paths bit for bit,
with ``training_tags_["calibration"] = "fallback"`` and the reason.

Adding calibration to a model is one line in ``forecast_core.names.MODELS``:
``"<model>_cal": "forecast_core.models.calibration:Calibrated_<model>"``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np

from forecast_core.data.history import MarketHistory
from forecast_core.errors import ModelError
from forecast_core.models.backtest import Backtest, BacktestPlan, rolling_origin
from forecast_core.models.base import Forecaster
from forecast_core.models.state import FittedState

CLASS_PREFIX = "Calibrated_"
# Spread factors tried: 0.25x .. 4x in steps of about 1.7%.
SCALE_GRID = np.geomspace(0.25, 4.0, 169)
# The central-interval levels that get their own factor.
LEVELS = np.array([0.5, 0.8, 0.95])
# RiskMetrics' daily decay, over the last year of returns.
EWMA_DECAY = 0.94
EWMA_RETURNS = 250
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


def recent_volatility(closes: np.ndarray) -> float:
    """Exponentially weighted volatility of the daily log returns of ``closes`` (newest last)."""
    returns = np.diff(np.log(closes[-(EWMA_RETURNS + 1) :]))
    weights = EWMA_DECAY ** np.arange(returns.size)[::-1]
    return float(np.sqrt((weights * returns**2).sum() / weights.sum()))


def volatility_ratio(known: MarketHistory, paths: np.ndarray) -> float:
    """sigma_recent / sigma_model for one forecast: the history before it and its step paths.

    1.0 when either spread is zero (a flat history, or a model without spread): nothing to
    target.
    """
    model = float(np.std(np.log(paths[:, 0] / known.last_close)))
    recent = recent_volatility(known.closes)
    if model <= 0.0 or recent <= 0.0 or not np.isfinite(recent / model):
        return 1.0
    return recent / model


def fit_level_scales(backtest: Backtest, ratios: np.ndarray) -> np.ndarray:
    """The factors s_kj, from out-of-sample paths (targeted by ``ratios``) and outcomes.

    For a factor s the outcome's PIT among the rescaled paths is the share of base paths
    below m + (log y - m) / (r s), so every s on ``SCALE_GRID`` is scored without
    rescaling. Of the factors whose coverage of level k is nearest to k, the geometric
    middle is taken (coverage moves in steps of one origin: the first would lean narrow).

    Returns:
        A float64 array, shape (len(LEVELS), backtest.paths.shape[2]).
    """
    log_paths = np.log(backtest.paths)
    medians = np.median(log_paths, axis=1)
    log_outcomes = np.log(backtest.outcomes)
    n_origins, n_paths, n_steps = log_paths.shape
    scales = np.empty((LEVELS.size, n_steps))
    for step in range(n_steps):
        ordered = np.sort(log_paths[:, :, step], axis=1)
        pit = np.empty((n_origins, SCALE_GRID.size))
        for origin in range(n_origins):
            centre = medians[origin, step]
            deviation = (log_outcomes[origin, step] - centre) / ratios[origin]
            thresholds = centre + deviation / SCALE_GRID
            below = np.searchsorted(ordered[origin], thresholds, side="left")
            at_or_below = np.searchsorted(ordered[origin], thresholds, side="right")
            pit[origin] = (below + at_or_below) / (2.0 * n_paths)  # ties count half
        central = np.abs(2.0 * pit - 1.0)
        for k, level in enumerate(LEVELS):
            error = np.abs((central <= level).mean(axis=0) - level)
            nearest = np.flatnonzero(error <= error.min() + 1e-12)
            scales[k, step] = np.sqrt(SCALE_GRID[nearest[0]] * SCALE_GRID[nearest[-1]])
    return np.array([smooth(row) for row in scales])


def smooth(scales: np.ndarray) -> np.ndarray:
    """A centred three-step mean of the log factors (two at the ends): no step jumps alone."""
    logs = np.log(scales)
    padded = np.concatenate([logs[:1], logs, logs[-1:]])
    return np.exp((padded[:-2] + padded[1:-1] + padded[2:]) / 3.0)


def held_to(scales: np.ndarray, n_steps: int) -> np.ndarray:
    """``scales`` (levels, steps) with the last step's factors held up to ``n_steps``."""
    missing = n_steps - scales.shape[1]
    if missing <= 0:
        return scales
    return np.concatenate([scales, np.repeat(scales[:, -1:], missing, axis=1)], axis=1)


def rescale_paths(paths: np.ndarray, ratio: float, scales: np.ndarray) -> np.ndarray:
    """Move every path's log price from the median by ``ratio`` and the level factors.

    At each step the deviation d from the median is mapped piecewise-linearly on each side
    through the forecast's own level-k deviations D_k -> s_k D_k (``level_anchors``), and
    proportionally (d s_k) inside the first level and beyond the last, so the map is
    strictly increasing: the order of the paths is kept.

    Args:
        paths: Price levels, shape (n_paths, n_steps), n_steps <= scales.shape[1].
        ratio: The forecast's volatility target (``volatility_ratio``).
        scales: The factors s_kj, shape (len(LEVELS), n_steps or more).

    Returns:
        The moved paths: the same median path, the same order at every step.
    """
    log_paths = np.log(paths)
    medians = np.median(log_paths, axis=0)
    deviations = (log_paths - medians) * ratio
    moved = np.empty_like(deviations)
    for step in range(paths.shape[1]):
        column = deviations[:, step]
        anchors, targets, outer = level_anchors(column, scales[:, step])
        beyond = (column < anchors[0]) | (column > anchors[-1])
        moved[:, step] = np.where(beyond, column * outer, np.interp(column, anchors, targets))
    return np.exp(medians + moved)


def level_anchors(
    deviations: np.ndarray, scales: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """The knots of one step's map: the level-k deviations on each side and their images.

    A factor that falls faster than the deviations grow would reverse the order between
    two levels; it is raised just enough to keep the map increasing.

    Args:
        deviations: One step's log deviations from the median, one per path.
        scales: The step's factor of each level in ``LEVELS``.

    Returns:
        The knots (ascending), their images, and the factor beyond the outermost knots.
    """
    upper = np.quantile(deviations, (1.0 + LEVELS) / 2.0)
    lower = -np.quantile(deviations, (1.0 - LEVELS) / 2.0)
    factors = scales.copy()
    for side in (upper, lower):
        for k in range(1, LEVELS.size):
            if side[k] > side[k - 1] > 0.0:
                factors[k] = max(factors[k], factors[k - 1] * side[k - 1] / side[k] * 1.01)
    anchors = np.concatenate([-lower[::-1], [0.0], upper])
    targets = np.concatenate([-(lower * factors)[::-1], [0.0], upper * factors])
    if np.any(np.diff(anchors) <= 0.0):  # a degenerate spread: one factor for every path
        return np.array([-1.0, 0.0, 1.0]), np.array([-scales[0], 0.0, scales[0]]), scales[0]
    return anchors, targets, float(factors[-1])


class CalibratedForecaster(Forecaster):
    """A base model whose paths are volatility-targeted and rescaled per level and step.

    Subclasses are made by ``calibrated``; ``base`` is the wrapped model class. The base's
    parameters are the wrapper's too, plus the ``fit_*`` parameters of the backtest.

    ``fit`` sets ``base_`` (the fitted base model), ``scales_`` (the factors s_kj, or
    ``None`` in the fallback) and ``training_tags_["calibration"]`` (``calibrated`` or
    ``fallback``); the factors are in-sample metrics too (``spread_scale_q80_step_01``
    ...), so they are on the version's run. Its state (``to_state``) is the factors and
    the base model's state (the part ``base``).
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
        self.scales_: np.ndarray | None = None
        if len(backtest) < minimum:
            self.training_tags_ = {
                "calibration": "fallback",
                "calibration_note": (
                    f"uncalibrated paths: {len(backtest)} realized backtest origins before "
                    f"{known.known_before}, fewer than fit_min_origins={minimum}"
                ),
            }
        else:
            ratios = np.array(
                [
                    volatility_ratio(known.as_of(origin), paths)
                    for origin, paths in zip(backtest.origins, backtest.paths, strict=True)
                ]
            )
            self.scales_ = fit_level_scales(backtest, ratios)
            self.training_tags_ = {
                "calibration": "calibrated",
                "calibration_note": (
                    f"volatility-targeted, spread scaled per level and step from "
                    f"{len(backtest)} backtest origins "
                    f"{backtest.origins[0]}..{backtest.origins[-1]}"
                ),
            }
            self._fit_on_backtest(known, backtest, ratios)
        self.training_metrics_ = {
            **{f"base_{k}": v for k, v in self.base_.training_metrics_.items()},
            "calibration_origins": float(len(backtest)),
            **self._scale_metrics(),
        }

    def _fit_on_backtest(
        self, known: MarketHistory, backtest: Backtest, ratios: np.ndarray
    ) -> None:
        """What a subclass fits from the backtest once ``scales_`` is set (nothing here)."""

    def _scale_metrics(self) -> dict[str, float]:
        """``spread_scale_q<level>_step_<j>``: the fitted factors (none in the fallback)."""
        if self.scales_ is None:
            return {}
        return {
            f"spread_scale_q{round(level * 100)}_step_{j + 1:02d}": float(scale)
            for level, row in zip(LEVELS, self.scales_, strict=True)
            for j, scale in enumerate(row)
        }

    def _fitted_state(self) -> FittedState:
        arrays = {} if self.scales_ is None else {"scales": self.scales_}
        return FittedState(arrays=arrays, parts={"base": self.base_.to_state()})

    def _restore_fitted(self, fitted: FittedState) -> None:
        self.base_ = self.base.from_state(fitted.parts["base"])
        self.scales_ = fitted.arrays.get("scales")

    def _sample_steps_batch(
        self,
        knowns: Sequence[MarketHistory],
        n_steps: Sequence[int],
        n_paths: int,
        rngs: Sequence[np.random.Generator],
    ) -> list[np.ndarray]:
        """The base model's steps, each date's paths rescaled on their own."""
        if self.scales_ is not None and self.scales_.ndim != 2:
            raise ModelError(
                f"model {self.name!r} trained on {self.training_date_} has one spread factor "
                "per step (calibration before volatility targets); expected factors per "
                "level: train it again under a new --model-version"
            )
        steps = self.base_._sample_steps_batch(knowns, n_steps, n_paths, rngs)
        if self.scales_ is None:  # the fallback: the base paths, bit for bit
            return steps
        return [
            rescale_paths(paths, volatility_ratio(known, paths), held_to(scales, paths.shape[1]))
            for known, paths, scales in zip(knowns, steps, self._level_scales(knowns), strict=True)
        ]

    def _level_scales(self, knowns: Sequence[MarketHistory]) -> list[np.ndarray]:
        """The factors s_kj of each forecast (ascending dates): the fitted ones for all."""
        assert self.scales_ is not None  # only sampled when calibrated
        return [self.scales_] * len(knowns)


Wrapper = TypeVar("Wrapper", bound=CalibratedForecaster)


def wrapper_class(
    parent: type[Wrapper],
    module: str,
    prefix: str,
    base_name: str,
    suffixes: tuple[str, str],
    doc: str,
) -> type[Wrapper]:
    """The class ``<prefix><base_name>`` of ``module``: ``parent`` over the registered model.

    Named so in ``module`` that saved states (by model name) and versions pickled by 0.2.0
    and before (by class name) find it. Its
    name and display name are the base's plus ``suffixes`` (``("_cal", "Cal")``).
    """
    from forecast_core.models.registry import get_model_class

    base = get_model_class(base_name)
    qualname = f"{prefix}{base_name}"
    return type(
        qualname,
        (parent,),
        {
            "__module__": module,
            "__qualname__": qualname,
            "__doc__": doc,
            "base": base,
            "name": f"{base.name}{suffixes[0]}",
            "display_name": f"{base.display_name}{suffixes[1]}",
            "min_history": base.min_history,
        },
    )


@functools.cache
def calibrated(base_name: str) -> type[CalibratedForecaster]:
    """The calibrated model class of the registered model ``base_name`` (one per name).

    It is reachable as ``forecast_core.models.calibration.Calibrated_<base_name>``.
    """
    doc = f"``{base_name}`` with volatility-targeted spread, calibrated per level."
    suffixes = ("_cal", "Cal")
    return wrapper_class(CalibratedForecaster, __name__, CLASS_PREFIX, base_name, suffixes, doc)


def __getattr__(name: str) -> type[CalibratedForecaster]:
    """``Calibrated_<model>``: the class of ``calibrated("<model>")`` (for the registry)."""
    if name.startswith(CLASS_PREFIX):
        return calibrated(name.removeprefix(CLASS_PREFIX))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
