"""Fetch the Delta Lake jars once into a folder, with what they need that Spark lacks.

Spark's own resolver (Ivy, the code path of ``spark.jars.packages``) downloads the package
with its transitive dependencies; the jars PySpark already ships (Hadoop, Parquet,
Jackson, log4j... in other versions) are left out, so the folder holds only what the
session adds and no second copy of a class Spark has. Jobs never download: they read the
folder (``FORECAST_SPARK_JARS``). Safe to run again: a folder that already holds the
pinned Delta jar is left as it is (``--force`` fetches anew).

``--with-s3`` adds what tables on ``s3a://`` need (hadoop-aws, the AWS SDK v2 modules S3A
uses) and then builds the project's S3 LogStore from ``jvm/`` into the folder
(``scripts/build_logstore.py``, every time: it leaves an up-to-date jar alone); without it
nothing of S3 is downloaded or built. ``--with-dynamodb-logstore`` also fetches Delta's
DynamoDB LogStore, for users who use it and have a repository that serves it (Maven
Central does not).

Usage:
    python3 scripts/fetch_jars.py [--dest DIR] [--repository URL] [--force] [--package G:A:V]
        [--with-s3 [--with-dynamodb-logstore]]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Run from a checkout: import the project's pins without installing it first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecast_core.jars import (
    DELTA_PACKAGE,
    DYNAMODB_LOGSTORE_JAR,
    DYNAMODB_LOGSTORE_PACKAGES,
    HADOOP_AWS_JAR,
    S3_EXCLUDES,
    S3_PACKAGES,
    add_dest_option,
    jar_name,
)

BUILD_LOGSTORE = Path(__file__).resolve().parent / "build_logstore.py"

# <group>_<artifact>-<version>.jar (Ivy's flat names) and <artifact>-<version>.jar (Spark's).
_IVY_JAR = re.compile(r"^[^_]+_(?P<artifact>.+?)-\d[\w.\-]*\.jar$")
_SPARK_JAR = re.compile(r"^(?P<artifact>.+?)-\d[\w.\-]*\.jar$")


def spark_artifacts() -> set[str]:
    """The artifact names of the jars PySpark ships (``jackson-core``, ``parquet-hadoop``...)."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    return {m["artifact"] for jar in jars.glob("*.jar") if (m := _SPARK_JAR.match(jar.name))}


def resolve(package: str, repository: str, excludes: tuple[str, ...] = ()) -> list[Path]:
    """Download ``package`` (comma-separated coordinates) and their dependencies, less
    ``excludes`` (``group:artifact``), with Spark's resolver; their jar paths."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    ivy_dir = Path(tempfile.mkdtemp(prefix="ivy-"))
    builder = (
        SparkSession.builder.master("local[1]")
        .appName("fetch-jars")
        .config("spark.ui.enabled", "false")
        .config("spark.jars.packages", package)
        .config("spark.jars.ivy", str(ivy_dir))
    )
    if repository:
        builder = builder.config("spark.jars.repositories", repository)
    if excludes:
        builder = builder.config("spark.jars.excludes", ",".join(excludes))
    builder.getOrCreate().stop()
    resolved = sorted((ivy_dir / "jars").glob("*.jar"))
    if not resolved:
        raise SystemExit(f"resolving {package} produced no jar; expected {jar_name(package)}")
    return resolved


def fetch(
    dest: Path,
    repository: str = "",
    force: bool = False,
    package: str = DELTA_PACKAGE,
    with_s3: bool = False,
    with_dynamodb_logstore: bool = False,
) -> list[Path]:
    """Fill ``dest`` with ``package`` (and the S3 set if ``with_s3``, Delta's DynamoDB
    LogStore if ``with_dynamodb_logstore``) and what they need that Spark lacks, then build
    the project's S3 LogStore there if ``with_s3``; the jars there."""
    extra = (S3_PACKAGES if with_s3 else ()) + (
        DYNAMODB_LOGSTORE_PACKAGES if with_dynamodb_logstore else ()
    )
    markers = (
        [jar_name(package)]
        + ([HADOOP_AWS_JAR] if with_s3 else [])
        + ([DYNAMODB_LOGSTORE_JAR] if with_dynamodb_logstore else [])
    )
    if all((dest / marker).is_file() for marker in markers) and not force:
        print(f"{', '.join(markers)} already in {dest}")
    else:
        download(dest, repository, [package, *extra], markers, S3_EXCLUDES if with_s3 else ())
    if with_s3:
        build_logstore(dest)
    return sorted(dest.glob("*.jar"))


def download(
    dest: Path,
    repository: str,
    packages: list[str],
    markers: list[str],
    excludes: tuple[str, ...],
) -> None:
    """Replace ``dest`` by the resolved ``packages`` less what Spark ships; exit naming a
    ``marker`` jar that did not come."""
    resolved = resolve(",".join(packages), repository, excludes)
    shipped = spark_artifacts()
    wanted = [
        jar
        for jar in resolved
        if not ((m := _IVY_JAR.match(jar.name)) and m["artifact"] in shipped)
    ]
    # Fill a sibling folder, then swap it in: a failed fetch leaves no half-filled folder.
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".jars-", dir=dest.parent))
    for jar in wanted:
        shutil.copy2(jar, staging / jar.name)
    for folder in {jar.parents[1] for jar in resolved}:
        shutil.rmtree(folder, ignore_errors=True)
    missing = [marker for marker in markers if not (staging / marker).is_file()]
    if missing:
        shutil.rmtree(staging)
        raise SystemExit(f"resolving {', '.join(packages)} gave no {', '.join(missing)}")
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    jars = sorted(dest.glob("*.jar"))
    size = sum(jar.stat().st_size for jar in jars) / 1e6
    print(f"Fetched {len(jars)} jars ({size:.1f} MB) into {dest}")


def build_logstore(dest: Path) -> None:
    """Build the project's S3 LogStore into ``dest`` (scripts/build_logstore.py); exit
    with its code, its one-line reason already printed, if it cannot."""
    built = subprocess.run([sys.executable, str(BUILD_LOGSTORE), "--dest", str(dest)], check=False)
    if built.returncode != 0:
        raise SystemExit(built.returncode)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and fetch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dest_option(parser)
    parser.add_argument("--repository", default="", help="a Maven repository to use as well")
    parser.add_argument("--force", action="store_true", help="fetch even if already there")
    parser.add_argument("--package", default=DELTA_PACKAGE, help="the Maven coordinate")
    parser.add_argument(
        "--with-s3",
        action="store_true",
        help="also the jars of tables on s3a:// (about 15 MB) and the project's S3 LogStore",
    )
    parser.add_argument(
        "--with-dynamodb-logstore",
        action="store_true",
        help="also Delta's DynamoDB LogStore (not on Maven Central: give --repository)",
    )
    args = parser.parse_args(argv)
    if args.with_dynamodb_logstore and not args.with_s3:
        parser.error("--with-dynamodb-logstore needs --with-s3")
    fetch(
        args.dest,
        args.repository,
        args.force,
        args.package,
        args.with_s3,
        args.with_dynamodb_logstore,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
