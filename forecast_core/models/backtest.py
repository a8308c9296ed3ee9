"""Rolling-origin forecasts inside a training window: out-of-sample, realized before it.

Calibration and the ensemble weights are fitted from forecasts the model would have made
in the past, scored against what then happened, all inside the history known on the
training date T. The model is refitted at ``refits`` earlier training dates
T - j * ``refit_days`` (j = 1..refits), the way the pipeline retrains it, and each refit
forecasts the origins of its own slot, every ``origin_days`` calendar days, until the next
refit date. An origin is kept only if its whole horizon (``steps`` trading days after its
data cutoff) is in the known history, so every outcome is a price before T: a window's
fit never reads a row on or after its training date, and never another window's output.

Paths and outcomes are in trading steps (the j-th simulated step against the j-th close
after the cutoff), the unit a model simulates in: weekend days repeat a step and would
only duplicate it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from forecast_core.data.history import MarketHistory
from forecast_core.errors import DataError
from forecast_core.models.base import Forecaster

# The most trading steps a 14-calendar-day horizon can hold (two full weeks of weekdays).
HORIZON_STEPS = 10


@dataclass(frozen=True)
class Backtest:
    """Out-of-sample step forecasts and their outcomes.

    Attributes:
        origins: Forecast dates, ascending.
        paths: Price levels, shape (origins, n_paths, steps).
        outcomes: The closes that followed each origin's data cutoff, shape (origins, steps).
        skipped_refits: Refit dates whose model could not be fitted (too little history).
    """

    origins: tuple[dt.date, ...]
    paths: np.ndarray
    outcomes: np.ndarray
    skipped_refits: tuple[dt.date, ...]

    def __len__(self) -> int:
        return len(self.origins)


@dataclass(frozen=True)
class BacktestPlan:
    """Where and how densely to backtest (the ``fit_*`` parameters of a model)."""

    refits: int
    refit_days: int
    origin_days: int
    n_paths: int
    seed: int
    steps: int = HORIZON_STEPS


def rolling_origin(
    build: Callable[[], Forecaster], known: MarketHistory, plan: BacktestPlan
) -> Backtest:
    """Refit ``build()`` at earlier training dates and forecast the origins of each slot.

    Args:
        build: A new, unfitted model (the one being calibrated or weighted).
        known: The history known on the training date (``known_before`` is that date).
        plan: Refit dates, origin spacing, paths and seed.

    Returns:
        The realized origins of every refit that could be fitted (possibly none).
    """
    if known.known_before is None:
        raise DataError("a backtest needs a history cut off at its training date")
    training_date = known.known_before
    refit_dates = [
        training_date - dt.timedelta(days=j * plan.refit_days) for j in range(1, plan.refits + 1)
    ]
    origins: list[dt.date] = []
    paths: list[np.ndarray] = []
    outcomes: list[np.ndarray] = []
    skipped: list[dt.date] = []
    for refit_date in sorted(refit_dates):
        slot_end = refit_date + dt.timedelta(days=plan.refit_days)
        slot = _realized_origins(known, refit_date, slot_end, plan)
        if not slot:
            continue
        try:
            model = build().fit(known, refit_date)
        except DataError:
            skipped.append(refit_date)
            continue
        # The model's own simulation, as sample_paths_batch runs it, in trading steps.
        paths.extend(
            model._sample_steps_batch(
                [known.as_of(origin) for origin, _ in slot],
                [plan.steps] * len(slot),
                plan.n_paths,
                [np.random.default_rng([plan.seed, origin.toordinal()]) for origin, _ in slot],
            )
        )
        origins.extend(origin for origin, _ in slot)
        outcomes.extend(closes for _, closes in slot)
    return Backtest(
        origins=tuple(origins),
        paths=np.asarray(paths, dtype=np.float64).reshape(len(origins), plan.n_paths, plan.steps),
        outcomes=np.asarray(outcomes, dtype=np.float64).reshape(len(origins), plan.steps),
        skipped_refits=tuple(skipped),
    )


def _realized_origins(
    known: MarketHistory, first: dt.date, end: dt.date, plan: BacktestPlan
) -> list[tuple[dt.date, np.ndarray]]:
    """Origins in [first, end) every ``origin_days`` with all ``steps`` outcomes known."""
    found = []
    origin = first
    while origin < end:
        cutoff_known = known.as_of(origin)
        if len(cutoff_known):
            after = known.rows_after(cutoff_known.last_date)
            if len(after) >= plan.steps:
                found.append((origin, after.closes[: plan.steps]))
        origin += dt.timedelta(days=plan.origin_days)
    return found
