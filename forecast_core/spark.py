"""Build the Spark session the table writer uses: local by default, any master by setting."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from importlib import resources

from pyspark.sql import SparkSession

from forecast_core.forecasts import DAY_COLUMNS
from forecast_core.jars import HADOOP_AWS_JAR
from forecast_core.jvm_console import start_jvm
from forecast_core.names import DEFAULT_SPARK_MASTER as DEFAULT_MASTER
from forecast_core.s3 import S3Settings

# Parquet tries a dictionary for every column chunk and drops it when it does not pay; for
# the path values (2,000 distinct doubles per file) it never pays, and building it cost a
# third of the write's CPU. Repeated columns (names, dates) keep their dictionaries.
# Builder.config(map=...) takes this value type (its dict is invariant).
SparkConf = dict[str, bool | float | int | str | None]
_PARQUET_PATH_COLUMNS: SparkConf = {
    f"spark.hadoop.parquet.enable.dictionary#{day}": "false" for day in DAY_COLUMNS
}
_DELTA_CONF: SparkConf = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def build_spark_session(
    master: str = DEFAULT_MASTER,
    app_name: str = "commodity-forecast",
    jars: Sequence[str] = (),
    table_format: str = "parquet",
) -> SparkSession:
    """Get or create the process's Spark session, configured for the forecast tables.

    Args:
        master: Spark master URL (``local[2]``, ``spark://...``, ``k8s://...``).
        app_name: Name shown in the Spark UI and logs.
        jars: Extra jar files (the Delta Lake jars baked into the image).
        table_format: ``delta`` adds the Delta SQL extension and catalog.

    Spark's scratch folder comes from ``SPARK_LOCAL_DIRS`` (a writable volume in pods).
    With the S3 jars among ``jars``, S3A and Delta's S3 LogStore are set up from the
    environment (``forecast_core.s3``); credentials stay in the environment.
    """
    log_config = resources.files("forecast_core") / "log4j2.properties"
    # An OutOfMemoryError inside Spark's scheduler leaves the job waiting forever (seen
    # when rows were held in the heap); exiting turns it into an error the job reports.
    java_options = f"-Dlog4j2.configurationFile={log_config} -XX:+ExitOnOutOfMemoryError"
    conf: SparkConf = {
        "spark.master": master,
        "spark.app.name": app_name,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Fewer, larger Arrow batches and files: the table write is the largest cost.
        "spark.sql.execution.arrow.maxRecordsPerBatch": "100000",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.parquet.compression.codec": "zstd",
        # Local paths without Hadoop's .crc side files: each table file is one file, not
        # two, and one forked chmod instead of two (no native Hadoop library here): 15%
        # off a million-row write. Parquet pages carry their own checksums.
        "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
        "spark.driver.extraJavaOptions": java_options,
        **_PARQUET_PATH_COLUMNS,
    }
    if master.startswith("local"):
        # Spark lists a table with more than 32 partition folders in a Spark job. Locally
        # that job runs on the driver's own cores and costs seconds per thousand folders
        # (one folder per forecast: 44-61 s to scan a 2018-2024 table, 3-10 s listed by
        # the driver); a cluster keeps the distributed listing.
        conf["spark.sql.sources.parallelPartitionDiscovery.threshold"] = "1000000"
        # Delta rebuilds a table's file list in a job of 50 tasks by default, sized for a
        # cluster; on two local cores those cost 10 s a write or read of a tiny table
        # (measured: a replaceWhere of 5 rows 19 s, with one task per core 2.3 s).
        cores = str(_local_cores(master))
        conf["spark.databricks.delta.snapshotPartitions"] = cores
        # VACUUM lists the table in a job of up to 10,000 tasks by default: likewise.
        conf["spark.sql.sources.parallelPartitionDiscovery.parallelism"] = cores
    if jars:
        conf["spark.jars"] = ",".join(jars)
    if any(os.path.basename(jar) == HADOOP_AWS_JAR for jar in jars):
        conf.update(S3Settings.from_env().spark_conf())
    if table_format == "delta":
        conf.update(_DELTA_CONF)
    # The JVM's own console lines that are not news stay out of the job log.
    start_jvm({key: str(value) for key, value in conf.items()})
    builder = SparkSession.builder.config(map=conf)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _local_cores(master: str) -> int:
    """The cores of a ``local``, ``local[N]`` or ``local[*]`` master."""
    match = re.fullmatch(r"local\[(\d+|\*)(?:,\d+)?\]", master)
    if match is None:
        return 1
    return os.cpu_count() or 1 if match[1] == "*" else int(match[1])
