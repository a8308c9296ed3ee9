#!/usr/bin/env bash
# Set up a fresh machine: a Java 17 runtime for Spark (Debian/Ubuntu apt, if missing), the
# project with its test tools, and the Delta Lake jars (fetched once from Maven Central into
# FORECAST_SPARK_JARS, default ~/.cache/commodity-forecast/jars; jobs never download).
# Safe to run again. Usage: bash scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! java -version 2>&1 | grep -qE 'version "(17|21)'; then
  echo "Installing a Java 17 runtime for Spark..."
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=""; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
python3 scripts/fetch_jars.py
echo "Ready: $(forecast --version)"
