"""docker/fetch_delta_jars.py (the image's jar step, run offline against a local Maven repo)
and the jar folder the jobs read from ``FORECAST_SPARK_JARS``."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from jobs.common import jar_files

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
    # names are the ones scripts/image_inputs.py requires before a build:
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


def _without_jars_env(tmp_path: Path, spec: str) -> dict[str, str]:
    """No Java on PATH (the test must fail before Spark), this worktree's code importable."""
    return {"FORECAST_SPARK_JARS": spec, "PATH": "", "PYTHONPATH": str(REPO_ROOT)}


def test_smoke_test_refuses_missing_jars(tmp_path: Path) -> None:
    missing = tmp_path / "io.delta_delta-spark_2.13-9.9.9.jar"
    result = _run("smoke-test", env=_without_jars_env(tmp_path, str(missing)))
    assert result.returncode == 1
    assert str(missing) in result.stderr
    assert "DELTA_VERSION" in result.stderr


def test_smoke_test_refuses_a_folder_without_delta(tmp_path: Path) -> None:
    folder = tmp_path / "jars"
    folder.mkdir()
    (folder / "org.slf4j_slf4j-api-2.0.13.jar").write_bytes(b"")
    result = _run("smoke-test", env=_without_jars_env(tmp_path, str(folder)))
    assert result.returncode == 1
    assert f"FORECAST_SPARK_JARS={str(folder)!r}" in result.stderr
    assert "no delta-spark jar" in result.stderr


def test_a_jar_folder_stands_for_every_jar_in_it(tmp_path: Path) -> None:
    folder = tmp_path / "jars"
    folder.mkdir()
    for name in ("b.jar", "a.jar", "notes.txt"):
        (folder / name).write_bytes(b"")
    extra = tmp_path / "extra.jar"
    assert jar_files(f"{folder}, {extra},") == (
        str(folder / "a.jar"),
        str(folder / "b.jar"),
        str(extra),
    )
