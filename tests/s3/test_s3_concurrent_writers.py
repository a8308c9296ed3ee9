"""The daily job, a 2-shard backfill and a `forecast data load` at the same time, against one
``s3a://`` distributions table and ``s3a://`` input tables on a real S3 API (moto on
loopback), committing through the project's LogStore with the default flush size: every
forecast is there exactly once, the Delta log has no gap, delta-rs reads what Spark reads,
and a rerun writes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable

from forecast_core.config import StoreConfig
from forecast_core.data import sample_data_path
from forecast_core.registry.store import ModelRegistry
from forecast_core.tables.schemas import DAY_COLUMNS
from tests.cli_args import Q1_2024_MONTHLY
from tests.hardening.conftest import finish, start, table_rows

from .conftest import REGION, S3Server, job_env, spark_reads_bucket

pytestmark = pytest.mark.slow

MODELS = ("naive", "random_walk")
N_PATHS = 50
RUN = ["--models", ",".join(MODELS), "--n-paths", str(N_PATHS)]
BACKFILL = ["backfill", *Q1_2024_MONTHLY, *RUN]
# Inside shard 1's window: the daily run races it for the same model slot and forecast.
DAILY = ["daily", "--forecast-date", "2024-02-15", "--train-frequency", "monthly", *RUN]
FORECAST_DATES = 91  # 2024-01-01 .. 2024-03-31
KEY = ["model_name", "forecast_start_date", "is_actuals", "path_id"]
LOG_ENTRY = re.compile(r"_delta_log/(\d{20})\.json$")


def _delta_rs(s3_server: S3Server, location: str) -> DeltaTable:
    return DeltaTable(
        location.replace("s3a://", "s3://"),
        storage_options={
            "AWS_ENDPOINT_URL": s3_server.url,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": s3_server.access_key,
            "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
            "AWS_ALLOW_HTTP": "true",
        },
    )


def _prices_split(folder: Path) -> tuple[Path, Path]:
    """The sample's prices up to 2024 (loaded first) and from 2025 (loaded during the race:
    after every forecast's data cutoff, so no forecast depends on when it lands)."""
    prices = pd.read_csv(sample_data_path() / "prices.csv.gz")
    early, late = folder / "prices-early.csv", folder / "prices-late.csv"
    prices[prices["date"] < "2025-01-01"].to_csv(early, index=False)
    prices[prices["date"] >= "2025-01-01"].to_csv(late, index=False)
    return early, late


def _log_versions(s3_server: S3Server, bucket: str, prefix: str) -> list[int]:
    listed = s3_server.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/_delta_log/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    return sorted(int(m[1]) for key in keys if (m := LOG_ENTRY.search(key)))


def test_daily_backfill_and_data_load_at_once_on_s3a(
    s3_server, s3_jars, bucket, spark, tmp_path: Path
):
    home = tmp_path / "home"
    home.mkdir()
    table, data = f"s3a://{bucket}/tables/distributions", f"s3a://{bucket}/inputs"
    tracking_uri = StoreConfig.embedded(home).tracking_uri
    ModelRegistry(tracking_uri).list_versions("coffee", "naive", "v1.0")  # the store first
    env = {**job_env(s3_server, s3_jars, home), "FORECAST_TABLE": table, "FORECAST_DATA": data}
    early, late = _prices_split(tmp_path)
    weather = str(sample_data_path() / "weather.csv.gz")
    first = finish(start(["data", "load", "--prices", str(early), "--weather", weather], env))
    assert first.returncode == 0, first.output

    shard_env = {**env, "FORECAST_SHARD_COUNT": "2"}
    writers = [
        start(BACKFILL, {**shard_env, "JOB_COMPLETION_INDEX": str(index)}) for index in range(2)
    ]
    writers.append(start(DAILY, env))
    writers.append(start(["data", "load", "--prices", str(late)], env))
    for result in [finish(writer, timeout=1200) for writer in writers]:
        assert result.returncode == 0, result.output[-4000:]

    spark_reads_bucket(spark, s3_server, bucket)
    rows = table_rows(spark, home, table)
    forecasts = rows[~rows["is_actuals"]]
    per_key = forecasts.groupby(["model_name", "forecast_start_date"])["path_id"]
    assert len(per_key) == len(MODELS) * FORECAST_DATES  # every forecast is there...
    assert (per_key.size() == N_PATHS).all() and (per_key.nunique() == N_PATHS).all()  # once
    assert rows["is_actuals"].sum() == FORECAST_DATES

    # delta-rs reads the same rows as Spark.
    reader = _delta_rs(s3_server, table)
    columns = [*KEY, *DAY_COLUMNS]
    seen_by_rs = reader.to_pandas(columns=columns)
    for frame in (rows, seen_by_rs):
        frame["forecast_start_date"] = pd.to_datetime(frame["forecast_start_date"])
    pd.testing.assert_frame_equal(
        rows[columns].sort_values(KEY).reset_index(drop=True),
        seen_by_rs.sort_values(KEY).reset_index(drop=True),
        check_dtype=False,
    )

    # The log has no gap, every entry was written by the project's LogStore (its writer id).
    versions = _log_versions(s3_server, bucket, "tables/distributions")
    assert versions == list(range(len(versions)))
    assert sorted(commit["version"] for commit in reader.history()) == versions
    s3 = s3_server.client("s3")
    for version in versions:
        entry = f"tables/distributions/_delta_log/{version:020d}.json"
        assert "delta-writer-id" in s3.head_object(Bucket=bucket, Key=entry)["Metadata"], entry

    # The input tables took both loads (delta-rs, conditional put).
    prices = pd.read_csv(sample_data_path() / "prices.csv.gz")
    inputs = _delta_rs(s3_server, f"{data}/prices")
    assert inputs.version() == 1 and len(inputs.to_pandas(columns=["date"])) == len(prices)

    # A rerun writes nothing.
    rerun = [start(BACKFILL, {**shard_env, "JOB_COMPLETION_INDEX": str(i)}) for i in range(2)]
    rerun.append(start(DAILY, env))
    for result in [finish(writer, timeout=1200) for writer in rerun]:
        assert result.returncode == 0, result.output[-4000:]
    assert _log_versions(s3_server, bucket, "tables/distributions") == versions
