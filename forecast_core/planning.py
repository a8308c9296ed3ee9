"""Plan a sharded backfill: the (commodity, window) units and what each shard writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from forecast_core.cadence import Cadence, TrainingWindow
from forecast_core.errors import ConfigError


@dataclass(frozen=True)
class WorkUnit:
    """The sharding unit: one commodity's cadence window (a training date and its dates)."""

    commodity: str
    window: TrainingWindow


@dataclass(frozen=True)
class BackfillPlan:
    """The work of a backfill over [start, end], split into ``shard_count`` shards.

    A shard owns whole (commodity, window) units, so shards never depend on each other and
    never train the same model. ``useful_shards`` is the number of shards that own a unit:
    size a Kubernetes Indexed Job's ``completions`` with it.
    """

    cadence: Cadence
    start: dt.date
    end: dt.date
    shard_count: int
    n_models: int
    commodities: tuple[str, ...]
    windows: tuple[TrainingWindow, ...]
    shards: tuple[tuple[WorkUnit, ...], ...]

    @property
    def useful_shards(self) -> int:
        """Shards that own at least one unit."""
        return sum(1 for shard in self.shards if shard)

    def forecasts_in(self, units: Sequence[WorkUnit]) -> int:
        """(model, date) forecasts the given units produce."""
        return sum(u.window.n_forecast_dates for u in units) * self.n_models

    def shard(self, shard_index: int) -> tuple[WorkUnit, ...]:
        """The units of one shard.

        Raises:
            ConfigError: ``shard_index`` is not in ``[0, shard_count)``; names both values.
        """
        if (
            not isinstance(shard_index, int)
            or isinstance(shard_index, bool)
            or not 0 <= shard_index < self.shard_count
        ):
            raise ConfigError(
                f"shard index {shard_index!r} is not in [0, {self.shard_count}); expected an "
                f"integer from 0 to {self.shard_count - 1} for shard count {self.shard_count}"
            )
        return self.shards[shard_index]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (the ``forecast plan --json`` format)."""
        units = [u for shard in self.shards for u in shard]
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "train_frequency": self.cadence.frequency,
            "anchor": self.cadence.anchor.isoformat(),
            "commodities": list(self.commodities),
            "shard_count": self.shard_count,
            "useful_shards": self.useful_shards,
            "models": self.n_models,
            "training_dates": [w.training_date.isoformat() for w in self.windows],
            "forecasts": self.forecasts_in(units),
            "shards": [
                {
                    "shard_index": index,
                    "windows": [_unit_dict(u) for u in shard],
                    "forecast_dates": sum(u.window.n_forecast_dates for u in shard),
                    "forecasts": self.forecasts_in(shard),
                }
                for index, shard in enumerate(self.shards)
            ],
        }


def plan_backfill(
    cadence: Cadence,
    start: dt.date,
    end: dt.date,
    shard_count: int,
    n_models: int,
    commodities: Sequence[str] = ("coffee",),
) -> BackfillPlan:
    """The (commodity, window) units of [start, end], balanced over shards."""
    windows = tuple(cadence.windows(start, end))
    units = [WorkUnit(commodity, window) for commodity in commodities for window in windows]
    shards = tuple(tuple(shard) for shard in assign_units(units, shard_count))
    return BackfillPlan(
        cadence, start, end, shard_count, n_models, tuple(commodities), windows, shards
    )


def assign_units(units: Sequence[WorkUnit], shard_count: int) -> list[list[WorkUnit]]:
    """Balance units over ``shard_count`` shards by forecast count (largest first).

    Each unit, largest window first (ties in input order), goes to the shard with the
    fewest forecast dates so far (ties to the lowest index): equal windows are dealt round
    robin, so neighbouring windows of similar cost land on different shards. Every shard
    computes the same split from the same options. A shard's units keep input order.

    Raises:
        ConfigError: ``shard_count`` is not an integer of at least 1.
    """
    if not isinstance(shard_count, int) or isinstance(shard_count, bool) or shard_count < 1:
        raise ConfigError(f"shard count {shard_count!r} is not valid; expected an integer >= 1")
    loads = [0] * shard_count
    owner: dict[int, int] = {}
    by_size = sorted(range(len(units)), key=lambda i: -units[i].window.n_forecast_dates)
    for position in by_size:
        shard = min(range(shard_count), key=lambda s: (loads[s], s))
        owner[position] = shard
        loads[shard] += units[position].window.n_forecast_dates
    return [
        [unit for position, unit in enumerate(units) if owner[position] == shard]
        for shard in range(shard_count)
    ]


def _unit_dict(unit: WorkUnit) -> dict[str, Any]:
    window = unit.window
    return {
        "commodity": unit.commodity,
        "training_date": window.training_date.isoformat(),
        "first_forecast_date": window.first_forecast_date.isoformat(),
        "last_forecast_date": window.last_forecast_date.isoformat(),
        "forecast_dates": window.n_forecast_dates,
    }
