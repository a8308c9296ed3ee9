"""The S3 server stops answering in the middle of a backfill: bounded retries, exit 1; a
rerun once it is back completes the table with nothing duplicated and no commit lost.

The server is paused (SIGSTOP), not killed: moto keeps its objects in memory, and a paused
process is what a dropped network looks like to the client (connections that never answer).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

from tests.servers import moto_server

from .conftest import REGION, S3Server, job_env, new_bucket

pytestmark = pytest.mark.slow

N_PATHS = 40
BACKFILL = (
    "backfill",
    "--start", "2024-01-01",
    "--end", "2024-03-31",
    "--train-frequency", "monthly",
    "--models", "naive",
    "--n-paths", str(N_PATHS),
    "--flush-rows", str(8 * (N_PATHS + 1)),
)  # fmt: skip
# The run that loses its store gives up sooner than with the defaults (about 100 s after
# the pause, most of it S3A retrying the PUT of Delta's post-commit checksum file, then
# delta-rs retrying its read of the log for 30 s): each call waits 5 s for an answer, not
# 10 (FORECAST_S3_TIMEOUT, delta-rs's retries then stop after 15 s), and S3A tries a call
# twice, not 4 times (its per-bucket setting, which takes precedence over the session's,
# read by Spark from the conf folder a pod would mount). Two tries of 5 s still ride out
# a slow answer of a loaded machine before the pause. The rerun keeps the defaults.
OUTAGE_TIMEOUT = {"FORECAST_S3_TIMEOUT": "5"}
OUTAGE_S3A = {"retry.limit": "1"}


def _commits(server: S3Server, bucket: str) -> list[str]:
    listed = server.client("s3").list_objects_v2(Bucket=bucket, Prefix="distributions/_delta_log/")
    return sorted(
        item["Key"] for item in listed.get("Contents", []) if item["Key"].endswith(".json")
    )


def test_a_store_that_stops_answering_fails_the_run_and_a_rerun_completes_it(
    s3_jars: Path, tmp_path: Path
):
    with moto_server(tmp_path) as moto:
        server = S3Server(moto.url, "AKIAOUTAGETEST", "outage-test-secret")
        bucket = new_bucket(server)
        env = job_env(server, s3_jars, tmp_path / "home")
        table = f"s3a://{bucket}/distributions"
        command = [sys.executable, "-m", "jobs", *BACKFILL, "--table", table]
        root = Path(__file__).resolve().parents[2]
        conf = tmp_path / "spark-conf"
        conf.mkdir()
        (conf / "spark-defaults.conf").write_text(
            "".join(
                f"spark.hadoop.fs.s3a.bucket.{bucket}.{key} {value}\n"
                for key, value in OUTAGE_S3A.items()
            )
        )
        run = subprocess.Popen(
            command,
            env={**env, **OUTAGE_TIMEOUT, "SPARK_CONF_DIR": str(conf)},
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 600
        while len(_commits(server, bucket)) < 2:  # the table exists and holds a batch
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "no commit within 10 minutes"
            time.sleep(0.5)
        os.kill(moto.pid, signal.SIGSTOP)
        try:
            stdout, stderr = run.communicate(timeout=900)
        finally:
            os.kill(moto.pid, signal.SIGCONT)
        assert run.returncode == 1, stdout[-2000:] + stderr[-2000:]
        assert "Error: run stopped:" in stderr
        assert server.secret_key not in stdout + stderr

        rerun = subprocess.run(
            command, env=env, cwd=root, capture_output=True, text=True, timeout=900, check=False
        )
        assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
        assert "already present 0" not in rerun.stdout  # the first run's batches were kept

        commits = _commits(server, bucket)
        versions = [int(Path(key).stem) for key in commits]
        assert versions == list(range(len(versions)))  # no version missing or overwritten
        rows = (
            DeltaTable(
                f"s3://{bucket}/distributions",
                storage_options={
                    "AWS_ENDPOINT_URL": server.url,
                    "AWS_REGION": REGION,
                    "AWS_ACCESS_KEY_ID": server.access_key,
                    "AWS_SECRET_ACCESS_KEY": server.secret_key,
                    "AWS_ALLOW_HTTP": "true",
                },
            )
            .to_pyarrow_table()
            .to_pandas()
        )
    forecasts = rows[~rows["is_actuals"]]
    per_key = forecasts.groupby(["model_name", "forecast_start_date"]).size()
    assert set(per_key) == {N_PATHS}  # every forecast exactly once, whole
    assert not rows.duplicated(["model_name", "forecast_start_date", "path_id"]).any()
    assert len(per_key) == 91  # every day of 2024-01-01..2024-03-31 (`forecast plan`)
