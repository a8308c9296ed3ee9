"""The Delta jar folder: what scripts/fetch_jars.py leaves, and what a job says without it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from forecast_core.errors import ConfigError
from forecast_core.jars import DELTA_JAR, FETCH_COMMAND, default_jars_dir, jar_paths

REPO_ROOT = Path(__file__).resolve().parents[1]


def _fetch_script():
    spec = importlib.util.spec_from_file_location(
        "fetch_jars", REPO_ROOT / "scripts" / "fetch_jars.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fetched_folder_holds_delta_and_nothing_spark_ships():
    # scripts/install.sh (run by .ci/run) filled it: the jobs and the suite's Spark use it.
    fetch = _fetch_script()
    names = [Path(jar).name for jar in jar_paths(default_jars_dir(), "delta")]
    assert DELTA_JAR in names and "io.delta_delta-storage-4.4.0.jar" in names
    shipped = fetch.spark_artifacts()
    assert {"jackson-core", "parquet-hadoop", "hadoop-client-api"} <= shipped
    duplicated = [n for n in names if fetch._IVY_JAR.match(n)["artifact"] in shipped]
    assert duplicated == []


def test_a_folder_without_delta_names_the_folder_and_the_fetch_command(tmp_path):
    with pytest.raises(ConfigError) as raised:
        jar_paths(tmp_path / "jars", "delta")
    message = str(raised.value)
    assert str(tmp_path / "jars") in message and FETCH_COMMAND in message
    assert "\n" not in message
    assert jar_paths(tmp_path / "jars", "parquet") == ()  # Parquet needs no jar


def test_a_run_without_the_jars_exits_2_and_writes_nothing(invoke, home, tmp_path):
    result = invoke("daily", "--forecast-date", "2025-11-14", "--spark-jars", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "fetch_jars.py" in result.output
    assert not home.exists()
