"""The pyfunc example of docs/registry.md, run as written after the quick start's daily run.

Its paths must be the table's rows for that key, bit for bit; the table is read with
delta-rs, an engine we did not write.
"""

from __future__ import annotations

import re
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable

from forecast_core.data import load_dataset

pytestmark = pytest.mark.slow
REGISTRY_DOC = Path(__file__).resolve().parents[1] / "docs" / "registry.md"
DAYS = [f"day_{k}" for k in range(1, 15)]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The quick start's FORECAST_HOME, ``./.forecast``, under the test's folder."""
    return tmp_path / ".forecast"


def _documented_pyfunc_block() -> str:
    blocks = re.findall(r"```python\n(.*?)```", REGISTRY_DOC.read_text(), flags=re.DOTALL)
    (block,) = [b for b in blocks if "mlflow.pyfunc.load_model" in b]
    return block


def _table_paths(home: Path, model_name: str) -> np.ndarray:
    rows = DeltaTable(str(home / "tables" / "distributions")).to_pandas(
        filters=[("model_name", "=", model_name)]
    )
    rows = rows[rows["forecast_start_date"] == pd.Timestamp("2025-11-14").date()]
    return rows.sort_values("path_id")[DAYS].to_numpy()


def test_the_documented_example_runs_and_gives_the_tables_paths(
    invoke, home, tmp_path, monkeypatch, spark
):
    daily = invoke("daily", "--forecast-date", "2025-11-14", "--models", "naive,xgboost")
    assert daily.exit_code == 0, daily.output
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(_documented_pyfunc_block(), str(REGISTRY_DOC), "exec"), namespace)
    paths = namespace["paths"]
    assert isinstance(paths, pd.DataFrame)
    assert paths.shape == (2000, 15)
    table = _table_paths(home, "xgboost")
    assert table.shape == (2000, 14)
    np.testing.assert_array_equal(paths[DAYS].to_numpy(), table)
    # The other model too, through its features frame this time.
    naive = mlflow.pyfunc.load_model("models:/coffee_naive/1")
    features = load_dataset().history("coffee").observations
    naive_paths = naive.predict(features, params={"forecast_date": "2025-11-14"})
    np.testing.assert_array_equal(naive_paths[DAYS].to_numpy(), _table_paths(home, "naive"))
