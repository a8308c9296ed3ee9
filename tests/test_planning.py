"""Backfill plans: (commodity, window) units balanced over shards by forecast count."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecast_core.cadence import Cadence, TrainingWindow
from forecast_core.errors import ConfigError
from forecast_core.planning import WorkUnit, assign_units, plan_backfill

D = dt.date


def _daily_units(n_windows: int, commodity: str = "coffee") -> list[WorkUnit]:
    first_day = D(2024, 1, 1)
    return [
        WorkUnit(commodity, TrainingWindow(day, day, day))
        for day in (first_day + dt.timedelta(days=offset) for offset in range(n_windows))
    ]


def test_equal_units_are_dealt_round_robin() -> None:
    units = _daily_units(7)
    assert assign_units(units, 3) == [
        [units[0], units[3], units[6]],
        [units[1], units[4]],
        [units[2], units[5]],
    ]


def test_commodities_times_windows_are_balanced_by_forecast_count() -> None:
    # Monthly windows of Q1 2024 from Jan 15: 17, 29 and 31 dates, for three commodities.
    plan = plan_backfill(
        Cadence("monthly"), D(2024, 1, 15), D(2024, 3, 31), 3, 4, ("coffee", "sugar", "cocoa")
    )
    units = [u for shard in plan.shards for u in shard]
    assert sorted((u.commodity, u.window.training_date) for u in units) == sorted(
        (c, w.training_date) for c in ("coffee", "sugar", "cocoa") for w in plan.windows
    )
    loads = [sum(u.window.n_forecast_dates for u in shard) for shard in plan.shards]
    assert loads == [77, 77, 77]
    assert plan.to_dict()["forecasts"] == 3 * 77 * 4
    assert {w["commodity"] for s in plan.to_dict()["shards"] for w in s["windows"]} == {
        "coffee",
        "sugar",
        "cocoa",
    }


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=60), max_size=40),
    shard_count=st.integers(min_value=1, max_value=12),
)
def test_any_split_is_a_partition_within_one_unit_of_balance(
    sizes: list[int], shard_count: int
) -> None:
    start = D(2024, 1, 1)
    units = [
        WorkUnit(f"c{i}", TrainingWindow(start, start, start + dt.timedelta(days=size - 1)))
        for i, size in enumerate(sizes)
    ]
    shards = assign_units(units, shard_count)
    assert len(shards) == shard_count
    assert sorted((u for s in shards for u in s), key=units.index) == units
    loads = [sum(u.window.n_forecast_dates for u in shard) for shard in shards]
    # Largest-first greedy: no shard exceeds another by more than the largest unit.
    assert max(loads) - min(loads) <= max(sizes, default=0)


@pytest.mark.parametrize("shard_count", [0, -1], ids=["zero", "negative"])
def test_a_bad_shard_count_is_refused(shard_count: int) -> None:
    with pytest.raises(ConfigError, match=rf"shard count {shard_count} .*>= 1"):
        assign_units(_daily_units(3), shard_count)


@pytest.mark.parametrize(("shard_index", "shard_count"), [(3, 3), (7, 3), (-1, 3)])
def test_a_shard_index_outside_the_count_is_refused(shard_index: int, shard_count: int) -> None:
    plan = plan_backfill(Cadence("monthly"), D(2024, 1, 1), D(2024, 3, 31), shard_count, 1)
    with pytest.raises(ConfigError) as raised:
        plan.shard(shard_index)
    assert f"shard index {shard_index}" in str(raised.value)
    assert f"shard count {shard_count}" in str(raised.value)
