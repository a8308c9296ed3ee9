"""The pipeline's decisions, on in-memory stores: no Spark, no MLflow, fractions of a second."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecast_core.cadence import Cadence
from forecast_core.config import RunConfig
from forecast_core.data.history import MarketHistory
from forecast_core.errors import TableError
from forecast_core.forecasts import ACTUALS, Forecast, forecasts_to_frame
from forecast_core.models.naive import NaiveForecaster
from forecast_core.names import HORIZON_DAYS
from forecast_core.pipeline import ForecastPipeline
from forecast_core.seeds import forecast_seed
from tests.fakes import FailingOnDates, FakeForecastStore, FakeModelStore

D = dt.date
NOW = dt.datetime(2025, 1, 1, 6, 0, tzinfo=dt.UTC)
N_PATHS = 20
JULY = D(2024, 7, 1)


class Log:
    """A reporter that keeps what the run said."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.total: int | None = None
        self.advanced = 0

    def line(self, text: str) -> None:
        self.lines.append(text)

    def start(self, total_forecasts: int) -> None:
        self.total = total_forecasts

    def advance(self, forecasts: int) -> None:
        self.advanced += forecasts

    def said(self, fragment: str) -> bool:
        return any(fragment in line for line in self.lines)


def _config(models: tuple[str, ...] = ("naive", "random_walk"), **overrides) -> RunConfig:
    return RunConfig(
        commodity="coffee",
        models=models,
        cadence=Cadence("semiannually"),
        n_paths=N_PATHS,
        **overrides,
    )


def _run(history, config, windows, table=None, registry=None):
    table = table if table is not None else FakeForecastStore()
    registry = registry if registry is not None else FakeModelStore()
    log = Log()
    summary = ForecastPipeline(config, history, registry, table, log, now=NOW).run(windows)
    return summary, table, registry, log


def _windows(start: dt.date, end: dt.date):
    return Cadence("semiannually").windows(start, end)


def test_a_fresh_run_trains_once_per_window_and_writes_every_forecast(coffee_history):
    windows = _windows(D(2024, 6, 28), D(2024, 7, 2))  # two windows: 2024-01-01 and 2024-07-01
    summary, table, registry, log = _run(coffee_history, _config(), windows)
    assert summary.ok
    assert len(summary.trained) == 4
    assert summary.generated == 2 * 5
    assert summary.actuals_written == 5
    assert summary.rows_written == 2 * 5 * N_PATHS + 5
    assert table.existing_keys("coffee", "v1.0", ("naive", "random_walk", ACTUALS), [D(2024, 7, 2)])
    assert [v.training_date for v in registry.list_versions("coffee", "naive", "v1.0")] == [
        D(2024, 1, 1),
        JULY,
    ]
    assert log.total == 10 and log.advanced == 10
    assert log.said("Checking naive... retraining needed (last: never, next: 2024-01-01)")


def test_a_calibration_fallback_is_said_in_the_run_log(coffee_history):
    windows = _windows(D(2012, 7, 2), D(2012, 7, 3))  # half a year of data: nothing to fit
    summary, _, _, log = _run(coffee_history, _config(("naive_cal",)), windows)
    assert summary.ok and summary.generated == 2
    assert log.said("  calibration: fallback")
    assert log.said("uncalibrated paths: 0 realized backtest origins before 2012-07-01")


def test_a_rerun_reuses_models_and_writes_nothing(coffee_history):
    windows = _windows(D(2024, 7, 1), D(2024, 7, 3))
    _, table, registry, _ = _run(coffee_history, _config(), windows)
    writes = list(table.writes)
    summary, _, _, log = _run(coffee_history, _config(), windows, table, registry)
    assert summary.ok
    assert (summary.trained, summary.generated, summary.rows_written) == ([], 0, 0)
    assert summary.already_present == 6
    assert summary.reused == 2
    assert table.writes == writes
    assert log.said("Checking naive... all 3 forecasts already present")


def test_a_run_with_nothing_missing_never_opens_the_registry(coffee_history):
    windows = _windows(JULY, D(2024, 7, 2))
    _, table, _, _ = _run(coffee_history, _config(), windows)

    def unopenable():
        raise AssertionError("the registry was opened although nothing is missing")

    log = Log()
    pipeline = ForecastPipeline(_config(), coffee_history, unopenable, table, log, now=NOW)
    summary = pipeline.run(windows)
    assert summary.ok and summary.already_present == 4 and summary.rows_written == 0


def test_a_registry_given_as_a_function_is_opened_once_when_needed(coffee_history):
    opened = []

    def open_registry():
        opened.append(FakeModelStore())
        return opened[-1]

    pipeline = ForecastPipeline(
        _config(), coffee_history, open_registry, FakeForecastStore(), Log(), now=NOW
    )
    summary = pipeline.run(_windows(JULY, D(2024, 7, 2)))
    assert summary.generated == 4 and len(opened) == 1 and opened[0].list_calls == 2


def test_a_registered_model_is_reused_and_only_missing_dates_are_sampled(coffee_history):
    registry = FakeModelStore()
    registry.register(NaiveForecaster().fit(coffee_history, JULY), coffee_history, "v1.0")
    table = FakeForecastStore()
    present = Forecast("coffee", "naive", "v1.0", JULY, D(2024, 6, 28), JULY, "u", np.ones((3, 14)))
    table.write(forecasts_to_frame([present], NOW))
    windows = _windows(JULY, D(2024, 7, 3))
    summary, _, _, log = _run(coffee_history, _config(("naive",)), windows, table, registry)
    assert summary.trained == []
    assert summary.generated == 2
    assert summary.already_present == 1
    assert log.said("Checking naive... no retraining needed (last: 2024-07-01, next: 2025-01-01)")
    assert len(registry.list_versions("coffee", "naive", "v1.0")) == 1


def test_a_late_run_trains_for_the_missed_slot(coffee_history):
    registry = FakeModelStore()
    registry.register(NaiveForecaster().fit(coffee_history, D(2024, 1, 1)), coffee_history, "v1.0")
    summary, table, _, log = _run(
        coffee_history, _config(("naive",)), _windows(D(2024, 7, 3), D(2024, 7, 3)), None, registry
    )
    assert [v.training_date for v in registry.list_versions("coffee", "naive", "v1.0")] == [
        D(2024, 1, 1),
        JULY,
    ]
    assert summary.trained == ["Coffee_Naive_2024-07-01_v1.0"]
    assert log.said("retraining needed (last: 2024-01-01, next: 2024-07-01)")
    frame = table.forecasts[("coffee", "naive", "v1.0", D(2024, 7, 3))]
    assert set(frame["training_date"]) == {JULY}


def test_a_model_that_cannot_register_fails_alone_for_its_window(coffee_history):
    registry = FakeModelStore(failing=["random_walk"])
    windows = _windows(JULY, D(2024, 7, 2))
    summary, table, _, log = _run(coffee_history, _config(), windows, None, registry)
    assert not summary.ok
    assert summary.failed_forecasts == 2
    assert [(f.model_name, f.scope) for f in summary.failures] == [
        ("random_walk", "window 2024-07-01")
    ]
    assert summary.failures[0].error.startswith("RegistryError: cannot register random_walk")
    assert summary.generated == 2
    assert table.existing_keys(
        "coffee", "v1.0", ["naive", "random_walk"], [JULY, D(2024, 7, 2)]
    ) == {
        ("naive", JULY),
        ("naive", D(2024, 7, 2)),
    }
    assert log.advanced == 4


def test_a_failing_date_falls_back_to_date_by_date_and_fails_alone(coffee_history):
    bad = D(2024, 7, 2)
    registry = FakeModelStore()
    flaky = FailingOnDates([bad]).fit(coffee_history, JULY)
    registry.register(flaky, coffee_history, "v1.0")
    dates = [JULY, bad, D(2024, 7, 3)]
    summary, table, _, _ = _run(
        coffee_history, _config(("naive",)), _windows(JULY, dates[-1]), None, registry
    )
    assert [(f.model_name, f.scope) for f in summary.failures] == [("naive", "2024-07-02")]
    assert summary.failures[0].error == "ValueError: sampling 2024-07-02 fails on purpose"
    assert (summary.generated, summary.failed_forecasts) == (2, 1)
    # The other dates' paths are those of a batch without the failing date.
    good = [JULY, D(2024, 7, 3)]
    seeds = [forecast_seed(0, "coffee", "naive", day) for day in good]
    expected = (
        NaiveForecaster()
        .fit(coffee_history, JULY)
        .sample_paths_batch(coffee_history, good, HORIZON_DAYS, N_PATHS, seeds)
    )
    for day, paths in zip(good, expected, strict=True):
        stored = table.forecasts[("coffee", "naive", "v1.0", day)]
        np.testing.assert_array_equal(stored[[f"day_{k}" for k in range(1, 15)]].to_numpy(), paths)
    assert ("coffee", "naive", "v1.0", bad) not in table.forecasts


def test_a_date_no_model_serves_fails_without_stopping_the_run(coffee_history):
    registry = FakeModelStore()
    registry.register(NaiveForecaster().fit(coffee_history, JULY), coffee_history, "v1.0")
    registry.models.clear()  # the model's artifacts are gone
    summary, table, _, _ = _run(
        coffee_history, _config(("naive",)), _windows(JULY, JULY), None, registry
    )
    assert [(f.model_name, f.scope) for f in summary.failures] == [("naive", "2024-07-01")]
    assert summary.failed_forecasts == 1
    assert summary.actuals_written == 1  # the actuals still land
    assert table.existing_keys("coffee", "v1.0", [ACTUALS], [JULY]) == {(ACTUALS, JULY)}


def test_forecasts_another_writer_stored_meanwhile_are_not_written_again(coffee_history):
    table = FakeForecastStore()

    class OtherWriterStartsNow(Log):
        def start(self, total_forecasts: int) -> None:
            super().start(total_forecasts)
            theirs = Forecast("coffee", "naive", "v1.0", JULY, D(2024, 6, 28), JULY, "theirs",
                              np.ones((5, 14)))  # fmt: skip
            table.write(forecasts_to_frame([theirs], NOW))

    log = OtherWriterStartsNow()
    summary = ForecastPipeline(
        _config(("naive",)), coffee_history, FakeModelStore(), table, log, now=NOW
    ).run(_windows(JULY, D(2024, 7, 2)))
    assert log.said("Skipping 1 forecasts another writer stored meanwhile")
    assert set(table.forecasts[("coffee", "naive", "v1.0", JULY)]["model_uri"]) == {"theirs"}
    assert summary.rows_written == N_PATHS + 2  # one forecast and two actuals rows
    assert summary.generated == 2  # computed, and one of them skipped at the write


def test_rows_are_written_in_batches_of_flush_rows(coffee_history):
    windows = _windows(JULY, D(2024, 7, 5))
    summary, table, _, _ = _run(
        coffee_history, _config(("naive",), flush_rows=2 * N_PATHS), windows
    )
    assert summary.rows_written == 5 * N_PATHS + 5
    assert table.writes[0] == 2 * N_PATHS and len(table.writes) == 3


class FailingWrites(FakeForecastStore):
    def write(self, rows):
        raise TableError("the disk is full")


def test_a_failed_write_stops_the_run_with_its_error(coffee_history):
    with pytest.raises(TableError, match="the disk is full"):
        _run(coffee_history, _config(("naive",)), _windows(JULY, D(2024, 7, 2)), FailingWrites())


def test_actuals_wait_until_the_horizon_is_realized(coffee_history: MarketHistory):
    last = coffee_history.last_date  # 2025-11-14
    windows = Cadence("semiannually").windows(last - dt.timedelta(days=14), last)
    summary, table, _, _ = _run(coffee_history, _config(("naive",)), windows)
    dates = windows[-1].forecast_dates
    with_actuals = table.existing_keys("coffee", "v1.0", [ACTUALS], dates)
    assert with_actuals == {
        (ACTUALS, last - dt.timedelta(days=13)),
        (ACTUALS, last - dt.timedelta(days=14)),
    }
    assert summary.actuals_written == 2
    actual = table.forecasts[("coffee", ACTUALS, ACTUALS, last - dt.timedelta(days=13))]
    assert actual["day_14"].iloc[0] == coffee_history.last_close


def test_a_shard_without_windows_does_nothing(coffee_history):
    summary, table, registry, log = _run(coffee_history, _config(), [])
    assert summary.ok and summary.describe().startswith("trained 0, skipped 0, generated 0")
    assert table.writes == [] and registry.list_calls == 0
    assert log.said("Nothing to do: this shard owns no window.")


def test_the_registry_is_asked_once_per_model_per_run(coffee_history):
    _, _, registry, _ = _run(coffee_history, _config(), _windows(D(2023, 12, 30), D(2024, 7, 2)))
    assert registry.list_calls == 2


def test_the_summary_line_counts_what_happened(coffee_history):
    summary, _, _, _ = _run(coffee_history, _config(("naive",)), _windows(JULY, JULY))
    assert summary.describe() == (
        f"trained 1, skipped 0, generated 1, already present 0, failed 0 "
        f"(actuals 1, rows written {N_PATHS + 1})"
    )
    assert set(summary.timings) >= {"table_read", "registry", "training", "sampling", "table_write"}


def test_history_of_another_commodity_is_refused(sample_dataset):
    from forecast_core.errors import ConfigError

    with pytest.raises(ConfigError, match="history of 'sugar' given for a run of 'coffee'"):
        ForecastPipeline(
            _config(),
            sample_dataset.history("sugar"),
            FakeModelStore(),
            FakeForecastStore(),
            Log(),
            now=NOW,
        )
