"""Build the project's Delta LogStore for s3a:// (jvm/) into the jar folder.

javac compiles ``jvm/src/main/java`` against the jars the folder already holds (Delta's
delta-storage, hadoop-aws, the AWS SDK core) and PySpark's Hadoop client API, for Java 17;
the classes are packed into ``LOGSTORE_JAR`` with fixed timestamps (the same source gives
the same bytes), written beside the fetched jars in one rename. A jar already equal to the
build is left untouched. ``scripts/fetch_jars.py --with-s3`` runs this after fetching.

Exit 2, one line: no javac (a JRE only: install a JDK, as scripts/install.sh does), or a
jar to compile against is missing (fetch them first).

Usage:
    python3 scripts/build_logstore.py [--dest DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# Run from a checkout: import the project's pins without installing it first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecast_core.jars import (
    AWS_SDK_CORE_PACKAGE,
    DELTA_STORAGE_PACKAGE,
    FETCH_COMMAND,
    HADOOP_AWS_JAR,
    HADOOP_VERSION,
    LOGSTORE_JAR,
    add_dest_option,
    jar_name,
)

SOURCES = Path(__file__).resolve().parents[1] / "jvm" / "src" / "main" / "java"
JAVA_RELEASE = "17"  # the image's and Spark 4.2's Java
# A jar's entries carry times; one fixed time makes the build reproducible.
_FIXED_TIME = (2024, 1, 1, 0, 0, 0)
_MANIFEST = "Manifest-Version: 1.0\r\nCreated-By: scripts/build_logstore.py\r\n\r\n"
EXIT_USAGE = 2


def fail(message: str) -> None:
    """Print one error line and exit with the usage code."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def compile_classpath(folder: Path) -> list[Path]:
    """The jars the LogStore compiles against; exit 2 naming the first one missing."""
    import pyspark

    hadoop_api = Path(pyspark.__file__).parent / "jars" / f"hadoop-client-api-{HADOOP_VERSION}.jar"
    needed = [
        folder / jar_name(DELTA_STORAGE_PACKAGE),
        folder / HADOOP_AWS_JAR,
        folder / jar_name(AWS_SDK_CORE_PACKAGE),
        hadoop_api,
    ]
    for jar in needed:
        if not jar.is_file():
            fail(
                f"{jar} is missing; expected it to compile the S3 LogStore against: "
                f"run {FETCH_COMMAND} --with-s3 --dest {folder}"
            )
    return needed


def build(folder: Path) -> Path:
    """Compile the LogStore and put its jar into ``folder``; the jar's path."""
    javac = shutil.which("javac")
    if javac is None:
        fail(
            "javac not found; expected a Java 17 JDK to build the S3 LogStore "
            "(apt-get install openjdk-17-jdk-headless, as scripts/install.sh does)"
        )
    sources = sorted(SOURCES.rglob("*.java"))
    classpath = os.pathsep.join(str(jar) for jar in compile_classpath(folder))
    with tempfile.TemporaryDirectory(prefix="logstore-") as scratch:
        classes = Path(scratch) / "classes"
        options = ["--release", JAVA_RELEASE, "-Xlint:all", "-Werror", "-d", str(classes)]
        compiled = subprocess.run(
            [javac, *options, "-cp", classpath, *map(str, sources)],
            capture_output=True,
            text=True,
            check=False,
        )
        if compiled.returncode != 0:
            print(compiled.stdout + compiled.stderr, file=sys.stderr)
            fail(f"javac could not compile {SOURCES}; its messages are above")
        built = Path(scratch) / LOGSTORE_JAR
        pack(classes, built)
        target = folder / LOGSTORE_JAR
        if target.is_file() and target.read_bytes() == built.read_bytes():
            print(f"{LOGSTORE_JAR} up to date in {folder}")
            return target
        handle, name = tempfile.mkstemp(prefix=".logstore-", suffix=".jar", dir=folder)
        os.close(handle)
        staged = Path(name)
        shutil.copyfile(built, staged)
        staged.chmod(0o644)
        staged.replace(target)
    print(f"Built {LOGSTORE_JAR} into {folder}")
    return target


def pack(classes: Path, jar: Path) -> None:
    """A jar of the files under ``classes``, with a manifest, in name order, times fixed."""
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", _FIXED_TIME), _MANIFEST)
        for path in sorted(p for p in classes.rglob("*") if p.is_file()):
            entry = zipfile.ZipInfo(path.relative_to(classes).as_posix(), _FIXED_TIME)
            archive.writestr(entry, path.read_bytes(), zipfile.ZIP_DEFLATED)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and build."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dest_option(parser)
    build(parser.parse_args(argv).dest)


if __name__ == "__main__":
    main(sys.argv[1:])
