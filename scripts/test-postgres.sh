#!/usr/bin/env bash
# Starts (start) or stops (stop) a private, throw-away PostgreSQL cluster for the test suites and prints
# its URL. Uses Debian's PostgreSQL binaries; initdb refuses to run as root, so the cluster runs as the
# `postgres` user when we are root.
set -euo pipefail
PGPORT="${TEST_PG_PORT:-55433}"
PGROOT="${TEST_PG_ROOT:-/tmp/swapmesh-test-pg}"
PGDATA="$PGROOT/data"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$PGBIN" ]; then echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; fi

as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

case "${1:-start}" in
  start)
    if [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl -D $PGDATA status" >/dev/null 2>&1; then
      :
    else
      rm -rf "$PGROOT" && mkdir -p "$PGDATA"
      [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$PGROOT"
      as_pg "$PGBIN/initdb -D $PGDATA -U postgres -A trust -E UTF8 --no-locale" >/dev/null
      as_pg "$PGBIN/pg_ctl -D $PGDATA -l $PGROOT/server.log -o \"-h 127.0.0.1 -p $PGPORT -k $PGDATA -c fsync=off -c max_connections=200\" -w start" >/dev/null
    fi
    echo "postgresql://postgres@127.0.0.1:$PGPORT/postgres"
    ;;
  stop)
    as_pg "$PGBIN/pg_ctl -D $PGDATA -m fast stop" >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
