#!/usr/bin/env bash
# Prints a GWANJE_DATABASE_URL for the PostGIS test run. Uses the server on 127.0.0.1:5432 when one
# runs, else starts the local cluster; creates the role `gwanje` (superuser: tests create the
# postgis extension in their test database) when it is missing.
set -euo pipefail
host=127.0.0.1 port=${GWANJE_PG_PORT:-5432}
url="postgis://gwanje:gwanje@$host:$port/gwanje"

if ! pg_isready -q -h "$host" -p "$port"; then
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$ver" ]; then echo "postgis.sh: no PostgreSQL cluster installed" >&2; exit 1; fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || pg_ctlcluster "$ver" main start >&2
  for _ in $(seq 1 30); do pg_isready -q -h "$host" -p "$port" && break; sleep 1; done
fi

as_admin() {
  # trust auth as postgres over TCP when allowed, else the postgres OS user over the socket
  if psql -h "$host" -p "$port" -U postgres -d postgres -tAc "select 1" >/dev/null 2>&1; then
    psql -h "$host" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -tAc "$1"
  else
    runuser -u postgres -- psql -p "$port" -d postgres -v ON_ERROR_STOP=1 -tAc "$1"
  fi
}
if ! PGPASSWORD=gwanje psql -h "$host" -p "$port" -U gwanje -d postgres -tAc "select 1" >/dev/null 2>&1; then
  if [ "$(as_admin "select 1 from pg_roles where rolname='gwanje'")" = "1" ]; then
    as_admin "ALTER ROLE gwanje WITH LOGIN SUPERUSER PASSWORD 'gwanje'" >&2
  else
    as_admin "CREATE ROLE gwanje WITH LOGIN SUPERUSER PASSWORD 'gwanje'" >&2
  fi
fi
if [ "$(PGPASSWORD=gwanje psql -h "$host" -p "$port" -U gwanje -d postgres -tAc "select 1 from pg_database where datname='gwanje'")" != "1" ]; then
  PGPASSWORD=gwanje psql -h "$host" -p "$port" -U gwanje -d postgres -tAc "CREATE DATABASE gwanje" >&2
fi
echo "$url"
