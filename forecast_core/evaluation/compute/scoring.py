"""Score forecasts: which can be scored, and one tidy row per forecast and horizon day.

A forecast is scored once its whole horizon is realized (a price on or after day 14
exists) and it is not flagged as leaking. The rest are left out and counted per reason.
A score row keeps the outcome, the reference price, the CRPS, the PIT value and the
quantiles every other metric is computed from (``aggregate``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast_core.crps import crps_samples
from forecast_core.data.history import MarketHistory
from forecast_core.evaluation.compute.metrics import (
    QUANTILE_LEVELS,
    pit_values,
    quantile_column,
    sample_quantiles,
)
from forecast_core.evaluation.compute.realized import last_known_price, realized_after_cutoff
from forecast_core.names import HORIZON_DAYS

QUANTILE_COLUMNS: tuple[str, ...] = tuple(quantile_column(level) for level in QUANTILE_LEVELS)
SCORE_COLUMNS: tuple[str, ...] = (
    "model_name",
    "forecast_start_date",
    "data_cutoff_date",
    "horizon_day",
    "realized",
    "last_known_price",
    "crps",
    "pit",
    *QUANTILE_COLUMNS,
)
# Why a forecast is not scored, in the order reports list them.
LEFT_OUT_REASONS: dict[str, str] = {
    "not_realized": "horizon not yet realized (no price on or after day 14)",
    "leakage_flagged": "flagged has_data_leakage in the table",
    "cutoff_not_in_data": "no price on its data cutoff in the data (reference unknown)",
}
LEFT_OUT_COLUMNS: tuple[str, ...] = ("model_name", "reason", "n_forecasts")


@dataclass(frozen=True)
class Outcome:
    """What happened after one forecast's data cutoff.

    Attributes:
        realized: ``HORIZON_DAYS`` outcomes, NaN for days with no price after the cutoff yet.
        last_known_price: The close on the data cutoff (the reference for direction).
    """

    realized: np.ndarray
    last_known_price: float


@dataclass(frozen=True)
class Triage:
    """The forecasts of an index split into those to score and those left out.

    Attributes:
        outcomes: ``(model_name, forecast_start_date) -> Outcome`` of every forecast to score.
        left_out: Counts in tidy form (``LEFT_OUT_COLUMNS``), one row per model and reason.
    """

    outcomes: dict[tuple[str, dt.date], Outcome]
    left_out: pd.DataFrame

    def dates_to_score(self, model_name: str) -> list[dt.date]:
        """The forecast dates of ``model_name`` to score, sorted."""
        return sorted(day for name, day in self.outcomes if name == model_name)


def triage_forecasts(index: pd.DataFrame, history: MarketHistory) -> Triage:
    """Decide which forecasts of ``index`` can be scored, and read their outcomes.

    Args:
        index: One row per forecast (``reading.INDEX_COLUMNS``).
        history: The commodity's price history; only prices after each forecast's data
            cutoff are read as outcomes.

    Returns:
        The outcomes to score and the counts left out per model and reason (every model of
        the index appears, with zero counts where nothing was left out).
    """
    outcomes: dict[tuple[str, dt.date], Outcome] = {}
    # Every model shares the outcome of a (date, cutoff): read it once.
    known: dict[tuple[dt.date, dt.date], Outcome | str] = {}
    counts = {
        (name, reason): 0 for name in index["model_name"].unique() for reason in LEFT_OUT_REASONS
    }
    for row in index.itertuples(index=False):
        if row.has_data_leakage:
            counts[(row.model_name, "leakage_flagged")] += 1
            continue
        key = (row.forecast_start_date, row.data_cutoff_date)
        if key not in known:
            known[key] = _outcome(history, *key)
        outcome = known[key]
        if isinstance(outcome, str):
            counts[(row.model_name, outcome)] += 1
            continue
        outcomes[(row.model_name, row.forecast_start_date)] = outcome
    left_out = pd.DataFrame(
        [(name, reason, n) for (name, reason), n in counts.items()], columns=list(LEFT_OUT_COLUMNS)
    )
    return Triage(outcomes, left_out.astype({"n_forecasts": np.int64}))


def _outcome(history: MarketHistory, forecast_date: dt.date, data_cutoff: dt.date) -> Outcome | str:
    """The outcome of one forecast, or the ``LEFT_OUT_REASONS`` key saying why there is none."""
    realized = realized_after_cutoff(history, forecast_date, data_cutoff)
    if realized is None:
        return "not_realized"
    reference = last_known_price(history, data_cutoff)
    if reference is None:
        return "cutoff_not_in_data"
    return Outcome(realized, reference)


def score_forecast(
    model_name: str,
    forecast_date: dt.date,
    data_cutoff: dt.date,
    paths: np.ndarray,
    outcome: Outcome,
) -> pd.DataFrame:
    """Score one forecast's paths on every horizon day that has an outcome.

    Args:
        model_name: The model.
        forecast_date: Day 1 of the forecast.
        data_cutoff: The forecast's data cutoff.
        paths: Sample paths, shape (n_paths, HORIZON_DAYS).
        outcome: What happened after the cutoff.

    Returns:
        One row per scored horizon day (``SCORE_COLUMNS``); days without an outcome yet
        are absent.

    Raises:
        ValueError: ``paths`` is not (n_paths, HORIZON_DAYS).
    """
    if paths.ndim != 2 or paths.shape[1] != HORIZON_DAYS or paths.shape[0] < 1:
        raise ValueError(
            f"paths of the {model_name} forecast for {forecast_date} have shape "
            f"{paths.shape}; expected (n_paths, {HORIZON_DAYS})"
        )
    scored = ~np.isnan(outcome.realized)
    observed = outcome.realized[scored]
    samples = paths[:, scored]
    quantiles = sample_quantiles(samples, QUANTILE_LEVELS, sample_axis=0)
    n_days = int(scored.sum())
    frame = pd.DataFrame(
        {
            "model_name": [model_name] * n_days,
            "forecast_start_date": [forecast_date] * n_days,
            "data_cutoff_date": [data_cutoff] * n_days,
            "horizon_day": (np.flatnonzero(scored) + 1).astype(np.int32),
            "realized": observed,
            "last_known_price": np.full(n_days, outcome.last_known_price),
            "crps": crps_samples(observed, samples, sample_axis=0),
            "pit": pit_values(observed, samples, sample_axis=0),
            **{column: quantiles[i] for i, column in enumerate(QUANTILE_COLUMNS)},
        }
    )
    return frame


def empty_scores() -> pd.DataFrame:
    """A score frame with no rows and the ``SCORE_COLUMNS``."""
    return pd.DataFrame(
        {
            column: pd.Series(
                dtype=object
                if column in ("model_name", "forecast_start_date", "data_cutoff_date")
                else np.float64
            )
            for column in SCORE_COLUMNS
        }
    ).astype({"horizon_day": np.int32})
