"""Faults in the parts we depend on: a vanishing tracking server, a bad table, a lost model."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from forecast_core.config import StoreConfig
from forecast_core.registry.store import ModelRegistry
from tests.hardening.conftest import run, start, table_rows
from tests.job_env import forecast_env
from tests.servers import mlflow_server

pytestmark = pytest.mark.slow
DAILY = ["daily", "--models", "naive,random_walk", "--n-paths", "100"]


def test_a_lost_model_artifact_fails_that_model_and_the_others_go_on(tmp_path, spark):
    home = tmp_path / "home"
    env = forecast_env(home)
    assert run([*DAILY, "--forecast-date", "2024-07-15"], env).returncode == 0
    registry = ModelRegistry(StoreConfig.embedded(home).tracking_uri)
    naive = registry.list_versions("coffee", "naive", "v1.0")[0]
    artifacts = registry.client.mlflow.get_model_version_download_uri(
        naive.name, str(naive.version)
    )
    shutil.rmtree(Path(urlparse(artifacts).path))

    result = run([*DAILY, "--forecast-date", "2024-07-16"], env)
    assert result.returncode == 1, result.output
    assert (
        "failed: naive (2024-07-16): RegistryError: cannot load Coffee_Naive_2024-07-01_v1.0"
        in result.output
    )
    rows = table_rows(spark, home)
    written = rows[rows["forecast_start_date"] == dt.date(2024, 7, 16)]
    assert set(written["model_name"]) == {"random_walk", "actuals"}


def test_a_tracking_server_going_away_mid_run_fails_cleanly(tmp_path, spark):
    home = tmp_path / "home"
    with mlflow_server(tmp_path) as uri:
        # Credentials in the URI must never reach the log, even in error messages.
        secret_uri = uri.replace("http://", "http://ops:s3cr3t@")
        env = forecast_env(home, MLFLOW_TRACKING_URI=secret_uri)
        process = start([*DAILY, "--forecast-date", "2024-07-15"], env)
        assert process.stdout is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            if "Trained and registered Coffee_Naive" in line:
                break
        assert "Trained and registered Coffee_Naive" in seen[-1], "".join(seen)
    # The server is gone now; the job must give up within its bounded retries.
    rest, _ = process.communicate(timeout=300)
    output = "".join(seen) + rest
    assert process.returncode == 1, output
    assert "failed: random_walk" in output
    assert "s3cr3t" not in output
    rows = table_rows(spark, home)
    if not rows.empty:  # whatever was written is whole
        forecasts = rows[~rows["is_actuals"]]
        assert (forecasts.groupby(["model_name", "forecast_start_date"]).size() == 100).all()


def test_an_unwritable_table_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the table folder should be")
    result = run(
        [*DAILY, "--forecast-date", "2024-07-15"],
        forecast_env(tmp_path / "home", FORECAST_TABLE=str(blocker / "distributions")),
    )
    assert result.returncode == 1, result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert f"cannot write 201 rows to '{blocker / 'distributions'}'" in error_lines[0]
    assert "Exception" in error_lines[0]  # the JVM's root cause, not "error calling o189"
