"""Plan a sharded backfill: training dates, windows, and what each shard writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from forecast_core.cadence import Cadence, TrainingWindow, assign_shards


@dataclass(frozen=True)
class BackfillPlan:
    """The work of a backfill over [start, end], split into ``shard_count`` shards.

    A shard owns whole cadence windows, so shards never depend on each other and never
    train the same model. ``useful_shards`` is the number of shards that own a window:
    size a Kubernetes Indexed Job's ``completions`` with it.
    """

    cadence: Cadence
    start: dt.date
    end: dt.date
    shard_count: int
    n_models: int
    windows: tuple[TrainingWindow, ...]
    shards: tuple[tuple[TrainingWindow, ...], ...]

    @property
    def useful_shards(self) -> int:
        """Shards that own at least one window."""
        return sum(1 for shard in self.shards if shard)

    def forecasts_in(self, windows: tuple[TrainingWindow, ...]) -> int:
        """(model, date) forecasts the given windows produce."""
        return sum(w.n_forecast_dates for w in windows) * self.n_models

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (the ``forecast plan --json`` format)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "train_frequency": self.cadence.frequency,
            "anchor": self.cadence.anchor.isoformat(),
            "shard_count": self.shard_count,
            "useful_shards": self.useful_shards,
            "models": self.n_models,
            "training_dates": [w.training_date.isoformat() for w in self.windows],
            "forecasts": self.forecasts_in(self.windows),
            "shards": [
                {
                    "shard_index": index,
                    "windows": [_window_dict(w) for w in shard],
                    "forecast_dates": sum(w.n_forecast_dates for w in shard),
                    "forecasts": self.forecasts_in(shard),
                }
                for index, shard in enumerate(self.shards)
            ],
        }


def plan_backfill(
    cadence: Cadence, start: dt.date, end: dt.date, shard_count: int, n_models: int
) -> BackfillPlan:
    """The windows of [start, end] and their round-robin assignment to shards."""
    windows = tuple(cadence.windows(start, end))
    shards = tuple(tuple(shard) for shard in assign_shards(windows, shard_count))
    return BackfillPlan(cadence, start, end, shard_count, n_models, windows, shards)


def _window_dict(window: TrainingWindow) -> dict[str, Any]:
    return {
        "training_date": window.training_date.isoformat(),
        "first_forecast_date": window.first_forecast_date.isoformat(),
        "last_forecast_date": window.last_forecast_date.isoformat(),
        "forecast_dates": window.n_forecast_dates,
    }
