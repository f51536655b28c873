#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the test suite, installing the Debian
# package first if the machine lacks it. Source it: it exports ASSETQUERY_TEST_POSTGRES_URL
# and stops the server (and removes its data) when the calling shell exits.
#
#   source .ci/postgres.sh
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(pg_bin)" ]; then
    echo "installing PostgreSQL (Debian package)…"
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN="$(pg_bin)"

# initdb refuses to run as root: run the server as the package's postgres user then.
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    AS_PG=(runuser -u postgres --)
fi

PG_DATA="$(mktemp -d /tmp/assetquery-pg.XXXXXX)"
[ "$(id -u)" -eq 0 ] && chown postgres "$PG_DATA"
PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_DATA/data" -U assetquery -A trust --no-sync >/dev/null
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA/data" -l "$PG_DATA/server.log" -w \
    -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DATA -c fsync=off -c max_connections=200" start >/dev/null

stop_postgres() {
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DATA"
}
trap stop_postgres EXIT

export ASSETQUERY_TEST_POSTGRES_URL="postgresql+psycopg://assetquery@127.0.0.1:$PG_PORT/postgres"
echo "PostgreSQL for the tests: $ASSETQUERY_TEST_POSTGRES_URL"
