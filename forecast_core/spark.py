"""Build the Spark session the table writer uses: local by default, any master by setting,
or a Spark Connect server's session; and the command that starts such a server."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pyspark
from pyspark.sql import SparkSession

from forecast_core.errors import TableError, first_line
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
# pyspark's own Spark distribution: its launcher scripts and jars (the Connect server's too).
SPARK_HOME = Path(pyspark.__file__).parent
_DELTA_CONF: SparkConf = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


# Runtime SQL settings the jobs rely on, set on every session: the embedded one at its
# start, a Spark Connect session once it is open (a server started by others may lack them).
SESSION_SETTINGS: SparkConf = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Fewer, larger Arrow batches and files: the table write is the largest cost.
    "spark.sql.execution.arrow.maxRecordsPerBatch": "100000",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.compression.codec": "zstd",
}
CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def spark_settings(
    master: str = DEFAULT_MASTER,
    app_name: str = "commodity-forecast",
    jars: Sequence[str] = (),
    table_format: str = "parquet",
) -> SparkConf:
    """Every Spark setting of a JVM that writes the forecast tables: the embedded session's,
    or a Spark Connect server's (``connect_server_command``), so the two cannot drift.

    Args:
        master: Spark master URL (``local[2]``, ``spark://...``, ``k8s://...``).
        app_name: Name shown in the Spark UI and logs.
        jars: Extra jar files (the Delta Lake jars baked into the image).
        table_format: ``delta`` adds the Delta SQL extension and catalog.

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
        **SESSION_SETTINGS,
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
    return conf


def build_spark_session(
    master: str = DEFAULT_MASTER,
    app_name: str = "commodity-forecast",
    jars: Sequence[str] = (),
    table_format: str = "parquet",
) -> SparkSession:
    """Get or create the process's Spark session, configured for the forecast tables.

    Arguments as ``spark_settings``. Spark's scratch folder comes from
    ``SPARK_LOCAL_DIRS`` (a writable volume in pods).
    """
    conf = spark_settings(master, app_name, jars, table_format)
    # The JVM's own console lines that are not news stay out of the job log.
    start_jvm({key: str(value) for key, value in conf.items()})
    builder = SparkSession.builder.config(map=conf)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    if not master.startswith("local"):
        watch_executors(session)
    return session


def connect_session(remote: str) -> SparkSession:
    """A Spark Connect session on the server at ``remote`` (``sc://host:port``), with the
    runtime settings of ``SESSION_SETTINGS``: no JVM in this process.

    The server owns the JVM, its master and executors, the jars, the Delta extension and
    every static setting (``connect_server_command`` starts one with them). A server that
    stops answering is retried for about 25 s (the client's default waits 10
    minutes), then the call fails: a job stops with one line rather than hang.

    Raises:
        TableError: The server does not answer.
    """
    # Imported here: the gRPC client loads only where a remote is set.
    from pyspark.errors import PySparkException

    session = SparkSession.builder.remote(remote).getOrCreate()
    bound_connect_retries(session)
    try:
        for key, value in SESSION_SETTINGS.items():
            session.conf.set(key, str(value))
    except PySparkException as error:
        raise TableError(
            f"Spark Connect server {remote!r} did not answer: {first_line(error)}"
        ) from error
    return session


def bound_connect_retries(session: SparkSession) -> None:
    """Make the Spark Connect ``session`` retry a server that stops answering for about
    25 s, not the client's default 10 minutes."""
    from pyspark.sql.connect.client.retries import DefaultPolicy

    # Retried after 50 ms, then 4 times longer each time up to 10 s, 6 times: about 25 s.
    retries = DefaultPolicy(max_retries=6, initial_backoff=50, max_backoff=10_000)
    session.client.set_retry_policies([retries])


def connect_server_command(
    master: str,
    jars: Sequence[str],
    table_format: str,
    host: str,
    port: int,
    driver_memory: str,
) -> list[str]:
    """The argv of pyspark's ``spark-submit`` that runs a Spark Connect server on
    ``host:port`` with ``master``, ``jars``, the settings of ``spark_settings`` and a
    driver heap of ``driver_memory`` (``4g``)."""
    conf = {
        **spark_settings(master, "commodity-forecast-connect", jars, table_format),
        "spark.connect.grpc.binding.address": host,
        "spark.connect.grpc.binding.port": str(port),
    }
    argv = [str(SPARK_HOME / "bin" / "spark-submit"), "--class", CONNECT_SERVER_CLASS]
    argv += ["--driver-memory", driver_memory]
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    return argv


# Spark's own bound on a task set that has no executor it may run on (default 120 s).
EXECUTOR_WAIT_SETTING = "spark.scheduler.excludeOnFailure.unschedulableTaskSetTimeout"
_EXECUTOR_WAIT_DEFAULT = "120s"


def watch_executors(session: SparkSession, poll_seconds: float = 1.0) -> threading.Thread:
    """Cancel the session's jobs once they have waited ``EXECUTOR_WAIT_SETTING`` with no
    executor; returns the watching (daemon) thread.

    On a cluster master, a job whose workers are all gone waits for executors forever:
    Spark requeues the lost tasks (a lost executor counts as no task failure) and waits
    for the master to grant new executors, which never come.
    Spark bounds the like case of a task set whose every executor is excluded with
    ``spark.scheduler.excludeOnFailure.unschedulableTaskSetTimeout``; this applies that
    setting (and its 120 s default) to the case of no executor at all. The cancelled job
    fails with "Job N cancelled because no Spark executor for ...", which the write
    reports as its one-line error (exit 1); a rerun completes the table.
    """
    context = session.sparkContext._jsc.sc()
    limit = float(context.conf().getTimeAsSeconds(EXECUTOR_WAIT_SETTING, _EXECUTOR_WAIT_DEFAULT))
    thread = threading.Thread(
        target=_cancel_jobs_without_executors,
        args=(context, limit, poll_seconds),
        name="spark-executor-watch",
        daemon=True,
    )
    thread.start()
    return thread


def _cancel_jobs_without_executors(context: Any, limit: float, poll_seconds: float) -> None:
    """The loop of ``watch_executors``; ends when the session stops."""
    waiting_since: float | None = None
    while True:
        time.sleep(poll_seconds)
        try:
            if context.isStopped():
                return
            tracker = context.statusTracker()
            jobs = list(tracker.getActiveJobIds())
            # The driver is one of the executor infos.
            executors = len(tracker.getExecutorInfos()) - 1
        except Exception:  # the JVM is gone: nothing left to watch
            return
        if not jobs or executors > 0:
            waiting_since = None
            continue
        waiting_since = waiting_since or time.monotonic()
        if time.monotonic() - waiting_since >= limit:
            reason = (
                f"because no Spark executor for {limit:g} s (the cluster's workers are gone; "
                f"{EXECUTOR_WAIT_SETTING} sets the wait)"
            )
            for job in jobs:
                context.cancelJob(job, reason)
            waiting_since = None


def _local_cores(master: str) -> int:
    """The cores of a ``local``, ``local[N]`` or ``local[*]`` master."""
    match = re.fullmatch(r"local\[(\d+|\*)(?:,\d+)?\]", master)
    if match is None:
        return 1
    return os.cpu_count() or 1 if match[1] == "*" else int(match[1])
