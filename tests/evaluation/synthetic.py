"""Synthetic histories and forecasts for evaluation tests (no Spark, no MLflow)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from forecast_core.data.history import MarketHistory
from forecast_core.evaluation.storage.reading import INDEX_COLUMNS
from forecast_core.names import HORIZON_DAYS

FIRST_DAY = dt.date(2024, 1, 1)
LAST_DAY = dt.date(2024, 3, 29)  # a Friday


def weekday_history(
    first: dt.date = FIRST_DAY, last: dt.date = LAST_DAY, seed: int = 0
) -> MarketHistory:
    """Closes on every weekday of [first, last]: a random walk around 100."""
    dates = pd.bdate_range(first, last)
    closes = 100.0 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, len(dates))))
    return history_of_closes("coffee", dates, closes)


def history_of_closes(commodity: str, dates: pd.DatetimeIndex, closes: np.ndarray) -> MarketHistory:
    """A market history whose open, high, low and close are all ``closes``."""
    frame = pd.DataFrame(
        {
            "date": dates.astype("datetime64[ns]"),
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
        }
    )
    return MarketHistory(commodity, frame)


def cutoff_of(history: MarketHistory, forecast_date: dt.date) -> dt.date:
    """The last trading day before ``forecast_date`` (what the pipeline records)."""
    return history.as_of(forecast_date).last_date


def normal_paths(center: float, n_paths: int, seed: int, scale: float = 2.0) -> np.ndarray:
    """(n_paths, HORIZON_DAYS) paths spread around ``center``, wider with the horizon."""
    rng = np.random.default_rng(seed)
    spread = scale * np.sqrt(np.arange(1, HORIZON_DAYS + 1))
    return center + rng.normal(size=(n_paths, HORIZON_DAYS)) * spread


class InMemoryForecasts:
    """Forecasts held in memory: an index frame and a path reader like the table's."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.paths: dict[tuple[str, dt.date], np.ndarray] = {}

    def add(
        self,
        model_name: str,
        forecast_date: dt.date,
        data_cutoff: dt.date,
        paths: np.ndarray,
        leakage: bool = False,
    ) -> None:
        """Hold one forecast."""
        self.rows.append(
            {
                "model_name": model_name,
                "forecast_start_date": forecast_date,
                "data_cutoff_date": data_cutoff,
                "training_date": FIRST_DAY,
                "model_uri": f"models:/coffee_{model_name}/1",
                "has_data_leakage": leakage,
                "n_paths": paths.shape[0],
            }
        )
        self.paths[(model_name, forecast_date)] = paths

    @property
    def index(self) -> pd.DataFrame:
        """The forecasts as ``reading.INDEX_COLUMNS`` rows."""
        return pd.DataFrame(self.rows, columns=list(INDEX_COLUMNS))

    def read(
        self, model_name: str, dates: Sequence[dt.date]
    ) -> Iterable[tuple[dt.date, np.ndarray]]:
        """The paths of ``model_name`` for ``dates``, in date order."""
        for day in sorted(dates):
            if (model_name, day) in self.paths:
                yield day, self.paths[(model_name, day)]
