"""A class-data-sharing archive of the classes a job's Spark JVM loads, for the suite's JVMs.

The suite starts well over a hundred short-lived JVMs (the jobs it runs, Connect servers,
the loopback cluster), and each spent seconds finding, parsing and verifying the same
Spark, Scala and Hadoop classes in their jars. Java's dynamic CDS archive (JDK 13+) keeps them
parsed in one file that every JVM maps instead. Measured on a 2-shard backfill, one
process: 29 -> 25 CPU-seconds, and 25 -> 21 s of wall time.

The archive is made once, by a short daily job run with ``-XX:ArchiveClassesAtExit``
(``python -m tests.jvm_archive``), and kept in pytest's cache under a name that changes
with the JVM, PySpark and the jars (an archive of other versions is then deleted). A JVM
whose class path or JDK does not match the archive ignores it, and ``-Xlog:cds*=off``
keeps that silent: the jobs' output, which the tests read, is the same with or without
it. Test-only, like the other short-lived JVM options (``tests/servers.py``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pyspark

from forecast_core.jars import default_jars_dir
from tests.job_env import REPOSITORY, forecast_env

# What the archive is made from: one real daily job, one cheap model, few paths.
ARCHIVE_JOB = ["daily", "--forecast-date", "2025-11-14", "--models", "naive", "--n-paths", "20"]
# The JVM says nothing about the archive: neither that it maps it nor that it cannot.
QUIET = "-Xlog:cds*=off"


def archive_options(archive: Path) -> str:
    """The JVM options that map ``archive``, silently."""
    return f"-XX:SharedArchiveFile={archive} {QUIET}"


def archive_name() -> str:
    """The archive's file name: a digest of the JVM, PySpark and the jars (names, sizes and
    times), so an upgrade of any of them makes a new archive."""
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=True)
    jars = sorted(default_jars_dir().glob("*.jar"))
    parts = [java.stderr, pyspark.__version__, sys.version]
    parts += [f"{jar.name} {jar.stat().st_size} {jar.stat().st_mtime_ns}" for jar in jars]
    return "job-classes-" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16] + ".jsa"


def ensure_archive(folder: Path, jvm_options: str) -> Path:
    """The archive in ``folder``, made first if it is missing (about 40 s).

    Raises:
        RuntimeError: The archive job failed; its output ends the message.
    """
    archive = folder / archive_name()
    if archive.is_file():
        return archive
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{archive.name}.{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="jvm-archive-") as home:
        dump = f"{jvm_options} -XX:ArchiveClassesAtExit={partial}"
        made = subprocess.run(
            [sys.executable, "-m", "tests.jvm_archive"],
            capture_output=True,
            text=True,
            env=forecast_env(Path(home), SPARK_SUBMIT_OPTS=dump),
            cwd=REPOSITORY,
            timeout=600,
            check=False,
        )
    if made.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"the JVM class archive was not made:\n{made.stdout}{made.stderr}")
    partial.replace(archive)  # whole, or not at all: another run may be reading the folder
    for stale in folder.glob("job-classes-*.jsa"):
        if stale != archive:
            stale.unlink(missing_ok=True)  # an archive no JVM here can map
    return archive


def _run_archive_job() -> None:
    """Run ``ARCHIVE_JOB`` in this process, then end its JVM and wait while it writes the
    archive (it does so as it exits, which it does when its stdin closes)."""
    from pyspark import SparkContext

    from jobs.cli import cli

    try:
        cli.main(ARCHIVE_JOB, prog_name="forecast", standalone_mode=False)
    finally:
        gateway = SparkContext._gateway
        if gateway is not None:
            gateway.proc.stdin.close()
            gateway.proc.wait(timeout=300)


if __name__ == "__main__":
    _run_archive_job()
