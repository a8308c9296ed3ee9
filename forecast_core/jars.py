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


def jar_name(package: str) -> str:
    """The file a Maven coordinate ``group:artifact:version`` is fetched as (Ivy's name)."""
    group, artifact, version = package.split(":")
    return f"{group}_{artifact}-{version}.jar"


# The jar whose presence says "Delta is here".
DELTA_JAR = jar_name(DELTA_PACKAGE)


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
