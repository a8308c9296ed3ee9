"""A Spark session with the S3 jars on a moto server on loopback: the S3 benchmarks' setup."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pyspark.sql import SparkSession

from forecast_core.jars import check_s3_jars, default_jars_dir, jar_paths
from forecast_core.spark import build_spark_session
from tests.servers import moto_server


@contextlib.contextmanager
def moto_spark(bucket: str, prefix: str) -> Iterator[tuple[SparkSession, Path]]:
    """Start moto, create ``bucket``, open a Delta Spark session with the S3 jars.

    Yields the session and a scratch folder (named from ``prefix``) for local tables; stops
    both and removes the folder afterwards. The jars are ``FORECAST_SPARK_JARS`` (filled by
    ``scripts/install.sh --with-s3``).
    """
    jars_dir = Path(os.environ.get("FORECAST_SPARK_JARS") or default_jars_dir())
    check_s3_jars(jars_dir, dynamodb=False)
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with moto_server(folder) as server:
            # moto takes any key; these are not secrets.
            os.environ.update(
                AWS_ENDPOINT_URL=server.url,
                AWS_REGION="us-east-1",
                AWS_ACCESS_KEY_ID="benchmark",
                AWS_SECRET_ACCESS_KEY="benchmark",
                SPARK_LOCAL_IP="127.0.0.1",
            )
            import boto3

            boto3.client("s3").create_bucket(Bucket=bucket)
            spark = build_spark_session(jars=jar_paths(jars_dir, "delta"), table_format="delta")
            try:
                yield spark, folder
            finally:
                spark.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
