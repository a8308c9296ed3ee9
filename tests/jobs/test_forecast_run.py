"""The use case of ``daily`` and ``backfill``, called without the command line.

What it returns (each commodity's outcome) and what it reports as it goes, in order; the
commands' output and exit codes are tested through the CLI (test_daily, test_backfill...).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from forecast_core.cadence import Cadence
from forecast_core.config import StoreConfig
from forecast_core.errors import ForecastCoreError
from forecast_core.pipeline import RunSummary
from jobs.context import CommandStores
from jobs.forecast_run import ForecastRequest, run_forecasts

DAY = dt.date(2024, 7, 15)


class RecordingReporter:
    """A ``RunReporter`` keeping what it is told, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def line(self, text: str) -> None:
        self.events.append(("line", text))

    def start(self, total_forecasts: int) -> None:
        self.events.append(("start", total_forecasts))

    def advance(self, forecasts: int) -> None:
        self.events.append(("advance", forecasts))

    def stopped(self, error: ForecastCoreError) -> None:
        self.events.append(("stopped", str(error)))

    def finished(self, summary: RunSummary) -> None:
        self.events.append(("finished", summary))

    def lines(self) -> list[str]:
        return [str(value) for kind, value in self.events if kind == "line"]


def _request(home: Path, commodities: tuple[str, ...], **changes: object) -> ForecastRequest:
    request = ForecastRequest(
        commodities=commodities,
        models=("naive",),
        cadence=Cadence("weekly"),
        model_version="v1",
        n_paths=20,
        seed=42,
        max_staleness_days=7,
        flush_rows=100_000,
        use_pins=False,
        data=None,
        start=DAY,
        end=DAY,
        run_identity={"command": "test"},
        home=home,
    )
    return dataclasses.replace(request, **changes)


def test_a_shard_owning_no_window_has_nothing_to_do_and_reports_nothing(tmp_path):
    home = tmp_path / "home"
    stores = CommandStores(StoreConfig.embedded(home))
    reporter = RecordingReporter()
    # One date, two commodities: two windows, so the third shard owns none.
    request = _request(home, ("coffee", "sugar"), shard_index=2, shard_count=3)

    result = run_forecasts(request, stores, reporter)

    assert result.nothing_to_do
    assert result.failed == result.refused == {}
    assert reporter.events == []
    assert not stores.registry_opened


@pytest.fixture
def stale_cocoa(tmp_path: Path, sample_dataset) -> Path:
    """The sample to 2024-07-12, cocoa's prices stopping on 2024-06-28 (17 days stale)."""
    prices = sample_dataset.prices
    stale = (prices["commodity"] == "cocoa") & (prices["date"] > "2024-06-28")
    folder = tmp_path / "data"
    folder.mkdir()
    prices[~stale & (prices["date"] < "2024-07-13")].to_csv(folder / "prices.csv", index=False)
    sample_dataset.weather.to_csv(folder / "weather.csv", index=False)
    return folder


@pytest.mark.slow
def test_a_refused_commodity_is_an_outcome_beside_the_ones_that_ran(tmp_path, spark, stale_cocoa):
    home = tmp_path / "home"
    stores = CommandStores(StoreConfig.embedded(home))
    reporter = RecordingReporter()

    result = run_forecasts(
        _request(home, ("cocoa", "coffee"), data=str(stale_cocoa)), stores, reporter
    )

    cocoa, coffee = result.outcomes
    assert (cocoa.commodity, cocoa.refused, cocoa.summary) == ("cocoa", True, None)
    assert cocoa.error is not None and cocoa.error.startswith("forecast date 2024-07-15 is 17")
    assert (coffee.commodity, coffee.refused, coffee.error) == ("coffee", False, None)
    assert coffee.summary is not None and coffee.summary.generated == 1
    assert result.failed == result.refused == {"cocoa": cocoa.error}
    # In the order of the run: the refusal, then coffee's header, its work, its end.
    lines = reporter.lines()
    assert lines[0] == f"cocoa: FAILED before the run: {cocoa.error}"
    assert lines[1].startswith("coffee: models naive; cadence weekly; version v1; ")
    assert reporter.events[-2] == ("finished", coffee.summary)
    assert lines[-1].startswith("coffee champion: none yet")
