"""``forecast connect-server``: run a Spark Connect server for the jobs (``--spark-remote``).

The server is pyspark's own ``spark-submit`` of Spark's ``SparkConnectServer``, with the
project's jars and the settings of the embedded session (``forecast_core.spark``): this
process becomes it (exec), so a pod's signals reach the JVM.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from forecast_core.jars import jar_paths
from jobs import options
from jobs.common import exit_on_setup_errors

DEFAULT_PORT = 15002  # Spark Connect's own default


@click.command("connect-server")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="FORECAST_CONNECT_HOST",
    show_envvar=True,
    help="Address the server listens on (0.0.0.0 in a pod behind a Service).",
)
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    envvar="FORECAST_CONNECT_PORT",
    show_envvar=True,
    help="gRPC port of the server (the port of the jobs' sc://HOST:PORT).",
)
@options.SPARK_MASTER_OPTION
@options.SPARK_JARS_OPTION
@options.TABLE_FORMAT_OPTION
@options.CONNECT_DRIVER_MEMORY_OPTION
@exit_on_setup_errors
def connect_server(
    host: str,
    port: int,
    spark_master: str,
    spark_jars: Path,
    table_format: str,
    driver_memory: str,
) -> None:
    """Run a Spark Connect server with the jobs' jars and settings, until stopped.

    Jobs given --spark-remote sc://HOST:PORT (FORECAST_SPARK_REMOTE) run their Spark here
    instead of starting a JVM of their own; --spark-master is this server's master. With
    the S3 jars in --spark-jars, S3A is set from the environment, as for a job.
    """
    from forecast_core.spark import SPARK_HOME, connect_server_command

    jars = jar_paths(spark_jars, table_format)
    argv = connect_server_command(spark_master, jars, table_format, host, port, driver_memory)
    environment = {**os.environ, "SPARK_HOME": str(SPARK_HOME)}
    environment.setdefault("PYSPARK_PYTHON", sys.executable)
    if host == "127.0.0.1":  # the driver and its block manager stay on loopback too
        environment.setdefault("SPARK_LOCAL_IP", host)
    sys.stdout.flush()
    os.execve(argv[0], argv, environment)
