"""The shared Spark session: settings the table writer and the jobs rely on."""

from __future__ import annotations

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
