#!/usr/bin/env bash
# tests/ha/pgpair.sh — a PostgreSQL 15 primary and a streaming standby for
# the HA integration tests (tests/integration/test_ha.c), without any
# failover manager: the test itself kills the primary and promotes the
# standby, so that each step happens when the test says.
#
#   pgpair.sh start   DIR   primary in DIR/p, standby (pg_basebackup) in
#                           DIR/s, synchronous (synchronous_standby_names
#                           names the standby); waits until it streams
#   pgpair.sh kill    DIR   kill -9 of the primary's postmaster and of every
#                           process of it (the machine is gone)
#   pgpair.sh promote DIR   promotes the standby (pg_ctl promote -w)
#   pgpair.sh stop    DIR   stops both (immediate); no-op for what is down
#
# Each server listens on its own unix socket directory (DIR/p, DIR/s; port
# 5432, no TCP), so the conninfo of the pair is
# `host=DIR/s,DIR/p port=5432,5432 user=postgres`. Built on
# tests/harness/pg.sh (same conventions: trust, superuser postgres, run as
# the postgres user when invoked as root).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
PG=$ROOT/tests/harness/pg.sh
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

die() {
    echo "pgpair.sh: $*" >&2
    exit 1
}

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

sql() { # sql SOCKETDIR SQL
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "host=$1 port=5432 user=postgres dbname=postgres" -c "$2"
}

cmd_start() {
    local dir=$1 n=0
    mkdir -p "$dir"
    dir=$(cd -- "$dir" && pwd -P)
    [ "$(id -u)" -ne 0 ] || chmod 0755 "$dir"
    "$PG" start "$dir/p" >/dev/null
    if [ ! -f "$dir/s/data/PG_VERSION" ]; then
        mkdir -p "$dir/s"
        [ "$(id -u)" -ne 0 ] || chown postgres: "$dir/s"
        chmod 0755 "$dir/s"
        as_pg "$PGBIN/pg_basebackup" -D "$dir/s/data" -h "$dir/p" -p 5432 -U postgres \
            -X stream -c fast >"$dir/s/basebackup.log" 2>&1 ||
            { cat "$dir/s/basebackup.log" >&2; die "pg_basebackup failed"; }
        as_pg tee -a "$dir/s/data/postgresql.conf" >/dev/null <<CONF

# --- tests/ha/pgpair.sh: the standby ---
unix_socket_directories = '$dir/s'
primary_conninfo = 'host=$dir/p port=5432 user=postgres application_name=standby'
CONF
        as_pg touch "$dir/s/data/standby.signal"
    fi
    as_pg "$PGBIN/pg_ctl" -D "$dir/s/data" -l "$dir/s/pg.log" -w -t 60 start >/dev/null ||
        { tail -n 20 "$dir/s/pg.log" >&2; die "the standby did not start"; }
    sql "$dir/p" "ALTER SYSTEM SET synchronous_standby_names = 'standby'" >/dev/null
    sql "$dir/p" "SELECT pg_reload_conf()" >/dev/null
    until [ "$(sql "$dir/p" "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'standby' AND sync_state = 'sync' AND state = 'streaming'")" = 1 ]; do
        n=$((n + 1))
        [ $n -lt 300 ] || die "the standby does not stream synchronously"
        sleep 0.1
    done
}

cmd_kill() {
    local dir pm
    dir=$(cd -- "$1" && pwd -P)
    pm=$(head -n 1 "$dir/p/data/postmaster.pid" 2>/dev/null) || return 0
    # The postmaster and its children at once: nothing gets to say goodbye.
    # shellcheck disable=SC2046
    kill -9 "$pm" $(pgrep -P "$pm" | tr '\n' ' ') 2>/dev/null || true
    while kill -0 "$pm" 2>/dev/null; do sleep 0.05; done
}

cmd_promote() {
    local dir
    dir=$(cd -- "$1" && pwd -P)
    as_pg "$PGBIN/pg_ctl" -D "$dir/s/data" -w -t 60 promote >/dev/null
}

cmd_stop() {
    local dir d
    [ -d "$1" ] || return 0
    dir=$(cd -- "$1" && pwd -P)
    for d in "$dir/s" "$dir/p"; do
        [ -f "$d/data/postmaster.pid" ] || continue
        as_pg "$PGBIN/pg_ctl" -D "$d/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    done
}

[ $# -eq 2 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
case $1 in
start) cmd_start "$2" ;;
kill) cmd_kill "$2" ;;
promote) cmd_promote "$2" ;;
stop) cmd_stop "$2" ;;
*) exit 2 ;;
esac
