"""SIGKILL a backfill shard at several points, rerun it, and get the uninterrupted result:
with the table in a local folder, and on ``s3a://`` (moto on loopback, the project's
LogStore)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pytest

from forecast_core.config import StoreConfig
from forecast_core.registry.lifecycle import ModelLifecycle
from tests.cli_args import Q1_2024_MONTHLY
from tests.hardening.conftest import kill_when, run, table_rows
from tests.job_env import forecast_env
from tests.s3.conftest import new_bucket, s3_settings, spark_reads_bucket

pytestmark = pytest.mark.slow
N_PATHS = 200
# Shard 0 of 2 owns the January and February windows (the plan balances forecast counts:
# 31 + 29 dates against March's 31); small flushes give several writes.
SHARD = [
    "backfill",
    *Q1_2024_MONTHLY,
    "--models",
    "naive,random_walk",
    "--n-paths",
    str(N_PATHS),
    "--flush-rows",
    "8000",
]
SHARD_ENV = {"JOB_COMPLETION_INDEX": "0", "FORECAST_SHARD_COUNT": "2"}
# Kill points outside a table write leave no commit half-made, so they run on the local
# table only; the kill points inside a write run on both places.
OUTSIDE_A_WRITE = [
    pytest.param("Checking random_walk... retraining needed", 0.0, id="while-training"),
    pytest.param(
        "Trained and registered Coffee_RandomWalk_2024-02-01",
        0.0,
        id="between-registering-and-writing",
    ),
]
IN_A_WRITE = [
    pytest.param("Writing ", 1.0, id="early-in-a-table-write"),
    pytest.param("Writing ", 3.0, id="late-in-a-table-write"),
]
CASES = [
    pytest.param(*point.values, place, id=f"{point.id}-{place}")
    for points, places in ((OUTSIDE_A_WRITE, ["local"]), (IN_A_WRITE, ["local", "s3a"]))
    for point in points
    for place in places
]


@dataclass(frozen=True)
class Place:
    """Where the shard writes its table: the home's folder (no location), or ``s3a://``."""

    location: str | None = None
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def place(request, spark) -> Place:
    """The table's place; on ``s3a://`` a new bucket on moto that Spark here reads too."""
    if request.param == "local":
        return Place()
    server = request.getfixturevalue("s3_server")
    bucket = new_bucket(server)
    spark_reads_bucket(spark, server, bucket)
    location = f"s3a://{bucket}/distributions"
    env = {**s3_settings(server, request.getfixturevalue("s3_jars")), "FORECAST_TABLE": location}
    return Place(location, env)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, spark) -> tuple[pd.DataFrame, list[tuple]]:
    home = tmp_path_factory.mktemp("uninterrupted")
    result = run(SHARD, forecast_env(home, **SHARD_ENV))
    assert result.returncode == 0, result.output
    return table_rows(spark, home), _registered(home)


def _registered(home) -> list[tuple]:
    lifecycle = ModelLifecycle(StoreConfig.embedded(home).tracking_uri)
    return [(v.name, v.version, v.tags["training_date"]) for v in lifecycle.versions("coffee")]


def _assert_no_partial_forecast(rows: pd.DataFrame) -> None:
    if rows.empty:
        return
    forecasts = rows[~rows["is_actuals"]]
    sizes = forecasts.groupby(["model_name", "forecast_start_date"]).size()
    assert (sizes == N_PATHS).all(), sizes[sizes != N_PATHS]


@pytest.mark.parametrize(("marker", "delay", "place"), CASES, indirect=["place"])
def test_a_killed_shard_rerun_equals_an_uninterrupted_run(
    tmp_path, spark, uninterrupted, place, marker, delay
):
    home = tmp_path / "home"
    env = forecast_env(home, **SHARD_ENV, **place.env)
    killed = kill_when(SHARD, env, marker, delay)
    assert killed.returncode == -9, killed.output  # it really died mid-run
    # What a reader sees after the crash.
    _assert_no_partial_forecast(table_rows(spark, home, place.location))

    rerun = run(SHARD, env)
    assert rerun.returncode == 0, rerun.output
    expected_rows, expected_models = uninterrupted
    rows = table_rows(spark, home, place.location)
    pd.testing.assert_frame_equal(
        rows.drop(columns="generation_timestamp"),
        expected_rows.drop(columns="generation_timestamp"),
    )
    assert _registered(home) == expected_models
