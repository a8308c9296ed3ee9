"""Which version serves a date under pins and retirements: the rule, and the pipeline using it."""

from __future__ import annotations

import datetime as dt

from forecast_core.cadence import Cadence
from forecast_core.config import RunConfig
from forecast_core.models.naive import NaiveForecaster
from forecast_core.pipeline import ForecastPipeline
from forecast_core.registry.naming import PINNED_ALIAS
from forecast_core.registry.versions import RegisteredVersion, choose_model
from tests.fakes import FakeForecastStore, FakeModelStore
from tests.test_pipeline import NOW, Log

D = dt.date
JAN, JULY, DAY = D(2024, 1, 1), D(2024, 7, 1), D(2024, 7, 15)


def _version(number: int, training_date: dt.date, **state) -> RegisteredVersion:
    return RegisteredVersion(
        "coffee_naive",
        number,
        "coffee",
        "naive",
        "v1.0",
        training_date,
        training_date - dt.timedelta(days=1),
        f"id{number}",
        "run",
        **state,
    )


def test_without_pins_or_retirements_the_newest_eligible_version_serves_silently():
    choice = choose_model([_version(1, JAN), _version(2, JULY)], DAY, use_pins=True)
    assert (choice.version.version, choice.reason) == (2, "")


def test_a_retired_version_is_skipped_for_the_one_before_and_the_log_says_so():
    choice = choose_model([_version(1, JAN), _version(2, JULY, retired=True)], DAY, True)
    assert choice.version.version == 1
    assert choice.reason == (
        "models:/coffee_naive/2 is retired; falling back to models:/coffee_naive/1"
    )


def test_with_every_eligible_version_retired_nothing_serves_and_the_reason_names_them():
    versions = [_version(1, JAN, retired=True), _version(2, D(2024, 8, 1))]
    choice = choose_model(versions, DAY, True)
    assert choice.version is None
    assert "every version trained on or before 2024-07-15 is retired (models:/coffee_naive/1)" in (
        choice.reason
    )


def test_a_pin_serves_instead_of_the_newest_only_when_pins_are_used():
    versions = [_version(1, JAN, aliases=(PINNED_ALIAS,)), _version(2, JULY)]
    pinned = choose_model(versions, DAY, use_pins=True)
    assert pinned.version.version == 1
    assert pinned.reason == "pinned models:/coffee_naive/1 serves instead of models:/coffee_naive/2"
    assert choose_model(versions, DAY, use_pins=False).version.version == 2


def test_a_pin_never_serves_a_date_before_its_training_date():
    versions = [_version(1, JAN), _version(2, JULY, aliases=(PINNED_ALIAS,))]
    choice = choose_model(versions, D(2024, 3, 1), True)
    assert choice.version.version == 1
    assert "pinned models:/coffee_naive/2 (trained 2024-07-01) is newer than 2024-03-01" in (
        choice.reason
    )


# -- the pipeline ----------------------------------------------------------------------


def _registry(coffee_history) -> FakeModelStore:
    registry = FakeModelStore()
    for training_date in (JAN, JULY):
        registry.register(
            NaiveForecaster().fit(coffee_history, training_date), coffee_history, "v1.0"
        )
    return registry


def _daily(coffee_history, registry, use_pins=True):
    config = RunConfig("coffee", ("naive",), Cadence("semiannually"), n_paths=10, use_pins=use_pins)
    table, log = FakeForecastStore(), Log()
    windows = config.cadence.windows(DAY, DAY)
    summary = ForecastPipeline(config, coffee_history, registry, table, log, now=NOW).run(windows)
    return summary, table, log


def _served_uri(table: FakeForecastStore) -> str:
    (uri,) = table.forecasts[("coffee", "naive", "v1.0", DAY)]["model_uri"].unique()
    return uri


def test_daily_uses_the_pin_and_its_rows_name_the_pinned_uri(coffee_history):
    registry = _registry(coffee_history)
    registry.pin("coffee_naive", "models:/coffee_naive/1")
    summary, table, log = _daily(coffee_history, registry)
    assert summary.ok and summary.trained == []
    assert _served_uri(table) == "models:/coffee_naive/1"
    assert set(table.forecasts[("coffee", "naive", "v1.0", DAY)]["training_date"]) == {JAN}
    assert log.said("pinned models:/coffee_naive/1 serves instead of models:/coffee_naive/2")


def test_a_run_that_ignores_pins_uses_the_newest(coffee_history):
    registry = _registry(coffee_history)
    registry.pin("coffee_naive", "models:/coffee_naive/1")
    summary, table, log = _daily(coffee_history, registry, use_pins=False)
    assert summary.ok and _served_uri(table) == "models:/coffee_naive/2"
    assert not log.said("pinned")


def test_retire_falls_back_and_restore_brings_the_version_back(coffee_history):
    registry = _registry(coffee_history)
    registry.retire("models:/coffee_naive/2")
    summary, table, log = _daily(coffee_history, registry)
    assert summary.ok and summary.trained == []  # the retired slot is not retrained
    assert _served_uri(table) == "models:/coffee_naive/1"
    assert log.said("models:/coffee_naive/2 is retired; falling back to models:/coffee_naive/1")
    registry.retire("models:/coffee_naive/2", retired=False)
    summary, table, _ = _daily(coffee_history, registry)
    assert summary.ok and _served_uri(table) == "models:/coffee_naive/2"


def test_a_model_with_every_version_retired_fails_alone_naming_the_reason(coffee_history):
    registry = _registry(coffee_history)
    for uri in ("models:/coffee_naive/1", "models:/coffee_naive/2"):
        registry.retire(uri)
    config = RunConfig("coffee", ("naive", "random_walk"), Cadence("semiannually"), n_paths=10)
    table, log = FakeForecastStore(), Log()
    pipeline = ForecastPipeline(config, coffee_history, registry, table, log, now=NOW)
    summary = pipeline.run(config.cadence.windows(DAY, DAY))
    assert not summary.ok
    assert [(f.model_name, f.scope) for f in summary.failures] == [("naive", "2024-07-15")]
    assert "every version trained on or before 2024-07-15 is retired" in summary.failures[0].error
    assert ("coffee", "random_walk", "v1.0", DAY) in table.forecasts
