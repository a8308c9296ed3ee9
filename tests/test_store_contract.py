"""One contract, two implementations: the fakes behave as the Spark table and MLflow registry.

Every test runs against the in-memory fake and the real adapter (local Spark and Parquet;
MLflow on SQLite), so a fake that drifts from the real store fails here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecast_core.errors import RegistryError
from forecast_core.forecasts import ACTUALS, Forecast, forecasts_to_frame
from forecast_core.models.naive import NaiveForecaster
from forecast_core.stores import ForecastStore, ModelStore
from tests.fakes import FakeForecastStore, FakeModelStore

NOW = dt.datetime(2024, 7, 15, 6, 0, tzinfo=dt.UTC)
JULY = dt.date(2024, 7, 1)
IMPLEMENTATIONS = [pytest.param("fake"), pytest.param("real", marks=pytest.mark.slow)]


@pytest.fixture(params=IMPLEMENTATIONS)
def forecast_store(request, tmp_path) -> ForecastStore:
    location = str(tmp_path / "distributions")
    if request.param == "fake":
        return FakeForecastStore(location)
    from forecast_core.tables.distributions import DistributionsTable

    return DistributionsTable(request.getfixturevalue("spark"), location)


@pytest.fixture(params=IMPLEMENTATIONS)
def model_store(request) -> ModelStore:
    if request.param == "fake":
        return FakeModelStore()
    return request.getfixturevalue("registry")


def _forecast(model: str, day: dt.date, version: str = "v1.0", n_paths: int = 4) -> Forecast:
    return Forecast(
        "coffee",
        model,
        ACTUALS if model == ACTUALS else version,
        day,
        day - dt.timedelta(days=3),
        None if model == ACTUALS else JULY,
        None if model == ACTUALS else "models:/coffee_x/1",
        np.full((1 if model == ACTUALS else n_paths, 14), 100.0),
    )


def test_an_empty_table_holds_no_keys(forecast_store):
    assert forecast_store.existing_keys("coffee", "v1.0", ["naive"], [JULY]) == set()
    assert isinstance(forecast_store.location, str)


def test_written_keys_are_found_among_the_dates_asked(forecast_store):
    days = [JULY, JULY + dt.timedelta(days=1)]
    forecasts = [_forecast(m, d) for m in ("naive", "xgboost", ACTUALS) for d in days]
    forecasts.append(_forecast("naive", JULY, version="v2.0"))
    assert forecast_store.write(forecasts_to_frame(forecasts, NOW)) == 4 * 4 + 2 + 4
    assert forecast_store.existing_keys("coffee", "v1.0", ["naive", ACTUALS], [JULY]) == {
        ("naive", JULY),
        (ACTUALS, JULY),
    }
    assert forecast_store.existing_keys("coffee", "v3.0", ["naive", ACTUALS], days) == {
        (ACTUALS, JULY),
        (ACTUALS, days[1]),
    }
    assert forecast_store.existing_keys("sugar", "v1.0", ["naive"], days) == set()
    assert forecast_store.existing_keys("coffee", "v1.0", [], days) == set()


def test_a_rewrite_replaces_its_keys_and_keeps_the_others(forecast_store):
    forecast_store.write(forecasts_to_frame([_forecast("naive", JULY)], NOW))
    other = JULY + dt.timedelta(days=1)
    rewrite = [_forecast("naive", JULY, n_paths=2), _forecast("naive", other)]
    assert forecast_store.write(forecasts_to_frame(rewrite, NOW)) == 6
    assert forecast_store.existing_keys("coffee", "v1.0", ["naive"], [JULY, other]) == {
        ("naive", JULY),
        ("naive", other),
    }


def test_a_registered_model_is_listed_and_loads_with_identical_paths(model_store, coffee_history):
    assert model_store.list_versions("coffee", "naive", "v1.0") == []
    model = NaiveForecaster(window=60).fit(coffee_history, JULY)
    version = model_store.register(model, coffee_history, "v1.0")
    assert (version.model_id, version.training_date) == ("Coffee_Naive_2024-07-01_v1.0", JULY)
    assert version.data_cutoff_date == dt.date(2024, 6, 28)
    assert version.uri == "models:/coffee_naive/1"
    assert model_store.list_versions("coffee", "naive", "v1.0") == [version]
    assert model_store.list_versions("coffee", "naive", "v2.0") == []
    loaded = model_store.load(version)
    day = dt.date(2024, 7, 15)
    np.testing.assert_array_equal(
        loaded.sample_paths(coffee_history, day, n_paths=50, seed=3),
        model.sample_paths(coffee_history, day, n_paths=50, seed=3),
    )


def test_a_second_registration_of_a_training_date_yields_to_the_first(model_store, coffee_history):
    first = model_store.register(NaiveForecaster().fit(coffee_history, JULY), coffee_history, "v1")
    again = model_store.register(NaiveForecaster().fit(coffee_history, JULY), coffee_history, "v1")
    assert again == first
    assert model_store.list_versions("coffee", "naive", "v1") == [first]


def test_an_unfitted_model_is_refused(model_store, coffee_history):
    with pytest.raises(RegistryError, match="must be fitted before registering"):
        model_store.register(NaiveForecaster(), coffee_history, "v1.0")


def test_versions_carry_their_retirement_and_pin(model_store, coffee_history):
    for training_date in (dt.date(2024, 1, 1), JULY):
        model_store.register(
            NaiveForecaster().fit(coffee_history, training_date), coffee_history, "v1"
        )
    if isinstance(model_store, FakeModelStore):
        model_store.retire("models:/coffee_naive/2")
        model_store.pin("coffee_naive", "models:/coffee_naive/1")
    else:
        from forecast_core.registry.lifecycle import ModelLifecycle

        lifecycle = ModelLifecycle(model_store.client.tracking_uri)
        lifecycle.retire("coffee", "naive", "2", "contract")
        lifecycle.pin("coffee", "naive", "1")
    versions = model_store.list_versions("coffee", "naive", "v1")
    assert [(v.version, v.retired, v.aliases) for v in versions] == [
        (1, False, ("pinned",)),
        (2, True, ()),
    ]
