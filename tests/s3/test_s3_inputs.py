"""The input tables on ``s3a://``: `forecast data load` creates and merges them on a real
S3 API (moto on loopback) with delta-rs, and a run's loader reads what was merged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from forecast_core.data import sample_data_path
from forecast_core.tables.inputs import load_inputs

from .conftest import run_forecast

pytestmark = pytest.mark.slow  # needs the S3 jars' environment, as every test here

SAMPLE = sample_data_path()


@pytest.fixture
def env(s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The job's S3 environment, in this process too (for the loader read in the test)."""
    for key, value in s3_env.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("FORECAST_DATA", raising=False)
    return s3_env


def test_data_load_creates_merges_and_corrects_the_s3_tables(env, bucket, tmp_path: Path):
    root = f"s3a://{bucket}/inputs"
    load = ("data", "load", "--data", root)
    first = run_forecast(
        *load,
        "--prices",
        str(SAMPLE / "prices.csv.gz"),
        "--weather",
        str(SAMPLE / "weather.csv.gz"),
        env=env,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"{root}/prices: " in first.stdout and "inserted" in first.stdout

    again = run_forecast(*load, "--prices", str(SAMPLE / "prices.csv.gz"), env=env)
    assert again.returncode == 0 and "unchanged" in again.stdout

    prices = pd.read_csv(SAMPLE / "prices.csv.gz")
    corrected = prices[prices["commodity"] == "coffee"].tail(1).assign(close=lambda f: f["low"])
    corrected.to_csv(tmp_path / "fix.csv", index=False)
    fix = run_forecast(*load, "--prices", str(tmp_path / "fix.csv"), env=env)
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert "0 rows inserted, 1 updated; version 1" in fix.stdout

    dataset = load_inputs(root)
    assert dataset.versions == {"prices": 1, "weather": 0}
    held = dataset.history("coffee").observations
    last = held.loc[held["date"] == pd.Timestamp(corrected["date"].iloc[0])]
    assert last["close"].iloc[0] == pytest.approx(corrected["close"].iloc[0])
    assert len(dataset.prices) == len(prices)
