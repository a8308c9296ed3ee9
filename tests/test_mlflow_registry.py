"""The MLflow model registry: register, find, resolve and load models (real SQLite store)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import socket
import tempfile
import warnings
from collections.abc import Iterator

import cloudpickle
import mlflow
import numpy as np
import pytest

from forecast_core import __version__
from forecast_core.errors import RegistryError
from forecast_core.models import build_model
from forecast_core.models.naive import NaiveForecaster
from forecast_core.models.state import FittedState
from forecast_core.redaction import redact_credentials
from forecast_core.registry.lifecycle import ModelLifecycle
from forecast_core.registry.naming import STATE_FORMAT_TAG, training_experiment
from forecast_core.registry.pyfunc import PathSamplerModel
from forecast_core.registry.store import ModelRegistry
from forecast_core.registry.tracking_server import check_tracking_server
from forecast_core.registry.versions import RegisteredVersion, model_id, resolve_model
from forecast_core.seeds import forecast_seed
from tests.servers import mlflow_server

TRAINING_DATE = dt.date(2024, 7, 1)
FORECAST_DATE = dt.date(2024, 8, 20)


@pytest.fixture
def registered(registry, coffee_history):
    model = build_model("random_walk").fit(coffee_history, TRAINING_DATE)
    return model, registry.register(model, coffee_history, "v1.0")


def test_a_registered_version_carries_the_tags_users_know(registered, registry):
    _, version = registered
    assert version.model_id == "Coffee_RandomWalk_2024-07-01_v1.0"
    assert version.uri == "models:/coffee_random_walk/1"
    tags = registry.client.mlflow.get_model_version("coffee_random_walk", "1").tags
    assert tags == {
        "commodity": "coffee",
        "model_name": "random_walk",
        "model_version": "v1.0",
        "training_date": "2024-07-01",
        "data_cutoff_date": "2024-06-28",
        "model_id": "Coffee_RandomWalk_2024-07-01_v1.0",
        "state_format": "state-1",
    }


def test_the_run_has_params_metrics_and_a_fan_chart(registered, registry):
    _, version = registered
    run = registry.client.mlflow.get_run(version.run_id)
    assert run.data.params["training_date"] == "2024-07-01"
    assert run.data.params["param_window"] == "252"
    assert run.data.metrics["volatility"] > 0
    artifacts = {a.path for a in registry.client.mlflow.list_artifacts(version.run_id)}
    assert "fan_chart.png" in artifacts


def test_load_gives_a_model_with_identical_paths(registered, registry, coffee_history):
    model, version = registered
    loaded = registry.load(version)
    forecast_date = dt.date(2024, 8, 20)
    np.testing.assert_array_equal(
        loaded.sample_paths(coffee_history, forecast_date, seed=3),
        model.sample_paths(coffee_history, forecast_date, seed=3),
    )


def test_users_can_load_the_pyfunc_and_get_paths(registered, coffee_history):
    model, version = registered
    forecast_date = dt.date(2024, 8, 20)
    pyfunc = mlflow.pyfunc.load_model(version.uri)
    frame = pyfunc.predict(
        coffee_history.as_of(forecast_date).observations,
        params={"forecast_date": "2024-08-20", "n_paths": 50, "seed": 4},
    )
    assert list(frame.columns) == ["path_id"] + [f"day_{k}" for k in range(1, 15)]
    seed = forecast_seed(4, "coffee", "random_walk", forecast_date)
    np.testing.assert_array_equal(
        frame.drop(columns="path_id").to_numpy(),
        model.sample_paths(coffee_history, forecast_date, n_paths=50, seed=seed),
    )


def test_list_versions_filters_by_model_version(registry, coffee_history):
    for training_date, label in [
        (dt.date(2024, 1, 1), "v1.0"),
        (dt.date(2024, 7, 1), "v1.0"),
        (dt.date(2024, 7, 1), "v2.0"),
    ]:
        model = build_model("naive").fit(coffee_history, training_date)
        registry.register(model, coffee_history, label)
    versions = registry.list_versions("coffee", "naive", "v1.0")
    assert [v.training_date for v in versions] == [dt.date(2024, 1, 1), dt.date(2024, 7, 1)]
    assert registry.list_versions("coffee", "xgboost", "v1.0") == []
    assert len(ModelLifecycle(registry.client.tracking_uri).versions("coffee")) == 3


def _version(number: int, training_date: dt.date) -> RegisteredVersion:
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
    )


@pytest.mark.parametrize(
    ("forecast_date", "expected_version"),
    [
        pytest.param(dt.date(2023, 12, 31), None, id="before-any-model"),
        pytest.param(dt.date(2024, 1, 1), 1, id="on-a-training-date"),
        pytest.param(dt.date(2024, 6, 30), 1, id="inside-first-window"),
        pytest.param(dt.date(2024, 7, 1), 2, id="racing-duplicates-resolve-to-lowest-version"),
        pytest.param(dt.date(2030, 1, 1), 2, id="far-future-uses-newest"),
    ],
)
def test_resolve_picks_the_newest_training_date_on_or_before(forecast_date, expected_version):
    versions = [
        _version(1, dt.date(2024, 1, 1)),
        _version(3, dt.date(2024, 7, 1)),
        _version(2, dt.date(2024, 7, 1)),
    ]
    resolved = resolve_model(versions, forecast_date)
    assert (resolved.version if resolved else None) == expected_version


def test_model_id_form():
    assert (
        model_id("coffee", "XGBoost", dt.date(2025, 1, 1), "v1.0")
        == "Coffee_XGBoost_2025-01-01_v1.0"
    )


def test_credentials_are_redacted():
    assert (
        redact_credentials("https://alice:s3cret@mlflow.example:5000/x")
        == "https://***@mlflow.example:5000/x"
    )
    assert redact_credentials("sqlite:///tmp/mlflow.db") == "sqlite:///tmp/mlflow.db"
    assert (
        redact_credentials("API request to http://u:p@h:1/api failed; retry https://a:b@c")
        == "API request to http://***@h:1/api failed; retry https://***@c"
    )


def test_unreachable_tracking_server_is_a_clear_error_without_the_password():
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://bob:hunter2@127.0.0.1:{port}"
    with pytest.raises(RegistryError) as error:
        check_tracking_server(uri, attempts=2, timeout_seconds=1, backoff_seconds=0.1)
    assert "is unreachable" in str(error.value)
    assert "after 2 attempts" in str(error.value)
    assert "hunter2" not in str(error.value)


def test_registry_refuses_unfitted_models(registry, coffee_history):
    with pytest.raises(RegistryError, match="must be fitted"):
        registry.register(build_model("naive"), coffee_history, "v1.0")


def test_a_missing_model_artifact_is_a_registry_error(registry):
    ghost = RegisteredVersion(
        "coffee_naive", 99, "coffee", "naive", "v1.0", TRAINING_DATE, TRAINING_DATE, "ghost", "run"
    )
    with pytest.raises(RegistryError, match="cannot load ghost"):
        ModelRegistry.load(registry, ghost)


def test_a_second_registration_of_a_training_date_yields_to_the_first(registry, coffee_history):
    model = build_model("naive").fit(coffee_history, TRAINING_DATE)
    first = registry.register(model, coffee_history, "v1.0")
    second = registry.register(model, coffee_history, "v1.0")
    assert second == first
    assert [v.version for v in registry.list_versions("coffee", "naive", "v1.0")] == [1]


def test_a_version_of_another_registry_is_not_loaded(registry, tmp_path, coffee_history):
    other = ModelRegistry(f"sqlite:///{tmp_path / 'other.db'}", (tmp_path / "art").as_uri())
    version = other.register(
        build_model("naive").fit(coffee_history, TRAINING_DATE), coffee_history, "v1.0"
    )
    with pytest.raises(RegistryError, match="cannot load"):
        registry.load(version)


def test_registering_and_loading_through_a_server_leaves_nothing_in_tmpdir(
    coffee_history, tmp_path, monkeypatch
):
    # Through a server, MLflow downloads a model's artifacts (MLmodel, python_model.pkl,
    # registered_model_meta) to a new temporary folder and leaves it to the caller.
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with mlflow_server(tmp_path) as uri:
        registry = ModelRegistry(uri)
        model = build_model("naive").fit(coffee_history, TRAINING_DATE)
        version = registry.register(model, coffee_history, "v1.0")
        loaded = registry.load(version)
    assert loaded.training_date_ == TRAINING_DATE
    assert sorted(path.name for path in scratch.iterdir()) == []


def test_the_mlflow_ui_describes_the_registered_model_and_the_version(registered, registry):
    _, version = registered
    assert version.uri == "models:/coffee_random_walk/1"
    model = registry.client.mlflow.get_registered_model("coffee_random_walk").description
    assert model.startswith("**Coffee RandomWalk**: ")
    assert "Coffee close (US cents/lb (ICE Arabica KC))" in model
    assert "**Cadence**" in model and "**How to call it**" in model
    assert 'mlflow.pyfunc.load_model("models:/coffee_random_walk/<version>")' in model
    described = registry.client.mlflow.get_model_version("coffee_random_walk", "1").description
    assert "Training window: 2012-01-03..2024-06-28" in described
    assert "Data cutoff: 2024-06-28" in described
    assert "In-sample figures: " in described and "volatility" in described


def test_calibration_and_ensemble_notes_tag_the_versions_run(registry, coffee_history):
    """A calibration fallback and ensemble weights are on the run users open in MLflow."""
    early = dt.date(2012, 7, 1)  # half a year of data: no backtest refit can be fitted
    calibrated = build_model("naive_cal").fit(coffee_history, early)
    run = registry.client.mlflow.get_run(
        registry.register(calibrated, coffee_history, "v1.0").run_id
    )
    assert run.data.tags["calibration"] == "fallback"
    assert "uncalibrated paths: 0 realized backtest origins" in run.data.tags["calibration_note"]
    assert run.data.params["param_fit_refits"] == "3"
    assert run.data.metrics["calibration_origins"] == 0.0
    assert not any(name.startswith("spread_scale") for name in run.data.metrics)

    ensemble = build_model("ensemble", {"members": "naive,random_walk", "fit_min_origins": 10})
    ensemble.fit(coffee_history, dt.date(2014, 1, 1))
    run = registry.client.mlflow.get_run(registry.register(ensemble, coffee_history, "v1.0").run_id)
    assert run.data.tags["ensemble_weights"] == ensemble.training_tags_["ensemble_weights"]
    assert run.data.metrics["weight_naive"] + run.data.metrics["weight_random_walk"] == (
        pytest.approx(1.0)
    )


@pytest.mark.parametrize(
    ("name", "params"),
    [
        pytest.param("xgboost_acal", None, id="xgboost_acal"),  # native file, arrays, a part
        pytest.param("ensemble", {"members": "naive,sarimax,xgboost"}, id="ensemble"),
    ],
)
def test_wrapped_models_load_from_the_registry_with_identical_paths(
    registry, coffee_history, name, params
):
    """Inner models' states, arrays and XGBoost's own file travel through MLflow intact."""
    model_class = build_model(name).__class__
    model = build_model(name, {**model_class.test_params(), **(params or {})})
    model.fit(coffee_history, TRAINING_DATE)
    loaded = registry.load(registry.register(model, coffee_history, "v1.0"))
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(
        loaded.sample_paths(coffee_history, FORECAST_DATE, n_paths=200, seed=3),
        model.sample_paths(coffee_history, FORECAST_DATE, n_paths=200, seed=3),
    )


def _changed_naive_class(monkeypatch: pytest.MonkeyPatch) -> None:
    """A later NaiveForecaster: ``returns_`` renamed ``centred_returns_``, and a new
    attribute ``block_days`` set by the constructor that sampling needs."""
    constructor = NaiveForecaster.__init__

    def __init__(self, **params):
        constructor(self, **params)
        self.block_days = 1

    def _sample_steps(self, known, n_steps, n_paths, rng):
        size = (n_paths, n_steps * self.block_days)
        draws = self.centred_returns_[rng.integers(0, self.centred_returns_.size, size=size)]
        return known.last_close * np.exp(np.cumsum(draws, axis=1))

    def _fitted_state(self) -> FittedState:
        return FittedState(arrays={"returns": self.centred_returns_})  # the state's key stays

    def _restore_fitted(self, fitted: FittedState) -> None:
        self.centred_returns_ = fitted.arrays["returns"]

    monkeypatch.setattr(NaiveForecaster, "__init__", __init__)
    monkeypatch.setattr(NaiveForecaster, "_sample_steps", _sample_steps)
    monkeypatch.setattr(NaiveForecaster, "_fitted_state", _fitted_state)
    monkeypatch.setattr(NaiveForecaster, "_restore_fitted", _restore_fitted)


def test_a_version_loads_after_its_model_class_changed(registry, coffee_history, monkeypatch):
    model = build_model("naive").fit(coffee_history, TRAINING_DATE)
    version = registry.register(model, coffee_history, "v1.0")
    pickled = cloudpickle.dumps(PathSamplerModel(model, "coffee", ()))  # what 0.2.0 logged
    expected = model.sample_paths(coffee_history, FORECAST_DATE, seed=3)
    _changed_naive_class(monkeypatch)

    loaded = registry.load(version)
    assert loaded.block_days == 1 and not hasattr(loaded, "returns_")
    np.testing.assert_array_equal(
        loaded.sample_paths(coffee_history, FORECAST_DATE, seed=3), expected
    )
    served = mlflow.pyfunc.load_model(version.uri).predict(
        coffee_history.observations, params={"forecast_date": str(FORECAST_DATE), "n_paths": 20}
    )
    assert served.shape == (20, 15)
    # The negative control: the same change breaks the pickled object.
    unpickled = cloudpickle.loads(pickled).forecaster
    with pytest.raises(AttributeError, match="block_days"):
        unpickled.sample_paths(coffee_history, FORECAST_DATE, seed=3)


def test_a_state_format_this_release_cannot_read_fails_in_one_line(registered, registry, tmp_path):
    _, version = registered
    registry.client.mlflow.set_model_version_tag(
        version.name, str(version.version), STATE_FORMAT_TAG, "state-99"
    )
    (tagged,) = registry.list_versions("coffee", "random_walk", "v1.0")
    with pytest.raises(RegistryError) as raised:
        registry.load(tagged)
    assert str(raised.value) == (
        "cannot load Coffee_RandomWalk_2024-07-01_v1.0 (models:/coffee_random_walk/1): its "
        f"model is saved in state format 'state-99', which commodity-forecast {__version__} "
        "does not read (it reads state-1); load it with "
        f"commodity-forecast=={__version__}, or train it again under a new --model-version"
    )
    # Loaded directly with MLflow, the version's own record of its format refuses it.
    (record,) = tmp_path.rglob("state/version.json")
    written = json.loads(record.read_text())
    record.write_text(json.dumps({**written, "state_format": "state-99", "release": "9.0.0"}))
    with pytest.raises(RegistryError) as raised:
        mlflow.pyfunc.load_model(version.uri)
    message = str(raised.value)
    assert message.startswith("cannot load Coffee_RandomWalk_2024-07-01_v1.0: its model is saved")
    assert "load it with commodity-forecast==9.0.0," in message and "\n" not in message


@contextlib.contextmanager
def _mlflow_log() -> Iterator[io.StringIO]:
    """MLflow's log at WARNING and every Python warning, as text (the jobs hide them)."""
    text = io.StringIO()
    handler = logging.StreamHandler(text)
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield text
        text.writelines(f"{warning.message}\n" for warning in caught)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_registration_logs_no_cloudpickle_warning(registry, coffee_history):
    model = build_model("naive").fit(coffee_history, TRAINING_DATE)
    with _mlflow_log() as log:
        registry.register(model, coffee_history, "v1.0")
    assert "CloudPickle" not in log.getvalue()
    # The negative control: a Python object logged as the model warns, and the capture sees it.
    experiment = registry.client.mlflow.get_experiment_by_name(training_experiment("coffee"))
    with _mlflow_log() as log, mlflow.start_run(experiment_id=experiment.experiment_id):
        mlflow.pyfunc.log_model(
            name="pickled", python_model=PathSamplerModel(model, "coffee", ()), pip_requirements=[]
        )
    assert "serialized using CloudPickle" in log.getvalue()


def test_a_version_pickled_by_an_earlier_release_still_loads(registry, coffee_history):
    """A version as 0.2.0 registered it: the pickled pyfunc, no ``state_format`` tag."""
    model = build_model("naive").fit(coffee_history, TRAINING_DATE)
    registry.register(model, coffee_history, "v0")  # the experiment and registered model
    experiment = registry.client.mlflow.get_experiment_by_name(training_experiment("coffee"))
    with mlflow.start_run(experiment_id=experiment.experiment_id):
        weather = coffee_history.weather_features
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=PathSamplerModel(model, "coffee", weather),
            pip_requirements=["commodity-forecast==0.2.0"],
        )
    tags = {
        "commodity": "coffee",
        "model_name": "naive",
        "model_version": "v0.2",
        "training_date": "2024-07-01",
        "data_cutoff_date": "2024-06-28",
        "model_id": "Coffee_Naive_2024-07-01_v0.2",
    }
    mlflow.register_model(info.model_uri, "coffee_naive", tags=tags)
    (pickled,) = registry.list_versions("coffee", "naive", "v0.2")
    assert STATE_FORMAT_TAG not in pickled.tags
    np.testing.assert_array_equal(
        registry.load(pickled).sample_paths(coffee_history, FORECAST_DATE, seed=3),
        model.sample_paths(coffee_history, FORECAST_DATE, seed=3),
    )
    # Logged here without a signature, so MLflow passes no params: the defaults serve.
    served = mlflow.pyfunc.load_model(pickled.uri).predict(coffee_history.observations)
    assert served.shape == (2000, 15)
