"""Fetch the Delta Lake jars once into a folder, with what they need that Spark lacks.

Spark's own resolver (Ivy, the code path of ``spark.jars.packages``) downloads the package
with its transitive dependencies; the jars PySpark already ships (Hadoop, Parquet,
Jackson, log4j... in other versions) are left out, so the folder holds only what the
session adds and no second copy of a class Spark has. Jobs never download: they read the
folder (``FORECAST_SPARK_JARS``). Safe to run again: a folder that already holds the
pinned Delta jar is left as it is (``--force`` fetches anew).

Usage:
    python3 scripts/fetch_jars.py [--dest DIR] [--repository URL] [--force] [--package G:A:V]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

# Run from a checkout: import the project's pins without installing it first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecast_core.jars import DELTA_PACKAGE, default_jars_dir, jar_name

# <group>_<artifact>-<version>.jar (Ivy's flat names) and <artifact>-<version>.jar (Spark's).
_IVY_JAR = re.compile(r"^[^_]+_(?P<artifact>.+?)-\d[\w.\-]*\.jar$")
_SPARK_JAR = re.compile(r"^(?P<artifact>.+?)-\d[\w.\-]*\.jar$")


def spark_artifacts() -> set[str]:
    """The artifact names of the jars PySpark ships (``jackson-core``, ``parquet-hadoop``...)."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    return {m["artifact"] for jar in jars.glob("*.jar") if (m := _SPARK_JAR.match(jar.name))}


def resolve(package: str, repository: str) -> list[Path]:
    """Download ``package`` and its dependencies with Spark's resolver; their jar paths."""
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
    builder.getOrCreate().stop()
    resolved = sorted((ivy_dir / "jars").glob("*.jar"))
    if not resolved:
        raise SystemExit(f"resolving {package} produced no jar; expected {jar_name(package)}")
    return resolved


def fetch(
    dest: Path, repository: str = "", force: bool = False, package: str = DELTA_PACKAGE
) -> list[Path]:
    """Fill ``dest`` with ``package`` and what it needs that Spark lacks; the jars there."""
    marker = jar_name(package)
    if (dest / marker).is_file() and not force:
        print(f"{package} already in {dest}")
        return sorted(dest.glob("*.jar"))
    shipped = spark_artifacts()
    resolved = resolve(package, repository)
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
    shutil.rmtree(resolved[0].parents[1], ignore_errors=True)
    if not (staging / marker).is_file():
        shutil.rmtree(staging)
        raise SystemExit(f"resolving {package} gave no {marker}")
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    jars = sorted(dest.glob("*.jar"))
    size = sum(jar.stat().st_size for jar in jars) / 1e6
    print(f"Fetched {len(jars)} jars ({size:.1f} MB) into {dest}")
    return jars


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and fetch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dest",
        type=Path,
        default=Path(os.environ.get("FORECAST_SPARK_JARS") or default_jars_dir()),
        help="jar folder (default: FORECAST_SPARK_JARS, else ~/.cache/commodity-forecast/jars)",
    )
    parser.add_argument("--repository", default="", help="a Maven repository to use as well")
    parser.add_argument("--force", action="store_true", help="fetch even if already there")
    parser.add_argument("--package", default=DELTA_PACKAGE, help="the Maven coordinate")
    args = parser.parse_args(argv)
    fetch(args.dest, args.repository, args.force, args.package)


if __name__ == "__main__":
    main(sys.argv[1:])
