"""One writer of the LogStore race (test_logstore_race.py), in a process and JVM of its own.

Each round it says it is ready (``ready-WRITER-ROUND`` in the barrier folder), waits for
``go-ROUND``, then appends one row ``(writer, round)`` to the Delta table with the given
LogStore for ``s3a://``. The S3 settings come from the environment, as a job's do.

Usage: python -m tests.s3.race_writer TABLE WRITER ROUNDS BARRIER_FOLDER LOGSTORE_CLASS
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession

from forecast_core.jars import default_jars_dir, jar_paths
from forecast_core.s3 import S3Settings

BARRIER_TIMEOUT_SECONDS = 600
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def session(logstore: str) -> SparkSession:
    """A local Spark session with the Delta and S3 jars, the job's S3 settings, and
    ``logstore`` for ``s3a://`` (given to the builder: Delta reads it from SparkConf)."""
    folder = Path(os.environ.get("FORECAST_SPARK_JARS") or default_jars_dir())
    builder = (
        SparkSession.builder.master("local[1]")
        .appName("logstore-race")
        .config("spark.ui.enabled", "false")
        .config("spark.jars", ",".join(jar_paths(folder, "delta")))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", DELTA_CATALOG)
        .config("spark.databricks.delta.snapshotPartitions", "1")
        .config(map=dict(S3Settings.from_env().spark_conf()))
        .config("spark.delta.logStore.s3a.impl", logstore)
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def wait_for(signal: Path) -> None:
    """Poll for ``signal`` (the parent's go) every few milliseconds."""
    deadline = time.monotonic() + BARRIER_TIMEOUT_SECONDS
    while not signal.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"no {signal} after {BARRIER_TIMEOUT_SECONDS} s")
        time.sleep(0.005)


def main(table: str, writer: str, rounds: int, barrier: Path, logstore: str) -> None:
    """Append one row per round, each after the barrier."""
    spark = session(logstore)
    for round_index in range(rounds):
        (barrier / f"ready-{writer}-{round_index}").touch()
        wait_for(barrier / f"go-{round_index}")
        row = spark.createDataFrame([(writer, round_index)], "writer string, round int")
        row.write.format("delta").mode("append").save(table)
    spark.stop()


if __name__ == "__main__":
    table, writer, rounds, barrier, logstore = sys.argv[1:6]
    main(table, writer, int(rounds), Path(barrier), logstore)
