"""The CLI starts light: importing it loads none of the heavy libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from forecast_core.models import get_model_class
from forecast_core.names import MODELS

HEAVY = ("pyspark", "mlflow", "statsmodels", "xgboost")
ROOT = Path(__file__).resolve().parents[2]


def _modules_after(code: str) -> set[str]:
    """The top-level modules a fresh interpreter holds after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, check=True
    )
    return {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}


def test_importing_the_cli_loads_no_heavy_library():
    assert _modules_after("import jobs.cli").isdisjoint(HEAVY)


def test_checking_a_run_config_loads_no_model_library():
    loaded = _modules_after(
        "from forecast_core.cadence import Cadence\n"
        "from forecast_core.config import RunConfig\n"
        "RunConfig('coffee', ('naive', 'xgboost', 'sarimax'), Cadence('weekly'))"
    )
    assert loaded.isdisjoint(HEAVY)


def test_importing_the_pipeline_loads_neither_storage_nor_mlflow():
    loaded = _modules_after("import forecast_core.pipeline")
    assert loaded.isdisjoint(("pyspark", "deltalake", "mlflow"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_named_model_builds_under_its_name(name):
    assert get_model_class(name).name == name
