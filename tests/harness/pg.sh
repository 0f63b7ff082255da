#!/usr/bin/env bash
# tests/harness/pg.sh — a private PostgreSQL 15 for tests, drills and the demo.
#
#   pg.sh start    DIR        initdb (first time) + start; prints the base conninfo
#   pg.sh stop     DIR        stop (fast, then immediate); no-op when not running
#   pg.sh kill     DIR        stop immediately (a crash, for drills)
#   pg.sh restart  DIR        stop + start; prints the base conninfo
#   pg.sh createdb DIR NAME   a fresh, empty database NAME (dropped first if it exists)
#   pg.sh conninfo DIR        prints the base conninfo
#   pg.sh status   DIR        exit 0 when the server accepts connections
#
# The cluster lives in DIR/data, its unix socket in DIR, its log in DIR/pg.log.
# It listens on no TCP address at all (listen_addresses=''), so two clusters
# never collide on a port even though both use the socket name .s.PGSQL.5432.
# Trust authentication, superuser "postgres", fsync on (drills kill it and
# must find their data again). When run as root, DIR is handed to the
# postgres user and the server runs as that user; DIR's parents must then be
# traversable by it (see tests/run.sh).
#
# The base conninfo is `host=DIR port=5432 user=postgres`; append
# `dbname=NAME`.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGPORT_FIXED=5432
START_TIMEOUT_S=${PG_START_TIMEOUT_S:-60}

die() {
    echo "pg.sh: $*" >&2
    exit 1
}

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# as_pg CMD...: runs CMD as the user who owns the cluster.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# resolve DIR: creates it and prints its absolute, symlink-free path.
resolve() {
    local dir=$1
    mkdir -p -- "$dir" || die "cannot create directory $dir"
    (cd -- "$dir" && pwd -P)
}

check_dir() {
    local dir=$1
    case $dir in
    *[[:space:]\'\"\\]*) die "directory '$dir' contains a space, quote or backslash; conninfo cannot carry it" ;;
    esac
    # A unix socket path is limited to 107 bytes.
    local sock="$dir/.s.PGSQL.$PGPORT_FIXED"
    [ ${#sock} -le 107 ] || die "socket path $sock is longer than 107 bytes; use a shorter DIR"
    [ -x "$PGBIN/initdb" ] || die "PostgreSQL 15 not found in $PGBIN (install postgresql-15: scripts/deps.sh)"
}

conninfo() {
    echo "host=$1 port=$PGPORT_FIXED user=postgres"
}

is_ready() {
    "$PGBIN/pg_isready" -q -h "$1" -p "$PGPORT_FIXED" -U postgres -d postgres -t 2
}

log_hint() {
    local dir=$1
    if [ -f "$dir/pg.log" ]; then
        echo "pg.sh: last lines of $dir/pg.log:" >&2
        tail -n 20 "$dir/pg.log" >&2 || true
    fi
}

cmd_start() {
    local dir
    dir=$(resolve "$1")
    check_dir "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user"
        chown postgres: "$dir"
        chmod 0755 "$dir"
        runuser -u postgres -- test -w "$dir" ||
            die "the postgres user cannot write $dir: make every parent directory traversable (chmod o+x)"
    fi

    if [ ! -f "$dir/data/PG_VERSION" ]; then
        rm -rf -- "$dir/data"
        if ! as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust \
            -E UTF8 --locale=C >"$dir/initdb.log" 2>&1; then
            cat "$dir/initdb.log" >&2
            die "initdb failed in $dir/data (log above)"
        fi
        as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF

# --- tests/harness/pg.sh ---
listen_addresses = ''
unix_socket_directories = '$dir'
port = $PGPORT_FIXED
max_connections = 200
max_prepared_transactions = 200
fsync = on
synchronous_commit = on
full_page_writes = on
logging_collector = off
log_line_prefix = '%m [%p] %d '
log_min_messages = warning
log_min_error_statement = error
EOF
    fi

    if is_ready "$dir"; then
        conninfo "$dir"
        return 0
    fi
    # A stale pid file from a killed server is handled by pg_ctl itself.
    if ! as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w \
        -t "$START_TIMEOUT_S" start >/dev/null; then
        log_hint "$dir"
        die "PostgreSQL in $dir/data did not start"
    fi
    local waited=0
    until is_ready "$dir"; do
        waited=$((waited + 1))
        if [ "$waited" -gt $((START_TIMEOUT_S * 10)) ]; then
            log_hint "$dir"
            die "PostgreSQL in $dir/data started but does not accept connections after ${START_TIMEOUT_S}s"
        fi
        sleep 0.1
    done
    conninfo "$dir"
}

running() {
    [ -f "$1/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

cmd_stop() {
    local dir mode=${2:-fast}
    [ -d "$1" ] || return 0
    dir=$(cd -- "$1" && pwd -P)
    [ -d "$dir/data" ] || return 0
    running "$dir" || return 0
    if [ "$mode" = fast ] &&
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
        return 0
    fi
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    if running "$dir"; then
        log_hint "$dir"
        die "PostgreSQL in $dir/data does not stop"
    fi
}

cmd_createdb() {
    local dir name=$2
    [[ $name =~ ^[a-z_][a-z0-9_]{0,62}$ ]] ||
        die "database name '$name' must be lower-case letters, digits and _"
    dir=$(cd -- "$1" 2>/dev/null && pwd -P) || die "no cluster in $1"
    is_ready "$dir" || die "PostgreSQL in $dir is not running (pg.sh start $dir)"
    PGOPTIONS='-c client_min_messages=warning' \
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$(conninfo "$dir") dbname=postgres" \
        -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" \
        -c "CREATE DATABASE $name" >/dev/null ||
        die "cannot create database $name in $dir"
}

[ $# -ge 2 ] || usage
cmd=$1
case $cmd in
start) cmd_start "$2" ;;
stop) cmd_stop "$2" fast ;;
kill) cmd_stop "$2" immediate ;;
restart)
    cmd_stop "$2" fast
    cmd_start "$2"
    ;;
createdb)
    [ $# -eq 3 ] || usage
    cmd_createdb "$2" "$3"
    ;;
conninfo)
    dir=$(cd -- "$2" && pwd -P) || die "no directory $2"
    conninfo "$dir"
    ;;
status)
    dir=$(cd -- "$2" 2>/dev/null && pwd -P) || exit 1
    is_ready "$dir"
    ;;
*) usage ;;
esac
