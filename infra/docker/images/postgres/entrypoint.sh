#!/bin/bash
# First start: initdb with the chosen host authentication, then every
# /docker-entrypoint-initdb.d/*.sql against a server that listens on the socket only.
set -euo pipefail
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"
  exec runuser -u postgres -- "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # UTF8 as the official image has it (its LANG is en_US.utf8); this base sets no locale.
  initdb -D "$PGDATA" -U postgres --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust "--auth-host=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  echo "host all all all ${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
  for script in /docker-entrypoint-initdb.d/*.sql; do
    [ -f "$script" ] && psql -v ON_ERROR_STOP=1 -U postgres -d postgres -f "$script"
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
fi
if [ "${1:-}" = postgres ]; then
  shift
  exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
