#!/usr/bin/env bash
# Build the job image with whatever is available: `docker build` where a Docker engine
# answers, buildah otherwise (no daemon; run as root).
#
# Usage: bash scripts/build_image.sh [--base auto|official|debian] [--tag NAME:TAG]
#   --base auto      the official python:3.11-slim-bookworm if it can be pulled, else the
#                    equivalent Debian base built with mmdebstrap (default)
#   --base official  only the official base; exit 2 if it cannot be pulled
#   --base debian    the mmdebstrap-built base, even where the official one is pullable
#   --tag            image name (default commodity-forecast:<project version>)
#
# Nothing is downloaded inside the build: the pinned wheels (docker/requirements.txt and
# docker/build-requirements.txt) and the Delta jars are fetched here on the host and staged
# into .build/ in the build context. Downloads and the Debian base are cached under
# FORECAST_CACHE_DIR (default ~/.cache/commodity-forecast); a missing or empty cache only
# costs time. Prints the image name as its last line. Exit 2: bad usage, no builder, no base.
set -euo pipefail
cd "$(dirname "$0")/.."

OFFICIAL_BASE="docker.io/library/python:3.11-slim-bookworm"
DEBIAN_BASE="localhost/commodity-forecast-base:bookworm"
CACHE="${FORECAST_CACHE_DIR:-$HOME/.cache/commodity-forecast}"
DELTA_VERSION="$(sed -n 's/^ARG DELTA_VERSION=//p' Dockerfile)"
VERSION="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' forecast_core/__init__.py)"
base_mode="auto"
tag="commodity-forecast:${VERSION}"

die() {  # one line on stderr, exit 2
  echo "error: $*" >&2
  exit 2
}
step() { echo "[build_image $(date -u +%H:%M:%S)] $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --base)
      [ $# -ge 2 ] || die "--base needs a value: auto, official or debian"
      base_mode="$2"
      shift 2
      ;;
    --tag)
      [ $# -ge 2 ] || die "--tag needs a value such as commodity-forecast:dev"
      tag="$2"
      shift 2
      ;;
    *) die "unknown argument '$1'; expected --base auto|official|debian or --tag NAME:TAG" ;;
  esac
done
case "$base_mode" in
  auto | official | debian) ;;
  *) die "--base '$base_mode' is not valid; expected auto, official or debian" ;;
esac

# The builder: a Docker engine that answers, else buildah.
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  builder="docker"
elif command -v buildah >/dev/null 2>&1; then
  builder="buildah"
else
  die "no image builder: no Docker engine answers and buildah is missing; install buildah (apt-get install buildah) or start a Docker engine"
fi
step "builder: $builder"

image_exists() {
  if [ "$builder" = docker ]; then
    docker image inspect "$1" >/dev/null 2>&1
  else
    buildah inspect --type image "$1" >/dev/null 2>&1
  fi
}

# The Debian base: the cached image, else the cached tarball, else mmdebstrap now.
debian_base() {  # $1: why the Debian base is used, for the error line
  local why="$1" tarball="$CACHE/base-bookworm.tar"
  if image_exists "$DEBIAN_BASE"; then
    return
  fi
  if [ ! -s "$tarball" ]; then
    command -v mmdebstrap >/dev/null 2>&1 \
      || die "no base image: $why, and the Debian base cannot be built: mmdebstrap is missing (apt-get install mmdebstrap)"
    step "building the Debian bookworm base with mmdebstrap (about 1-3 minutes)"
    mkdir -p "$CACHE"
    mmdebstrap --quiet --variant=minbase --format=tar \
      --include=python3,python3-venv,python-is-python3,ca-certificates \
      bookworm "$tarball.partial" >&2 \
      || die "no base image: $why, and mmdebstrap failed to build the Debian base (its output is above)"
    mv "$tarball.partial" "$tarball"
  fi
  step "importing $tarball as $DEBIAN_BASE"
  if [ "$builder" = docker ]; then
    docker import "$tarball" "$DEBIAN_BASE" >/dev/null
  elif command -v podman >/dev/null 2>&1; then
    podman import "$tarball" "$DEBIAN_BASE" >/dev/null
  else
    die "cannot import the Debian base $tarball: podman is missing (apt-get install podman)"
  fi
}

pull_official() {  # prints nothing; the pull's last error line goes to $pull_error
  local output
  if [ "$builder" = docker ]; then
    output="$(docker pull "$OFFICIAL_BASE" 2>&1)" && return 0
  else
    output="$(buildah pull "$OFFICIAL_BASE" 2>&1)" && return 0
  fi
  pull_error="$(printf '%s\n' "$output" | tail -1)"
  return 1
}

pull_error=""
case "$base_mode" in
  official)
    pull_official || die "base $OFFICIAL_BASE cannot be pulled: $pull_error"
    base="$OFFICIAL_BASE"
    ;;
  auto)
    if pull_official; then
      base="$OFFICIAL_BASE"
    else
      step "cannot pull $OFFICIAL_BASE: $pull_error"
      debian_base "$OFFICIAL_BASE cannot be pulled ($pull_error)"
      base="$DEBIAN_BASE"
    fi
    ;;
  debian)
    debian_base "--base debian asks for the Debian base"
    base="$DEBIAN_BASE"
    ;;
esac
step "base: $base"

# Wheels: the host builds the same CPython 3.11 x86_64 Linux wheels the image installs.
host_python="$(python3 -c 'import platform, sys; print(f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}-{platform.machine()}")')"
[ "$host_python" = "cpython-3.11-x86_64" ] \
  || die "host python3 is $host_python; expected cpython-3.11-x86_64 to fetch the image's wheels"
step "filling the wheelhouse $CACHE/wheels"
mkdir -p "$CACHE/wheels"
python3 -m pip wheel --quiet --disable-pip-version-check --no-deps \
  --find-links "$CACHE/wheels" --wheel-dir "$CACHE/wheels" \
  --requirement docker/requirements.txt --requirement docker/build-requirements.txt >&2 \
  || step "pip wheel failed; checking which wheel is missing"
python3 scripts/image_inputs.py wheels --wheelhouse "$CACHE/wheels" --dest .build/wheelhouse \
  docker/requirements.txt docker/build-requirements.txt >&2

# Jars: the Delta jars and the S3 jars (tables on s3a://) Spark lacks, fetched once into the
# folder scripts/install.sh fills (FORECAST_SPARK_JARS, default
# ~/.cache/commodity-forecast/jars; nothing to do if present), and the project's S3 LogStore
# built there from jvm/ (javac; an up-to-date jar is left alone).
jar_folder="${FORECAST_SPARK_JARS:-$(python3 -c 'from forecast_core.jars import default_jars_dir; print(default_jars_dir())')}"
step "Delta $DELTA_VERSION, S3 jars and the S3 LogStore in $jar_folder"
python3 scripts/fetch_jars.py --with-s3 --dest "$jar_folder" >&2 || step "fetching the jars failed"
python3 scripts/image_inputs.py jars --source "$jar_folder" --dest .build/jars >&2

revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  revision="$revision-dirty"
fi
step "building $tag (revision $revision)"
build_args=(--build-arg "PYTHON_IMAGE=$base" --label "org.opencontainers.image.revision=$revision"
  --label "org.opencontainers.image.version=$VERSION" --tag "$tag")
if [ "$builder" = docker ]; then
  docker build "${build_args[@]}" . >&2
else
  buildah bud --isolation chroot --layers "${build_args[@]}" . >&2
fi
step "built $tag"
echo "$tag"
