#!/usr/bin/env bash
# Set up a fresh machine: a Java 17 JDK for Spark and for building the S3 LogStore
# (Debian/Ubuntu apt, if javac is missing), the project with its test tools, and the Delta
# Lake jars (fetched once from Maven Central into FORECAST_SPARK_JARS, default
# ~/.cache/commodity-forecast/jars; jobs never download).
# --with-s3 also fetches the jars of tables on s3a:// (hadoop-aws, AWS SDK modules: about
# 15 MB) and builds the project's S3 LogStore (jvm/) into the same folder; without it
# nothing of S3 is downloaded or built.
# Safe to run again. Usage: bash scripts/install.sh [--with-s3]
set -euo pipefail
cd "$(dirname "$0")/.."

fetch_args=()
for arg in "$@"; do
  case "$arg" in
    --with-s3) fetch_args+=(--with-s3) ;;
    *)
      echo "error: unknown argument '$arg'; expected --with-s3" >&2
      exit 2
      ;;
  esac
done

# javac, not just java: a JRE runs Spark but cannot build the LogStore.
if ! { java -version 2>&1 | grep -qE 'version "(17|21)' \
  && javac -version 2>&1 | grep -qE '^javac (17|21)'; }; then
  echo "Installing a Java 17 JDK for Spark and the S3 LogStore..."
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=""; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jdk-headless >/dev/null
fi

python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
python3 scripts/fetch_jars.py "${fetch_args[@]}"
echo "Ready: $(forecast --version)"
