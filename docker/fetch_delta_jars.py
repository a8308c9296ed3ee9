"""Image build step: fetch the Delta Lake jars once, and prove they work with the pinned Spark.

``resolve`` runs on the build host (scripts/build_image.sh); ``smoke-test`` runs in the
Dockerfile's ``jars`` stage and in CI against the built image, never in a pod (pods have no
Maven access and start faster without it).

``resolve`` lets Spark's own resolver (Ivy, the same code path as ``spark.jars.packages``)
download a Delta package with its transitive dependencies, then copies the jars flat into
``--dest``. ``smoke-test`` starts a fresh Spark session the way the jobs do
(``forecast_core.spark.build_spark_session`` with the jars of ``FORECAST_SPARK_JARS``, a
folder in the image, and the image's spark-defaults.conf, no download), writes a small
Delta table and reads it back: a Delta build that does not fit the installed Spark fails
the image build here, not a job.

Usage:
    python fetch_delta_jars.py resolve --package io.delta:delta-spark_2.13:4.4.0 \
        --dest .build/jars [--repository https://maven.example.com/maven2]
    FORECAST_SPARK_JARS=/opt/forecast/jars python fetch_delta_jars.py smoke-test
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path


def resolve(package: str, dest: Path, repository: str) -> list[Path]:
    """Download ``package`` and its dependencies with Spark's resolver and copy them to ``dest``.

    Args:
        package: A Maven coordinate ``group:artifact:version``.
        dest: The folder the jars are copied to (created if missing).
        repository: An extra Maven repository URL, or "" for Maven Central only.

    Returns:
        The copied jar paths, sorted.

    Raises:
        SystemExit: If resolution yields no jar.
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    with tempfile.TemporaryDirectory(prefix="ivy-") as ivy_dir:
        builder = (
            SparkSession.builder.master("local[1]")
            .appName("fetch-delta-jars")
            .config("spark.ui.enabled", "false")
            .config("spark.jars.packages", package)
            .config("spark.jars.ivy", ivy_dir)
        )
        if repository:
            builder = builder.config("spark.jars.repositories", repository)
        builder.getOrCreate().stop()
        resolved = sorted((Path(ivy_dir) / "jars").glob("*.jar"))
        if not resolved:
            raise SystemExit(f"resolving {package} produced no jar")
        dest.mkdir(parents=True, exist_ok=True)
        copied = [Path(shutil.copy2(jar, dest / jar.name)) for jar in resolved]
    for jar in copied:
        print(f"resolved {jar}")
    return copied


def smoke_test() -> None:
    """Write and read a Delta table with the runtime configuration of the jobs.

    ``FORECAST_SPARK_JARS`` names the jars as the jobs read it: jars or folders of jars.

    Raises:
        SystemExit: If ``FORECAST_SPARK_JARS`` yields no Delta jar, or the table read back
            differs from what was written.
    """
    from jobs.common import jar_files

    spec = os.environ.get("FORECAST_SPARK_JARS", "")
    jars = jar_files(spec)
    missing = [path for path in jars if not Path(path).is_file()]
    if missing or not any(Path(path).name.startswith("io.delta_delta-spark_") for path in jars):
        raise SystemExit(
            f"FORECAST_SPARK_JARS={spec!r} names missing jars or no delta-spark jar "
            f"({', '.join(missing) or 'none found'}); expected a folder holding the Delta jars "
            "(see DELTA_VERSION in the Dockerfile)"
        )
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
    print(f"Delta smoke test passed with {len(jars)} jars from {spec}")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run ``resolve`` or ``smoke-test``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    resolve_parser = commands.add_parser("resolve", help="download the jars into --dest")
    resolve_parser.add_argument("--package", required=True, help="group:artifact:version")
    resolve_parser.add_argument("--dest", required=True, type=Path)
    resolve_parser.add_argument("--repository", default="", help="extra Maven repository URL")
    commands.add_parser("smoke-test", help="write and read a Delta table")
    args = parser.parse_args(argv)
    if args.command == "resolve":
        resolve(args.package, args.dest, args.repository)
    else:
        smoke_test()


if __name__ == "__main__":
    main(sys.argv[1:])
