#!/usr/bin/env bash
# Start a Spark Connect server for the jobs on this machine, in the foreground (Ctrl-C
# stops it): `forecast connect-server` with the Delta jars of scripts/install.sh and the
# embedded session's settings. Then run any job with
#   FORECAST_SPARK_REMOTE=sc://127.0.0.1:15002 forecast daily
# (or --spark-remote), which keeps one warm JVM across runs instead of starting one each.
#
# Usage: scripts/start_connect_server.sh [--port 15002] [--host 127.0.0.1]
#          [--spark-master local[2]] [--spark-jars DIR] [--table-format delta]
#          [--driver-memory 4g]
# The same options read FORECAST_CONNECT_PORT, FORECAST_CONNECT_HOST, FORECAST_SPARK_MASTER,
# FORECAST_SPARK_JARS, FORECAST_TABLE_FORMAT, FORECAST_CONNECT_DRIVER_MEMORY
# (`forecast connect-server --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 -m jobs connect-server "$@"
