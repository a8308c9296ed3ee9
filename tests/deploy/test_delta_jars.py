"""docker/fetch_delta_jars.py, the image's jar step, run offline against a local Maven repo."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .manifest_checks import REPO_ROOT

SCRIPT = REPO_ROOT / "docker" / "fetch_delta_jars.py"
POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>{group}</groupId>
  <artifactId>{artifact}</artifactId>
  <version>{version}</version>
  <packaging>jar</packaging>
  <dependencies>{dependencies}</dependencies>
</project>
"""
DEPENDENCY = (
    "<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
    "<version>{version}</version></dependency>"
)


def _publish(repo: Path, group: str, artifact: str, version: str, depends_on: str = "") -> None:
    """Put a jar and its pom into a Maven-layout folder."""
    folder = repo.joinpath(*group.split("."), artifact, version)
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / f"{artifact}-{version}.jar", "w") as jar:
        jar.writestr(f"{artifact}/marker.txt", artifact)
    dependencies = (
        DEPENDENCY.format(group=group, artifact=depends_on, version=version) if depends_on else ""
    )
    (folder / f"{artifact}-{version}.pom").write_text(
        POM.format(group=group, artifact=artifact, version=version, dependencies=dependencies)
    )


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )


@pytest.mark.slow
def test_resolve_copies_the_package_and_its_dependencies(tmp_path: Path) -> None:
    # Spark's resolver, with a local repository standing in for Maven Central. The jar
    # names are the ones the Dockerfile's FORECAST_SPARK_JARS expects:
    # <group>_<artifact>-<version>.jar.
    repo = tmp_path / "maven"
    _publish(repo, "io.delta", "delta-storage", "9.9.9")
    _publish(repo, "io.delta", "delta-spark_2.13", "9.9.9", depends_on="delta-storage")
    dest = tmp_path / "jars"

    result = _run(
        "resolve",
        "--package",
        "io.delta:delta-spark_2.13:9.9.9",
        "--repository",
        repo.as_uri(),
        "--dest",
        str(dest),
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(path.name for path in dest.iterdir()) == [
        "io.delta_delta-spark_2.13-9.9.9.jar",
        "io.delta_delta-storage-9.9.9.jar",
    ]


def test_smoke_test_refuses_missing_jars(tmp_path: Path) -> None:
    missing = tmp_path / "io.delta_delta-spark_2.13-9.9.9.jar"
    result = _run("smoke-test", env={"FORECAST_SPARK_JARS": str(missing), "PATH": ""})
    assert result.returncode == 1
    assert str(missing) in result.stderr
    assert "DELTA_VERSION" in result.stderr
