"""The Spark jars the tables need (Delta Lake), fetched once into a folder, never at run time.

``scripts/fetch_jars.py`` fills the folder (``scripts/install.sh`` runs it; with ``--with-s3``
it also builds the project's own S3 LogStore from ``jvm/``); the image bakes the same set
under ``/opt/forecast/jars``. A session puts every jar of the folder on
``spark.jars``. The pair is one Delta supports officially: Delta Lake 4.4.0 is built
against Spark 4.2.0, the pinned PySpark.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from forecast_core.errors import ConfigError
from forecast_core.names import DYNAMODB_TABLE_ENV

DELTA_VERSION = "4.4.0"
DELTA_PACKAGE = f"io.delta:delta-spark_2.13:{DELTA_VERSION}"
FETCH_COMMAND = "python3 scripts/fetch_jars.py"
INSTALL_S3_COMMAND = "bash scripts/install.sh --with-s3"

# Tables on s3a:// (opt-in: ``fetch_jars.py --with-s3``). hadoop-aws must match the Hadoop
# PySpark bundles (hadoop-client-api-3.5.0.jar), and it is built against AWS SDK v2 2.35.4.
# hadoop-aws depends on the SDK's "bundle" jar (every AWS service, ~600 MB); it is left out
# and the few SDK modules S3A uses are fetched instead (about 15 MB in all).
HADOOP_VERSION = "3.5.0"
AWS_SDK_VERSION = "2.35.4"
HADOOP_AWS_PACKAGE = f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}"
AWS_SDK_CORE_PACKAGE = f"software.amazon.awssdk:sdk-core:{AWS_SDK_VERSION}"
DELTA_STORAGE_PACKAGE = f"io.delta:delta-storage:{DELTA_VERSION}"
S3_PACKAGES: tuple[str, ...] = (
    HADOOP_AWS_PACKAGE,
    f"software.amazon.awssdk:s3:{AWS_SDK_VERSION}",
    f"software.amazon.awssdk:s3-transfer-manager:{AWS_SDK_VERSION}",
    f"software.amazon.awssdk:sts:{AWS_SDK_VERSION}",
)
S3_EXCLUDES: tuple[str, ...] = ("software.amazon.awssdk:bundle",)
# Delta's DynamoDB LogStore for S3 (DynamoDB holds the commit lock), for users who bring it:
# not served by Maven Central (404 for every version), so only fetched when asked
# (``fetch_jars.py --with-dynamodb-logstore``), with the SDK's DynamoDB module it needs.
DYNAMODB_LOGSTORE_PACKAGES: tuple[str, ...] = (
    f"io.delta:delta-storage-s3-dynamodb:{DELTA_VERSION}",
    f"software.amazon.awssdk:dynamodb:{AWS_SDK_VERSION}",
)
# The project's own LogStore for s3a:// (jvm/): commits by S3's conditional put. Built from
# source by scripts/build_logstore.py (``fetch_jars.py --with-s3`` runs it), named like the
# fetched jars (group_artifact-version.jar); the version moves with jvm/'s source.
LOGSTORE_VERSION = "1.0.0"
LOGSTORE_PACKAGE = f"commodity-forecast:s3-conditional-logstore:{LOGSTORE_VERSION}"


def jar_name(package: str) -> str:
    """The file a Maven coordinate ``group:artifact:version`` is fetched as (Ivy's name)."""
    group, artifact, version = package.split(":")
    return f"{group}_{artifact}-{version}.jar"


# The jars whose presence says "Delta is here", "S3 is here", "our S3 LogStore is here",
# "Delta's DynamoDB LogStore is here".
DELTA_JAR = jar_name(DELTA_PACKAGE)
HADOOP_AWS_JAR = jar_name(HADOOP_AWS_PACKAGE)
LOGSTORE_JAR = jar_name(LOGSTORE_PACKAGE)
DYNAMODB_LOGSTORE_JAR = jar_name(DYNAMODB_LOGSTORE_PACKAGES[0])


def default_jars_dir() -> Path:
    """Where ``scripts/fetch_jars.py`` puts the jars: the user's cache, not the project."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "commodity-forecast" / "jars"


def add_dest_option(parser: argparse.ArgumentParser) -> None:
    """The scripts' ``--dest``: the jar folder, FORECAST_SPARK_JARS or the user's cache."""
    parser.add_argument(
        "--dest",
        type=Path,
        default=Path(os.environ.get("FORECAST_SPARK_JARS") or default_jars_dir()),
        help="jar folder (default: FORECAST_SPARK_JARS, else ~/.cache/commodity-forecast/jars)",
    )


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


def check_s3_jars(folder: Path, dynamodb: bool) -> None:
    """Refuse an ``s3a://`` table when ``folder`` lacks the S3 jars or the LogStore that
    makes its commits safe with many writers: ours, or Delta's DynamoDB one if ``dynamodb``
    (a DynamoDB commit table is set). Never falls back to the single-driver LogStore.

    Raises:
        ConfigError: One line naming the missing jar and the command that provides it.
    """
    if not (folder / HADOOP_AWS_JAR).is_file():
        raise ConfigError(
            f"jar folder {folder} has no {HADOOP_AWS_JAR}; expected the S3 jars for an "
            f"s3a:// table: install them with `{INSTALL_S3_COMMAND}`"
        )
    if dynamodb and not (folder / DYNAMODB_LOGSTORE_JAR).is_file():
        raise ConfigError(
            f"jar folder {folder} has no {DYNAMODB_LOGSTORE_JAR} (Delta's DynamoDB LogStore, "
            f"asked for by {DYNAMODB_TABLE_ENV}); expected it fetched with "
            f"`{FETCH_COMMAND} --with-s3 --with-dynamodb-logstore --repository URL` from a "
            f"repository that serves it, or {DYNAMODB_TABLE_ENV} unset"
        )
    if not dynamodb and not (folder / LOGSTORE_JAR).is_file():
        raise ConfigError(
            f"jar folder {folder} has no {LOGSTORE_JAR} (the project's S3 LogStore, which "
            f"makes concurrent commits to s3a:// safe); expected it built with "
            f"`{INSTALL_S3_COMMAND}`"
        )
