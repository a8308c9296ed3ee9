"""A write through a cluster or Spark Connect stages its rows under an ``s3a://`` table's
root: pyarrow puts the file on a real S3 API (moto on loopback), Spark reads it by S3A, and
it is gone once the block ends."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from forecast_core.tables.staging import STAGING_FOLDER, staged_file, staging_folder

from .conftest import REGION, spark_reads_bucket


# One small batch goes in a single PutObject; a backfill's (~150 MB for a million rows)
# in a multipart upload, whose parts are 10 MB: 1.5 M doubles (12 MB) take two.
@pytest.mark.parametrize("count", [3, 1_500_000], ids=["one put", "multipart"])
def test_rows_staged_on_s3_are_read_by_spark_then_deleted(
    s3_server, bucket, spark, monkeypatch, count
):
    for key, value in {
        "AWS_ENDPOINT_URL": s3_server.url,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
    }.items():
        monkeypatch.setenv(key, value)
    spark_reads_bucket(spark, s3_server, bucket)
    rows = pa.table({"path_id": pa.array(range(count), pa.int32()), "day_1": np.arange(count) / 8})
    folder = staging_folder(f"s3a://{bucket}/forecasts/distributions")
    assert folder == f"s3a://{bucket}/forecasts/distributions/{STAGING_FOLDER}"

    with staged_file(rows, folder) as uri:
        assert uri.startswith(f"{folder}/rows-") and uri.endswith(".parquet")
        read = spark.read.parquet(uri).selectExpr("count(*)", "sum(path_id)", "max(day_1)")
        assert tuple(read.first()) == (count, count * (count - 1) // 2, (count - 1) / 8)

    listed = s3_server.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    assert not [o["Key"] for o in listed if o["Key"].endswith(".parquet")]
