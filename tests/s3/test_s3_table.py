"""The daily job writes its Delta table to ``s3a://`` on a real S3 API (moto on loopback),
with its own JVM or through a Spark Connect server; delta-rs reads the same rows there, a
rerun writes nothing, and no credential is printed."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from deltalake import DeltaTable

from forecast_core.tables.staging import STAGING_FOLDER
from tests.spark_connect import ConnectServer, connect_server

from .conftest import REGION, S3Server, run_forecast, s3_settings

pytestmark = pytest.mark.slow

DAILY = ("daily", "--forecast-date", "2024-07-15", "--models", "naive,random_walk")
N_PATHS = 30
SPARK_CONF_DUMP = """
from forecast_core.jars import jar_paths
from forecast_core.spark import build_spark_session
import os, pathlib
jars = jar_paths(pathlib.Path(os.environ["FORECAST_SPARK_JARS"]), "delta")
spark = build_spark_session(jars=jars, table_format="delta")
for key, value in sorted(spark.sparkContext.getConf().getAll()):
    print(f"{key}={value}")
print(spark.sparkContext._jsc.hadoopConfiguration().get("fs.s3a.endpoint"))
"""


def _delta_rs(s3_server: S3Server, location: str) -> DeltaTable:
    """The table as delta-rs sees it, with its own S3 options (not the project's)."""
    return DeltaTable(
        location,
        storage_options={
            "AWS_ENDPOINT_URL": s3_server.url,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": s3_server.access_key,
            "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
            "AWS_ALLOW_HTTP": "true",
        },
    )


@pytest.fixture(scope="module")
def s3_connect_server(s3_server, s3_jars, tmp_path_factory) -> Iterator[ConnectServer]:
    """A Spark Connect server on loopback with the S3 jars and the S3 server's settings."""
    with connect_server(
        tmp_path_factory.mktemp("s3-connect"), environment=s3_settings(s3_server, s3_jars)
    ) as server:
        yield server


@pytest.fixture(params=["local", "connect"])
def spark_args(request) -> tuple[str, ...]:
    """The job's own JVM, or the loopback Connect server, whose executors read the rows
    that the job stages on S3 (``tables.staging``)."""
    if request.param == "local":
        return ()
    return ("--spark-remote", request.getfixturevalue("s3_connect_server").url)


def test_daily_writes_s3a_delta_rs_reads_it_and_a_rerun_writes_nothing(
    s3_server, bucket, s3_env, spark_args
):
    table = f"s3a://{bucket}/forecasts/distributions"
    args = (*DAILY, "--n-paths", str(N_PATHS), "--table", table, *spark_args)
    first = run_forecast(*args, env=s3_env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    written = int(re.search(r"Wrote (\d+) rows", first.stdout)[1])

    reader = _delta_rs(s3_server, f"s3://{bucket}/forecasts/distributions")
    rows = reader.to_pyarrow_table().to_pandas()
    assert len(rows) == written == 2 * N_PATHS + 1  # two models' paths and the actuals
    forecasts = rows[~rows["is_actuals"]]
    assert forecasts.groupby("model_name").size().to_dict() == {
        "naive": N_PATHS,
        "random_walk": N_PATHS,
    }
    assert not forecasts.duplicated(["model_name", "forecast_start_date", "path_id"]).any()
    version = reader.version()

    second = run_forecast(*args, env=s3_env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "generated 0, already present 2" in second.stdout
    assert _delta_rs(s3_server, f"s3://{bucket}/forecasts/distributions").version() == version

    listed = s3_server.client("s3").list_objects_v2(Bucket=bucket)["Contents"]
    staged = [o["Key"] for o in listed if f"/{STAGING_FOLDER}/" in o["Key"]]
    assert not [key for key in staged if key.endswith(".parquet")]  # deleted once written

    printed = first.stdout + first.stderr + second.stdout + second.stderr
    assert s3_server.secret_key not in printed and s3_server.access_key not in printed


def test_the_spark_configuration_holds_no_credential(s3_server, s3_env):
    dump = subprocess.run(
        [sys.executable, "-c", SPARK_CONF_DUMP],
        capture_output=True,
        text=True,
        env=s3_env,
        timeout=600,
        check=False,
    )
    assert dump.returncode == 0, dump.stderr[-3000:]
    assert "spark.hadoop.fs.s3a.path.style.access=true" in dump.stdout
    assert dump.stdout.strip().splitlines()[-1] == s3_server.url  # S3A got the endpoint
    everything = dump.stdout + dump.stderr
    assert s3_server.secret_key not in everything and s3_server.access_key not in everything
