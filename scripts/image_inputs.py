"""Stage the image's build inputs: exactly the pinned wheels and the Delta + S3 jar folder.

scripts/build_image.sh runs this before the long build steps, so a wheel or jar that is
missing stops the build at once, naming the file.

Usage:
    python scripts/image_inputs.py wheels --wheelhouse CACHE --dest .build/wheelhouse \
        docker/requirements.txt docker/build-requirements.txt
    python scripts/image_inputs.py jars --source JAR_FOLDER --dest .build/jars
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

# Run from a checkout: the project's pins without installing it first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecast_core.jars import (
    DELTA_JAR,
    DYNAMODB_LOGSTORE_JAR,
    FETCH_COMMAND,
    HADOOP_AWS_JAR,
    INSTALL_S3_COMMAND,
    LOGSTORE_JAR,
)

EXIT_USAGE = 2


def pins(requirements: Path) -> list[tuple[str, str]]:
    """The ``name==version`` pins of a requirements file, in file order."""
    found: list[tuple[str, str]] = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, separator, version = line.partition("==")
            if not separator:
                fail(f"{requirements}: {line!r} is not pinned with ==; expected name==version")
            found.append((name.strip(), version.strip()))
    return found


def normalize(name: str) -> str:
    """A distribution name as wheel file names spell it (PEP 427/503)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def wheel_for(name: str, version: str, wheelhouse: Path) -> Path | None:
    """The wheel of ``name==version`` in ``wheelhouse``, if there is one."""
    prefix = f"{normalize(name)}-{version}-"
    for wheel in sorted(wheelhouse.glob("*.whl")):
        if wheel.name.lower().startswith(prefix.lower()):
            return wheel
    return None


def fail(message: str) -> None:
    """Print one error line and exit with the usage code."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def fresh_folder(dest: Path) -> None:
    """Empty ``dest`` (created if missing), so nothing stale reaches the build context."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)


def link_or_copy(source: Path, dest: Path) -> None:
    """Hard-link ``source`` to ``dest`` (same file system), else copy it."""
    try:
        dest.hardlink_to(source)
    except OSError:
        shutil.copy2(source, dest)


def stage_wheels(requirements: list[Path], wheelhouse: Path, dest: Path) -> int:
    """Put the wheel of every pin into ``dest``; exit 2 naming the first missing wheel."""
    wanted = [pin for path in requirements for pin in pins(path)]
    chosen: list[Path] = []
    for name, version in wanted:
        wheel = wheel_for(name, version, wheelhouse)
        if wheel is None:
            fail(
                f"no wheel for {name}=={version} in {wheelhouse}; expected a file "
                f"{normalize(name)}-{version}-*.whl (pip wheel could not provide it)"
            )
        chosen.append(wheel)
    fresh_folder(dest)
    for wheel in chosen:
        link_or_copy(wheel, dest / wheel.name)
    return len(chosen)


def stage_jars(source: Path, dest: Path) -> int:
    """Put the jars of ``source`` (filled by scripts/fetch_jars.py --with-s3) into ``dest``;
    exit 2 naming the Delta, hadoop-aws or S3 LogStore jar if it is missing. Without Delta's
    DynamoDB LogStore jar (not on Maven Central) the image still builds, saying so: its
    jobs then refuse FORECAST_DYNAMODB_TABLE and commit to s3a:// by conditional put."""
    required = (
        (DELTA_JAR, f"the Delta jars: run {FETCH_COMMAND} --with-s3 --dest {source}"),
        (HADOOP_AWS_JAR, f"the S3 jars: run {FETCH_COMMAND} --with-s3 --dest {source}"),
        (LOGSTORE_JAR, f"the project's S3 LogStore built into it: run {INSTALL_S3_COMMAND}"),
    )
    for jar, expected in required:
        if not (source / jar).is_file():
            fail(f"{source / jar} is missing; expected {expected}")
    if not (source / DYNAMODB_LOGSTORE_JAR).is_file():
        print(
            f"note: {source} has no {DYNAMODB_LOGSTORE_JAR}: the image's jobs refuse "
            "FORECAST_DYNAMODB_TABLE and commit to s3a:// tables by S3's conditional put",
            file=sys.stderr,
        )
    jars = sorted(source.glob("*.jar"))
    fresh_folder(dest)
    for jar in jars:
        link_or_copy(jar, dest / jar.name)
    return len(jars)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and stage wheels or jars."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    wheels = commands.add_parser("wheels", help="stage the pinned wheels")
    wheels.add_argument("--wheelhouse", required=True, type=Path)
    wheels.add_argument("--dest", required=True, type=Path)
    wheels.add_argument("requirements", nargs="+", type=Path)
    jars = commands.add_parser("jars", help="stage the jar folder")
    jars.add_argument("--source", required=True, type=Path)
    jars.add_argument("--dest", required=True, type=Path)
    args = parser.parse_args(argv)
    if args.command == "wheels":
        count = stage_wheels(args.requirements, args.wheelhouse, args.dest)
        print(f"staged {count} wheels in {args.dest}")
    else:
        count = stage_jars(args.source, args.dest)
        print(f"staged {count} jars in {args.dest}")


if __name__ == "__main__":
    main(sys.argv[1:])
