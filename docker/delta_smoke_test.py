"""Prove the baked Delta jars work with the pinned Spark: write and read a Delta table.

Runs in the Dockerfile's ``jars`` stage and in CI against the built image, never in a pod.
It starts a Spark session the way the jobs do (``forecast_core.spark.build_spark_session``
with the jar folder of ``FORECAST_SPARK_JARS``, validated by ``forecast_core.jars``, and the
image's spark-defaults.conf; no download), so a Delta build that does not fit the installed
Spark fails the image build, not a job. The jars themselves come from
``scripts/fetch_jars.py`` on the build host.

Usage:
    FORECAST_SPARK_JARS=/opt/forecast/jars python delta_smoke_test.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from forecast_core.errors import ConfigError
from forecast_core.jars import jar_paths


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
    finally:
        spark.stop()
    if ids != list(range(8)):
        raise SystemExit(f"Delta smoke test read back {ids!r}; expected ids 0 to 7")
    print(f"Delta smoke test passed with {len(jars)} jars from {folder}")


if __name__ == "__main__":
    smoke_test(Path(os.environ.get("FORECAST_SPARK_JARS", "")))
    sys.exit(0)
