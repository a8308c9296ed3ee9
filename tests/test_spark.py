"""The shared Spark session: settings the table writer and the jobs rely on."""

from __future__ import annotations

import itertools

import pytest

pytestmark = pytest.mark.slow


def test_an_out_of_memory_driver_exits_instead_of_hanging(spark):
    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert "-XX:+ExitOnOutOfMemoryError" in list(runtime.getInputArguments())


def test_local_tables_are_written_without_crc_side_files(spark, tmp_path):
    location = tmp_path / "table"
    spark.range(10).write.parquet(str(location))
    written = [path.name for path in location.iterdir()]
    assert any(name.endswith(".parquet") for name in written)
    assert not [name for name in written if name.endswith(".crc")]


def test_the_connect_server_gets_every_setting_of_the_embedded_session():
    """One function (``spark_settings``) gives both their settings: they cannot drift."""
    from forecast_core.spark import SESSION_SETTINGS, connect_server_command, spark_settings

    jars = ("/jars/io.delta_delta-spark_2.13-4.4.0.jar",)
    argv = connect_server_command("local[3]", jars, "delta", "0.0.0.0", 15003, "3g")
    assert argv[1:5] == [
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--driver-memory",
        "3g",
    ]
    given = dict(
        value.split("=", 1) for flag, value in itertools.pairwise(argv) if flag == "--conf"
    )
    embedded = spark_settings("local[3]", "commodity-forecast-connect", jars, "delta")
    assert given == {
        **{key: str(value) for key, value in embedded.items()},
        "spark.connect.grpc.binding.address": "0.0.0.0",
        "spark.connect.grpc.binding.port": "15003",
    }
    assert given["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert set(SESSION_SETTINGS) <= set(given)


def test_a_failed_spark_connect_call_is_one_line_naming_its_grpc_status():
    """The text of a Connect call to a server that died, as a job printed it in CI."""
    from pyspark.errors.exceptions.connect import SparkConnectGrpcException

    from forecast_core.errors import first_line

    error = SparkConnectGrpcException(
        "<_InactiveRpcError of RPC that terminated with:\n"
        "\tstatus = StatusCode.UNAVAILABLE\n"
        '\tdetails = "failed to connect to all addresses; last error: UNKNOWN: '
        'ipv4:127.0.0.1:39865: Failed to connect to remote host: Connection refused"\n'
        '\tdebug_error_string = "UNAVAILABLE:failed to connect to all addresses"\n>'
    )
    assert first_line(error) == (
        "Spark Connect call failed, UNAVAILABLE: failed to connect to all addresses; last "
        "error: UNKNOWN: ipv4:127.0.0.1:39865: Failed to connect to remote host: Connection "
        "refused"
    )
