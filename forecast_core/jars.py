"""The Spark jars the tables need (Delta Lake), fetched once into a folder, never at run time.

``scripts/fetch_jars.py`` fills the folder (``scripts/install.sh`` runs it); the image bakes
the same set under ``/opt/forecast/jars``. A session puts every jar of the folder on
``spark.jars``. The pair is one Delta supports officially: Delta Lake 4.4.0 is built
against Spark 4.2.0, the pinned PySpark.
"""

from __future__ import annotations

import os
from pathlib import Path

from forecast_core.errors import ConfigError

DELTA_VERSION = "4.4.0"
DELTA_PACKAGE = f"io.delta:delta-spark_2.13:{DELTA_VERSION}"
FETCH_COMMAND = "python3 scripts/fetch_jars.py"

# Tables on s3a:// (opt-in: ``fetch_jars.py --with-s3``). hadoop-aws must match the Hadoop
# PySpark bundles (hadoop-client-api-3.5.0.jar), and it is built against AWS SDK v2 2.35.4.
# hadoop-aws depends on the SDK's "bundle" jar (every AWS service, ~600 MB); it is left out
# and the few SDK modules S3A uses are fetched instead (about 15 MB in all).
HADOOP_VERSION = "3.5.0"
AWS_SDK_VERSION = "2.35.4"
HADOOP_AWS_PACKAGE = f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}"
S3_PACKAGES: tuple[str, ...] = (
    HADOOP_AWS_PACKAGE,
    f"software.amazon.awssdk:s3:{AWS_SDK_VERSION}",
    f"software.amazon.awssdk:s3-transfer-manager:{AWS_SDK_VERSION}",
    f"software.amazon.awssdk:sts:{AWS_SDK_VERSION}",
    f"software.amazon.awssdk:dynamodb:{AWS_SDK_VERSION}",
)
S3_EXCLUDES: tuple[str, ...] = ("software.amazon.awssdk:bundle",)
# Delta's multi-cluster LogStore for S3 (DynamoDB holds the commit lock).
S3_LOGSTORE_PACKAGE = f"io.delta:delta-storage-s3-dynamodb:{DELTA_VERSION}"


def jar_name(package: str) -> str:
    """The file a Maven coordinate ``group:artifact:version`` is fetched as (Ivy's name)."""
    group, artifact, version = package.split(":")
    return f"{group}_{artifact}-{version}.jar"


# The jars whose presence says "Delta is here", "S3 is here", "the S3 LogStore is here".
DELTA_JAR = jar_name(DELTA_PACKAGE)
HADOOP_AWS_JAR = jar_name(HADOOP_AWS_PACKAGE)
S3_LOGSTORE_JAR = jar_name(S3_LOGSTORE_PACKAGE)


def default_jars_dir() -> Path:
    """Where ``scripts/fetch_jars.py`` puts the jars: the user's cache, not the project."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "commodity-forecast" / "jars"


def jar_paths(folder: Path, table_format: str) -> tuple[str, ...]:
    """Every jar in ``folder``, sorted; for ``delta`` the folder must hold the Delta jars.

    Raises:
        ConfigError: ``delta`` is asked and ``folder`` has no Delta jar of the pinned version.
    """
    jars = tuple(sorted(str(path) for path in folder.glob("*.jar"))) if folder.is_dir() else ()
    if table_format == "delta" and not (folder / DELTA_JAR).is_file():
        raise ConfigError(
            f"jar folder {folder} has no {DELTA_JAR}; expected the Delta Lake jars: "
            f"fetch them with `{FETCH_COMMAND} --dest {folder}` (or use --table-format parquet)"
        )
    return jars


def check_s3_jars(folder: Path, multi_cluster: bool) -> None:
    """Refuse an ``s3a://`` table when ``folder`` lacks the S3 jars it needs.

    Raises:
        ConfigError: No hadoop-aws jar, or ``multi_cluster`` (a DynamoDB commit table is
            set) and no Delta S3 DynamoDB LogStore jar.
    """
    needed = [HADOOP_AWS_JAR] + ([S3_LOGSTORE_JAR] if multi_cluster else [])
    for jar in needed:
        if not (folder / jar).is_file():
            raise ConfigError(
                f"jar folder {folder} has no {jar}; expected the S3 jars for an s3a:// "
                f"table: fetch them with `{FETCH_COMMAND} --with-s3 --dest {folder}`"
            )
