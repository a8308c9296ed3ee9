"""Run and store configuration built at the edge."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forecast_core.cadence import Cadence
from forecast_core.config import RunConfig, StoreConfig
from forecast_core.errors import ConfigError


def test_embedded_store_lives_under_home(tmp_path: Path):
    store = StoreConfig.embedded(tmp_path)
    assert store.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert store.artifact_root == (tmp_path / "mlartifacts").as_uri()
    assert store.table_location == str(tmp_path / "tables" / "distributions")


def test_a_tracking_server_keeps_its_own_artifact_store(tmp_path: Path):
    assert (
        StoreConfig.embedded(tmp_path, tracking_uri="http://127.0.0.1:5000").artifact_root is None
    )
    local = StoreConfig.embedded(tmp_path, tracking_uri=f"sqlite:///{tmp_path / 'other.db'}")
    assert local.artifact_root == (tmp_path / "mlartifacts").as_uri()


def test_run_config_normalises_and_validates_models():
    config = RunConfig("coffee", ("naive", " XGBoost", "naive"), Cadence("monthly"))
    assert config.models == ("naive", "xgboost")
    with pytest.raises(ConfigError, match="n_paths 0"):
        RunConfig("coffee", ("naive",), Cadence("monthly"), n_paths=0)


@pytest.mark.parametrize("version", ["v 1", "", "v{1,2}", "a,b", "v*", "v1/2", ".hidden", "v1:2"])
def test_run_config_refuses_model_versions_that_cannot_name_a_folder(version: str):
    with pytest.raises(ConfigError, match=re.escape(f"model version {version!r} is not valid")):
        RunConfig("coffee", ("naive",), Cadence("monthly"), model_version=version)


@pytest.mark.parametrize("version", ["v1.0", "2024-07", "candidate_3"])
def test_run_config_accepts_plain_model_versions(version: str):
    assert (
        RunConfig("coffee", ("naive",), Cadence("monthly"), model_version=version).model_version
        == version
    )
