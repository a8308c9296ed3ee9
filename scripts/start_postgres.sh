#!/usr/bin/env bash
# Start Debian's PostgreSQL on loopback for the concurrency tests and create the `forecast`
# role and database (installing the server first on a machine without it). Idempotent.
# Prints only the SQLAlchemy URI the MLflow server uses (all else goes to stderr); .ci/run
# exports it for the tests.
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $2}' | grep -qx main; then
  pg_createcluster "$version" main >/dev/null
fi
# Loopback only: this cluster serves tests, never the network.
pg_conftool "$version" main set listen_addresses localhost >/dev/null
if ! pg_ctlcluster "$version" main status >/dev/null 2>&1; then
  # Its chatter ("Removed stale pid file.") must not reach stdout, which carries the URI.
  pg_ctlcluster "$version" main start >&2
fi

for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname='forecast'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"create role forecast login password 'forecast' createdb\""
echo "postgresql+psycopg2://forecast:forecast@127.0.0.1:5432/postgres"
