"""Prove the baked Delta jars work with the pinned Spark: write and read a Delta table, and
load the project's LogStore for s3a:// as the session is set to use it.

Runs in the Dockerfile's ``jars`` stage and in CI against the built image, never in a pod.
It starts a Spark session the way the jobs do (``forecast_core.spark.build_spark_session``
with the jar folder of ``FORECAST_SPARK_JARS``, validated by ``forecast_core.jars``, and the
image's spark-defaults.conf; no download), so a Delta build that does not fit the installed
Spark fails the image build, not a job; so does a LogStore jar that does not load or is not
the one the session names for ``s3a://`` (there is no S3 here to commit to). The jars
themselves come from ``scripts/fetch_jars.py --with-s3`` on the build host.

Usage:
    FORECAST_SPARK_JARS=/opt/forecast/jars python delta_smoke_test.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from forecast_core.errors import ConfigError
from forecast_core.jars import jar_paths
from forecast_core.s3 import CONDITIONAL_LOGSTORE


def smoke_test(folder: Path) -> None:
    """Write and read a Delta table with the jars of ``folder``.

    Raises:
        SystemExit: ``folder`` holds no Delta jar, or the table read back differs.
    """
    try:
        jars = jar_paths(folder, "delta")
    except ConfigError as error:
        raise SystemExit(f"FORECAST_SPARK_JARS={str(folder)!r}: {error}") from None
    from forecast_core.spark import build_spark_session

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = build_spark_session("local[1]", "delta-smoke-test", jars=jars, table_format="delta")
    try:
        with tempfile.TemporaryDirectory(prefix="delta-smoke-") as table_dir:
            table_path = str(Path(table_dir) / "table")
            spark.range(5).write.format("delta").mode("overwrite").save(table_path)
            spark.range(5, 8).write.format("delta").mode("append").save(table_path)
            ids = sorted(row.id for row in spark.read.format("delta").load(table_path).collect())
        logstore = s3_logstore(spark)
    finally:
        spark.stop()
    if ids != list(range(8)):
        raise SystemExit(f"Delta smoke test read back {ids!r}; expected ids 0 to 7")
    print(f"Delta smoke test passed with {len(jars)} jars from {folder}; s3a:// by {logstore}")


def s3_logstore(spark: Any) -> str:
    """Load the LogStore the session names for ``s3a://`` and check it is the project's and
    a Delta LogStore that reports no partial writes; its class name.

    Raises:
        SystemExit: Another LogStore is named, or it does not load or is not a LogStore.
    """
    conf = spark.sparkContext.getConf()
    named = conf.get("spark.delta.logStore.s3a.impl", None)
    if named != CONDITIONAL_LOGSTORE:
        raise SystemExit(
            f"the session's s3a:// LogStore is {named!r}; expected {CONDITIONAL_LOGSTORE}"
        )
    jvm = spark._jvm
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    found = jvm
    for part in named.split("."):
        found = getattr(found, part)
    try:
        store = found(hadoop_conf)
    except TypeError:  # py4j gives a package, not a class, for a name that did not load
        raise SystemExit(f"{named} does not load: is its jar in the folder?") from None
    loader = store.getClass().getClassLoader()
    base = jvm.java.lang.Class.forName("io.delta.storage.LogStore", True, loader)
    path = jvm.org.apache.hadoop.fs.Path("s3a://bucket/table/_delta_log/00000000000000000000.json")
    if not base.isInstance(store) or store.isPartialWriteVisible(path, hadoop_conf):
        raise SystemExit(f"{named} is not a Delta LogStore without partial writes")
    return str(named)


if __name__ == "__main__":
    smoke_test(Path(os.environ.get("FORECAST_SPARK_JARS", "")))
    sys.exit(0)
