"""The Delta jar folder: fetched once by scripts/fetch_jars.py (offline here, against a local
Maven repository), the project's S3 LogStore built into it by scripts/build_logstore.py,
staged for the image by scripts/image_inputs.py, proven by docker/delta_smoke_test.py, and
what a job says without it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from forecast_core.errors import ConfigError
from forecast_core.jars import (
    DELTA_JAR,
    DYNAMODB_LOGSTORE_JAR,
    DYNAMODB_LOGSTORE_PACKAGES,
    FETCH_COMMAND,
    HADOOP_AWS_JAR,
    HADOOP_VERSION,
    INSTALL_S3_COMMAND,
    LOGSTORE_JAR,
    S3_EXCLUDES,
    S3_PACKAGES,
    default_jars_dir,
    jar_paths,
)
from forecast_core.s3 import CONDITIONAL_LOGSTORE

from .manifest_checks import REPO_ROOT

FETCH = REPO_ROOT / "scripts" / "fetch_jars.py"
BUILD = REPO_ROOT / "scripts" / "build_logstore.py"
SMOKE_TEST = REPO_ROOT / "docker" / "delta_smoke_test.py"
STAGE = REPO_ROOT / "scripts" / "image_inputs.py"
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


def _run(script: Path, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )


def _fetch_module():
    spec = importlib.util.spec_from_file_location("fetch_jars", FETCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_fetch_resolves_the_package_and_leaves_out_what_spark_ships(tmp_path: Path) -> None:
    # Spark's resolver, with a local repository standing in for Maven Central. A
    # dependency named like a jar PySpark ships (jackson-core) is left out.
    repo = tmp_path / "maven"
    _publish(repo, "org.example", "jackson-core", "9.9.9")
    _publish(repo, "org.example", "delta-storage", "9.9.9", depends_on="jackson-core")
    _publish(repo, "org.example", "delta-spark_2.13", "9.9.9", depends_on="delta-storage")
    dest = tmp_path / "jars"
    package = ("--package", "org.example:delta-spark_2.13:9.9.9")

    result = _run(FETCH, *package, "--repository", repo.as_uri(), "--dest", str(dest))
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(path.name for path in dest.iterdir()) == [
        "org.example_delta-spark_2.13-9.9.9.jar",
        "org.example_delta-storage-9.9.9.jar",
    ]
    again = _run(FETCH, *package, "--dest", str(dest))  # no repository: nothing to fetch
    assert again.returncode == 0 and "already in" in again.stdout


def test_the_installed_folder_holds_delta_and_nothing_spark_ships() -> None:
    # scripts/install.sh (run by .ci/run) filled it: the jobs and the suite's Spark use it.
    fetch = _fetch_module()
    names = [Path(jar).name for jar in jar_paths(default_jars_dir(), "delta")]
    assert DELTA_JAR in names and "io.delta_delta-storage-4.4.0.jar" in names
    shipped = fetch.spark_artifacts()
    assert {"jackson-core", "parquet-hadoop", "hadoop-client-api"} <= shipped
    assert [n for n in names if fetch._IVY_JAR.match(n)["artifact"] in shipped] == []


def test_a_folder_without_delta_names_the_folder_and_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        jar_paths(tmp_path / "jars", "delta")
    message = str(raised.value)
    assert str(tmp_path / "jars") in message and FETCH_COMMAND in message
    assert "\n" not in message
    assert jar_paths(tmp_path / "jars", "parquet") == ()  # Parquet needs no jar


def test_a_jar_folder_stands_for_every_jar_in_it(tmp_path: Path) -> None:
    folder = tmp_path / "jars"
    folder.mkdir()
    for name in (DELTA_JAR, "a.jar", "notes.txt"):
        (folder / name).write_bytes(b"")
    assert jar_paths(folder, "delta") == (str(folder / "a.jar"), str(folder / DELTA_JAR))


def test_a_run_without_the_jars_exits_2_and_writes_nothing(invoke, home, tmp_path) -> None:
    result = invoke("daily", "--forecast-date", "2025-11-14", "--spark-jars", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "fetch_jars.py" in result.output
    assert not home.exists()


def test_the_smoke_test_refuses_a_folder_without_delta(tmp_path: Path) -> None:
    folder = tmp_path / "jars"
    folder.mkdir()
    (folder / "org.slf4j_slf4j-api-2.0.13.jar").write_bytes(b"")
    # No Java on PATH: the refusal must come before Spark starts.
    env = {"FORECAST_SPARK_JARS": str(folder), "PATH": "", "PYTHONPATH": str(REPO_ROOT)}
    result = _run(SMOKE_TEST, env=env)
    assert result.returncode == 1
    assert f"FORECAST_SPARK_JARS={str(folder)!r}" in result.stderr
    assert DELTA_JAR in result.stderr


def test_staging_for_the_image_refuses_a_folder_without_delta(tmp_path: Path) -> None:
    result = _run(STAGE, "jars", "--source", str(tmp_path), "--dest", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"{tmp_path / DELTA_JAR} is missing" in result.stderr
    assert FETCH_COMMAND in result.stderr


def test_staging_for_the_image_refuses_a_folder_without_the_s3_jars(tmp_path: Path) -> None:
    (tmp_path / DELTA_JAR).write_bytes(b"")
    result = _run(STAGE, "jars", "--source", str(tmp_path), "--dest", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"{tmp_path / HADOOP_AWS_JAR} is missing" in result.stderr
    assert "--with-s3" in result.stderr
    (tmp_path / HADOOP_AWS_JAR).write_bytes(b"")
    result = _run(STAGE, "jars", "--source", str(tmp_path), "--dest", str(tmp_path / "out"))
    assert result.returncode == 2  # never an image whose s3a:// commits are unsafe
    assert f"{tmp_path / LOGSTORE_JAR} is missing" in result.stderr
    assert INSTALL_S3_COMMAND in result.stderr
    (tmp_path / LOGSTORE_JAR).write_bytes(b"")
    staged = _run(STAGE, "jars", "--source", str(tmp_path), "--dest", str(tmp_path / "out"))
    assert staged.returncode == 0, staged.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [DELTA_JAR, HADOOP_AWS_JAR, LOGSTORE_JAR]
    )
    assert DYNAMODB_LOGSTORE_JAR in staged.stderr  # said, not silent: no DynamoDB LogStore


def _compile_folder(folder: Path) -> Path:
    """A folder with just the jars the LogStore compiles against (links to the installed)."""
    folder.mkdir()
    for jar in default_jars_dir().glob("*.jar"):
        if jar.name.startswith(("io.delta_delta-storage-", "org.apache.hadoop_hadoop-aws-")) or (
            jar.name.startswith("software.amazon.awssdk_sdk-core-")
        ):
            (folder / jar.name).symlink_to(jar)
    return folder


@pytest.mark.slow
def test_the_logstore_builds_from_source_and_the_installed_jar_is_that_build(
    tmp_path: Path,
) -> None:
    folder = _compile_folder(tmp_path / "jars")
    built = _run(BUILD, "--dest", str(folder))
    assert built.returncode == 0, built.stderr
    jar = folder / LOGSTORE_JAR
    with zipfile.ZipFile(jar) as archive:
        assert CONDITIONAL_LOGSTORE.replace(".", "/") + ".class" in archive.namelist()
    again = _run(BUILD, "--dest", str(folder))
    assert again.returncode == 0 and "up to date" in again.stdout  # same source, same bytes
    # scripts/install.sh --with-s3 built the jar every session loads from this source.
    assert (default_jars_dir() / LOGSTORE_JAR).read_bytes() == jar.read_bytes()


def test_building_the_logstore_without_javac_names_the_jdk_to_install(tmp_path: Path) -> None:
    folder = _compile_folder(tmp_path / "jars")
    env = {"PATH": "", "PYTHONPATH": str(REPO_ROOT)}
    result = _run(BUILD, "--dest", str(folder), env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "javac" in result.stderr
    assert "openjdk-17-jdk-headless" in result.stderr
    assert not (folder / LOGSTORE_JAR).exists()


def test_the_dynamodb_logstore_is_fetched_only_when_asked() -> None:
    # Maven Central has no delta-storage-s3-dynamodb (404): the default S3 set never asks.
    assert not any("dynamodb" in package for package in S3_PACKAGES)
    assert DYNAMODB_LOGSTORE_PACKAGES[0].startswith("io.delta:delta-storage-s3-dynamodb:")
    usage = _run(FETCH, "--with-dynamodb-logstore")
    assert usage.returncode == 2 and "--with-dynamodb-logstore needs --with-s3" in usage.stderr


def test_the_s3_set_leaves_out_the_sdk_bundle_and_matches_sparks_hadoop() -> None:
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    spark_hadoop = {jar.name for jar in jars.glob("hadoop-client-api-*.jar")}
    assert spark_hadoop == {f"hadoop-client-api-{HADOOP_VERSION}.jar"}
    assert f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}" in S3_PACKAGES
    assert "software.amazon.awssdk:bundle" in S3_EXCLUDES
