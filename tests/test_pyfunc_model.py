"""The pyfunc model registered versions hold: raw tables or features in, the jobs' paths out."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.types.schema import AnyType

from forecast_core.config import StoreConfig
from forecast_core.data import sample_data_path
from forecast_core.errors import ConfigError, DataError
from forecast_core.models import build_model
from forecast_core.models.naive import NaiveForecaster
from forecast_core.registry.pyfunc import PathSamplerModel
from forecast_core.registry.store import ModelRegistry
from forecast_core.seeds import forecast_seed

TRAINING_DATE = dt.date(2024, 7, 1)
FORECAST_DATE = dt.date(2024, 8, 20)
DAYS = [f"day_{k}" for k in range(1, 15)]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def raw_tables() -> pd.DataFrame:
    """The sample's prices and weather as a user reads them (dates as text), stacked."""
    folder = sample_data_path()
    prices = pd.read_csv(folder / "prices.csv.gz")
    weather = pd.read_csv(folder / "weather.csv.gz")
    return pd.concat([prices, weather], ignore_index=True)


@pytest.fixture(scope="module")
def registered_version(tmp_path_factory, coffee_history):
    """One random_walk version in a fresh SQLite store: the model, the version, the store."""
    store = StoreConfig.embedded(tmp_path_factory.mktemp("pyfunc") / "home")
    registry = ModelRegistry(store.tracking_uri, store.artifact_root)
    model = build_model("random_walk").fit(coffee_history, TRAINING_DATE)
    return model, registry.register(model, coffee_history, "v1.0"), store.tracking_uri


@pytest.fixture(scope="module")
def registered(registered_version):
    """The version's model, and the version loaded as users load it."""
    model, version, _ = registered_version
    return model, mlflow.pyfunc.load_model(version.uri)


def test_raw_tables_and_features_give_the_paths_of_the_jobs_seed_rule(
    registered, raw_tables, coffee_history
):
    model, pyfunc = registered
    params = {"forecast_date": str(FORECAST_DATE), "n_paths": 50, "seed": 4}
    from_raw = pyfunc.predict(raw_tables, params=params)
    from_features = pyfunc.predict(coffee_history.observations, params=params)
    assert list(from_raw.columns) == ["path_id", *DAYS]
    assert from_raw["path_id"].tolist() == list(range(50))
    seed = forecast_seed(4, "coffee", "random_walk", FORECAST_DATE)
    expected = model.sample_paths(coffee_history, FORECAST_DATE, n_paths=50, seed=seed)
    np.testing.assert_array_equal(from_raw[DAYS].to_numpy(), expected)
    pd.testing.assert_frame_equal(from_features, from_raw)


def test_rows_on_or_after_the_forecast_date_change_nothing(registered, coffee_history):
    _, pyfunc = registered
    params = {"forecast_date": str(FORECAST_DATE), "n_paths": 20}
    known = coffee_history.as_of(FORECAST_DATE).observations
    edited = coffee_history.observations.copy()
    later = edited["date"] >= pd.Timestamp(FORECAST_DATE)
    edited.loc[later, ["open", "high", "low", "close"]] *= 3.0
    pd.testing.assert_frame_equal(
        pyfunc.predict(edited, params=params), pyfunc.predict(known, params=params)
    )


@pytest.mark.parametrize(
    ("forecast_date", "error", "message"),
    [
        ("2030-01-01", ConfigError, "forecast date 2030-01-01 is after today"),
        (
            "2024-06-14",
            ConfigError,
            "forecast date 2024-06-14 is before the training date of this coffee random_walk "
            "version (2024-07-01); expected 2024-07-01 or later, the first date it can serve",
        ),
        ("2025-12-31", DataError, "is 47 days after the newest coffee price (2025-11-14)"),
        (
            "2024-13-01",
            ConfigError,
            "forecast_date '2024-13-01' is not a date; expected YYYY-MM-DD",
        ),
    ],
)
def test_dates_the_jobs_refuse_are_refused_in_one_line(
    registered, raw_tables, forecast_date, error, message
):
    _, pyfunc = registered
    with pytest.raises(error) as raised:
        pyfunc.predict(raw_tables, params={"forecast_date": forecast_date, "n_paths": 5})
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_columns_and_weather_are_named(registered, raw_tables, coffee_history):
    _, pyfunc = registered
    params = {"forecast_date": str(FORECAST_DATE), "n_paths": 5}
    cases = [
        (raw_tables.drop(columns="close"), "model input (prices rows): missing column(s) 'close'"),
        (
            coffee_history.observations.drop(columns="precip_30d"),
            "model input: missing column(s) 'precip_30d'",
        ),
        (
            raw_tables[raw_tables["commodity"].notna()],
            "model input: no weather rows for coffee (Brazil, Colombia",
        ),
        (
            raw_tables[raw_tables["commodity"] != "coffee"],
            "unknown commodity 'coffee'",
        ),
        (
            raw_tables.assign(date=raw_tables["date"].where(raw_tables.index != 7, "11/01/2012")),
            "model input (prices rows): column 'date': '11/01/2012' is not an ISO date on row 8; "
            "expected YYYY-MM-DD",
        ),
    ]
    for frame, message in cases:
        with pytest.raises(DataError) as raised:
            pyfunc.predict(frame, params=params)
        assert message in str(raised.value)


def test_the_version_logs_a_readable_signature_and_an_input_example_that_runs(registered):
    _, pyfunc = registered
    metadata = pyfunc.metadata
    inputs = {spec.name: spec for spec in metadata.get_input_schema().inputs}
    assert inputs["date"].required
    assert inputs["date"].type == AnyType()  # checked by the model: ISO text or typed dates
    for name in ("close", "temp_mean_30d", "commodity", "region", "precipitation"):
        assert not inputs[name].required, name
    assert [spec.name for spec in metadata.get_output_schema().inputs] == ["path_id", *DAYS]
    params = {spec.name: spec.default for spec in metadata.get_params_schema().params}
    assert params == {
        "forecast_date": "",
        "horizon": 14,
        "n_paths": 2000,
        "seed": 0,
        "max_staleness_days": 5,
    }
    example = pyfunc.input_example
    assert example["date"].max() == "2024-06-28"  # ISO text, as users write dates
    assert metadata.saved_input_example_info["params"]  # saved with its forecast_date
    paths = pyfunc.predict(example, params={"forecast_date": str(TRAINING_DATE)})
    assert paths.shape == (2000, 15)


@pytest.mark.parametrize(
    "old_module", ["forecast_core.mlflow_registry", "forecast_core.pyfunc_model"]
)
def test_versions_pickled_under_the_old_module_path_still_load(
    coffee_history, monkeypatch, old_module
):
    # Versions registered before 0.1.0's split name the class
    # forecast_core.mlflow_registry.PathSamplerModel, and those registered before the
    # registry package forecast_core.pyfunc_model.PathSamplerModel; both names still import.
    fitted = NaiveForecaster().fit(coffee_history, dt.date(2024, 7, 1))
    wrapped = PathSamplerModel(fitted, "coffee", ())
    monkeypatch.setattr(PathSamplerModel, "__module__", old_module)
    data = cloudpickle.dumps(wrapped)
    monkeypatch.undo()
    assert old_module.encode() in data
    loaded = cloudpickle.loads(data)
    assert type(loaded) is PathSamplerModel
    assert loaded.forecaster.training_date_ == dt.date(2024, 7, 1)


# pyspark is installed here (the jobs need it), and MLflow imports it whenever it can
# (mlflow.types.schema: ``try: import pyspark``). A served model is run where neither it nor
# deltalake can be imported, as in an image without them: a None in sys.modules is Python's
# own "not installed" (ModuleNotFoundError on import, None from importlib.util.find_spec).
_WITHOUT_STORAGE = "import sys\nsys.modules.update(pyspark=None, deltalake=None)\n"


def _without_storage(script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a new interpreter that cannot import pyspark or deltalake; it
    prints, last, the modules loaded by its end."""
    code = (
        f"{_WITHOUT_STORAGE}{script}\nimport json\n"
        "print(json.dumps(sorted(n for n, m in sys.modules.items() if m is not None)))"
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment
    )


def test_a_served_version_loads_and_predicts_without_spark_or_delta(registered_version):
    """As a user serving the model would: ``load_model`` and ``predict`` from the raw
    tables in a new interpreter (the classes of every model imported too: any version may
    be served)."""
    _, version, tracking_uri = registered_version
    served = _without_storage(
        f"""
import mlflow, pandas as pd
from forecast_core.data import sample_data_path
from forecast_core.models.registry import get_model_class
from forecast_core.names import MODELS
mlflow.set_tracking_uri({tracking_uri!r})
folder = sample_data_path()
frame = pd.concat([pd.read_csv(folder / "prices.csv.gz"), pd.read_csv(folder / "weather.csv.gz")])
paths = mlflow.pyfunc.load_model({version.uri!r}).predict(
    frame, params={{"forecast_date": "{FORECAST_DATE}", "n_paths": 10}}
)
assert paths.shape == (10, 15), paths.shape
for name in MODELS:
    get_model_class(name)
"""
    )
    assert served.returncode == 0, served.stderr
    loaded = json.loads(served.stdout.splitlines()[-1])
    assert "forecast_core.registry.pyfunc" in loaded
    assert {name.split(".")[0] for name in loaded} & {"pyspark", "deltalake"} == set()


@pytest.mark.parametrize(
    ("module", "missing"),
    [
        ("forecast_core.tables.distributions", "pyspark"),
        ("forecast_core.tables.delta_log", "deltalake"),
    ],
)
def test_the_served_check_fails_where_storage_is_needed(module, missing):
    """The negative control: the same interpreter cannot load the forecast table's code."""
    needs_storage = _without_storage(f"import {module}")
    assert needs_storage.returncode != 0
    assert "ModuleNotFoundError" in needs_storage.stderr
    assert missing in needs_storage.stderr.splitlines()[-1]
