#!/usr/bin/env bash
# tests/ha/cluster.sh — a replicated PostgreSQL 15 under a real failover
# manager, pg_auto_failover (pg_autoctl; docs/ha.md says why this one), on
# this machine in a private directory with free ports: a monitor and two
# data nodes, one primary and one synchronous standby. Used by make ha-demo
# (tests/ha/demo.sh) and make drill-ha (tests/ha/drill-ha.sh, through
# tests/drill/drill.sh, which calls it where it calls tests/harness/pg.sh:
# same commands, same output).
#
#   cluster.sh start    DIR       creates (first time) and runs the monitor and
#                                 node1, node2; restarts a node killed before;
#                                 waits for a writable primary AND a standby
#                                 in sync; prints the base conninfo
#   cluster.sh stop     DIR       stops everything it started
#   cluster.sh kill     DIR       the primary's machine is lost: kill -9 of its
#                                 pg_autoctl (the keeper would restart the
#                                 postmaster in place) and of its postmaster
#                                 and every process of it; returns at once
#   cluster.sh restart  DIR       a whole failover: kill, wait until the
#                                 monitor promoted the standby, rejoin the
#                                 killed node as standby (start)
#   cluster.sh createdb DIR NAME  a fresh database NAME on the primary
#   cluster.sh conninfo DIR       prints the base conninfo
#   cluster.sh status   DIR       exit 0 when a writable primary answers
#   cluster.sh state    DIR       the monitor's view (pg_autoctl show state)
#
# The base conninfo names both nodes and asks for the primary:
#   host=127.0.0.1,127.0.0.1 port=P1,P2 user=postgres target_session_attrs=read-write
# (append dbname=NAME). Trust authentication on 127.0.0.1 only; no SSL
# (loopback). When run as root, the servers run as the postgres user.
#
# Failover timing: the monitor's health checks are tightened (a check a
# second, a node unhealthy after 2 s, a dead primary demoted after 3 s)
# so a failover takes seconds, not the half minute of the defaults.
#
# Every kill and promotion is appended to DIR/failovers.txt as
#   kill EPOCH_MS NODE JOURNAL_MS      (JOURNAL_MS: the drill journal's
#   primary EPOCH_MS NODE              clock at the kill, when there is one)
#   rejoined EPOCH_MS NODE
# for the drill's report of unavailability windows.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
WAIT_S=${HA_WAIT_S:-120}

die() {
    echo "cluster.sh: $*" >&2
    exit 1
}

usage() {
    sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

command -v pg_autoctl >/dev/null ||
    die "pg_autoctl not found: install postgresql-15-auto-failover (scripts/deps.sh ha)"

now_ms() { date +%s%3N; }

# as_pg CMD...: as the postgres user (when root), with a clean
# environment: pg_autoctl keeps its state under XDG_* (in DIR, not in
# ~postgres) and finds pg_ctl in PATH.
pg_env() {
    PG_ENV=(env -i "PATH=$PGBIN:/usr/bin:/bin" "HOME=$DIR" "XDG_CONFIG_HOME=$DIR/xdg/config"
        "XDG_DATA_HOME=$DIR/xdg/data" "XDG_RUNTIME_DIR=$DIR/xdg/run" "PG_CONFIG=$PGBIN/pg_config"
        "LANG=C.UTF-8")
}
as_pg() {
    pg_env
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "${PG_ENV[@]}" "$@"
    else
        "${PG_ENV[@]}" "$@"
    fi
}

free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$((20000 + ((RANDOM << 15 | RANDOM) % 12000)))
        if [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] && ! grep -qx "$p" "$DIR/ports" 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

load_ports() {
    [ -s "$DIR/ports" ] || die "no cluster in $DIR (cluster.sh start $DIR)"
    { read -r MPORT; read -r P1; read -r P2; } <"$DIR/ports"
}

conninfo() {
    echo "host=127.0.0.1,127.0.0.1 port=$P1,$P2 user=postgres target_session_attrs=read-write"
}

monitor_uri() {
    echo "postgres://autoctl_node@127.0.0.1:$MPORT/pg_auto_failover?sslmode=disable"
}

psql_at() { # psql_at PORT SQL
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
        -d "host=127.0.0.1 port=$1 user=postgres dbname=postgres connect_timeout=3" -c "$2"
}

# msql SQL: a query on the monitor's database.
msql() {
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
        -d "host=127.0.0.1 port=$MPORT user=autoctl_node dbname=pg_auto_failover connect_timeout=3" \
        -c "$1"
}

# run_keeper NAME ARGS...: pg_autoctl in the background, in a session of
# its own (so that a kill of the group takes all of it), pid in DIR/NAME.pid.
run_keeper() {
    local name=$1
    shift
    pg_env
    # (setsid outside: its pid, the one kept, leads the group that holds
    # runuser, pg_autoctl and every process pg_autoctl starts.)
    if [ "$(id -u)" -eq 0 ]; then
        setsid runuser -u postgres -- "${PG_ENV[@]}" "$@" >>"$DIR/$name.log" 2>&1 </dev/null &
    else
        setsid "${PG_ENV[@]}" "$@" >>"$DIR/$name.log" 2>&1 </dev/null &
    fi
    echo $! >"$DIR/$name.pid"
}

keeper_alive() {
    local pid
    pid=$(cat "$DIR/$1.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# node_port NAME
node_port() { case $1 in node1) echo "$P1" ;; node2) echo "$P2" ;; esac; }

# primary_node: the node the monitor reports primary (or wait_primary, a
# primary whose standby is not in sync yet); empty when none.
primary_node() {
    msql "SELECT nodename FROM pgautofailover.node
           WHERE reportedstate IN ('primary', 'wait_primary', 'single')
             AND goalstate IN ('primary', 'wait_primary', 'single')
           ORDER BY reportedstate = 'primary' DESC LIMIT 1" 2>/dev/null || true
}

monitor_up() { psql_at "$MPORT" "SELECT 1" >/dev/null 2>&1; }

writable() { # writable PORT
    [ "$(psql_at "$1" "SELECT NOT pg_is_in_recovery()" 2>/dev/null)" = t ]
}

# wait_until DESC CMD...: polls CMD (every 0.2 s) up to WAIT_S.
wait_until() {
    local desc=$1 n=0
    shift
    until "$@"; do
        n=$((n + 1))
        [ $n -lt $((WAIT_S * 5)) ] || die "gave up after ${WAIT_S}s waiting for $desc (logs in $DIR)"
        sleep 0.2
    done
}

have_primary() {
    local p
    p=$(primary_node)
    [ -n "$p" ] && writable "$(node_port "$p")"
}

# Both nodes healthy, one primary and one secondary in sync.
in_sync() {
    [ "$(msql "SELECT count(*) FILTER (WHERE reportedstate = 'primary' AND goalstate = 'primary')
                  || ' ' || count(*) FILTER (WHERE reportedstate = 'secondary' AND goalstate = 'secondary')
                 FROM pgautofailover.node WHERE formationid = 'default'" 2>/dev/null)" = "1 1" ]
}

cmd_start() {
    mkdir -p "$DIR"
    DIR=$(cd -- "$DIR" && pwd -P)
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user"
        chown postgres: "$DIR"
    fi
    chmod 0755 "$DIR"
    as_pg mkdir -p "$DIR/xdg/config" "$DIR/xdg/data" "$DIR/xdg/run"
    as_pg chmod 0700 "$DIR/xdg/run"
    if [ ! -s "$DIR/ports" ]; then
        : >"$DIR/ports"
        local p
        for p in 1 2 3; do free_port >>"$DIR/ports" || die "no free port"; done
    fi
    load_ports
    if [ ! -f "$DIR/monitor/PG_VERSION" ]; then
        as_pg pg_autoctl create monitor --pgdata "$DIR/monitor" --pgport "$MPORT" \
            --hostname 127.0.0.1 --auth trust --no-ssl >>"$DIR/monitor.log" 2>&1 ||
            { tail -n 20 "$DIR/monitor.log" >&2; die "pg_autoctl create monitor failed"; }
    fi
    keeper_alive monitor || run_keeper monitor pg_autoctl run --pgdata "$DIR/monitor"
    wait_until "the monitor" monitor_up
    # Fast failover (the defaults wait about 30 s). A dead primary is
    # demoted by the monitor after primary_demote_timeout: the time the
    # old primary is given to notice and stop writing by itself.
    psql_at "$MPORT" "ALTER SYSTEM SET pgautofailover.health_check_period = 1000;" >/dev/null
    psql_at "$MPORT" "ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000;" >/dev/null
    psql_at "$MPORT" "ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1;" >/dev/null
    psql_at "$MPORT" "ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500;" >/dev/null
    psql_at "$MPORT" "ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 2000;" >/dev/null
    psql_at "$MPORT" "ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 3000;" >/dev/null
    psql_at "$MPORT" "SELECT pg_reload_conf()" >/dev/null
    local n port
    for n in node1 node2; do
        port=$(node_port $n)
        if keeper_alive $n; then
            continue
        fi
        if [ ! -f "$DIR/$n/PG_VERSION" ]; then
            # node2 joins once node1 is primary: it is then made its standby.
            if [ $n = node1 ]; then
                # Our own initdb, so that the settings the participants
                # need (2PC: max_prepared_transactions) are there before
                # pg_autoctl adopts it; node2, a pg_basebackup of node1,
                # gets the same.
                as_pg "$PGBIN/initdb" -D "$DIR/node1" -U postgres --auth=trust -E UTF8 \
                    --locale=C >>"$DIR/node1.log" 2>&1 || die "initdb failed (see $DIR/node1.log)"
                as_pg sh -c "cat >>'$DIR/node1/postgresql.conf'" <<CONF

# --- tests/ha/cluster.sh ---
max_connections = 200
max_prepared_transactions = 200
synchronous_commit = on
fsync = on
log_min_messages = warning
CONF
            else
                wait_until "node1 as primary" have_primary
            fi
            run_keeper $n pg_autoctl create postgres --pgdata "$DIR/$n" --pgport "$port" \
                --hostname 127.0.0.1 --name $n --monitor "$(monitor_uri)" --auth trust \
                --no-ssl --pg-hba-lan --run
            [ $n = node2 ] || wait_until "node1 as primary" have_primary
        else
            run_keeper $n pg_autoctl run --pgdata "$DIR/$n"
            echo "rejoined $(now_ms) $n" >>"$DIR/failovers.txt"
        fi
    done
    wait_until "a primary and a standby in sync" in_sync
    # The data nodes accept the clients of this machine (trust, loopback).
    for n in node1 node2; do
        if ! grep -q "dtx: clients on loopback" "$DIR/$n/pg_hba.conf" 2>/dev/null; then
            as_pg sh -c "printf '%s\n' '# dtx: clients on loopback' 'host all all 127.0.0.1/32 trust' >>'$DIR/$n/pg_hba.conf'"
            psql_at "$(node_port $n)" "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
        fi
    done
    conninfo
}

cmd_stop() {
    [ -d "$DIR" ] || return 0
    DIR=$(cd -- "$DIR" && pwd -P)
    [ -s "$DIR/ports" ] || return 0
    local n pid i
    for n in node2 node1 monitor; do
        pid=$(cat "$DIR/$n.pid" 2>/dev/null) || continue
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for n in node2 node1 monitor; do
        pid=$(cat "$DIR/$n.pid" 2>/dev/null) || continue
        for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    # Any server left (a keeper killed earlier leaves none, but be sure).
    for n in node1 node2 monitor; do
        [ -f "$DIR/$n/postmaster.pid" ] || continue
        as_pg "$PGBIN/pg_ctl" -D "$DIR/$n" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    done
}

cmd_kill() {
    DIR=$(cd -- "$DIR" && pwd -P)
    load_ports
    local p pid pm jms=""
    p=$(primary_node)
    [ -n "$p" ] || die "no primary to kill"
    pid=$(cat "$DIR/$p.pid")
    pm=$(head -n 1 "$DIR/$p/postmaster.pid" 2>/dev/null || true)
    # The drill's journal clock at this instant (its last line's ms).
    if [ -f "$DIR/../journal.txt" ]; then
        jms=$(tail -n 1 "$DIR/../journal.txt" | awk '{ print ($1 == "E" ? $5 : $5) }')
    fi
    # shellcheck disable=SC2046
    kill -KILL -- "-$pid" ${pm:+"$pm"} $( [ -n "$pm" ] && pgrep -P "$pm" | tr '\n' ' ') 2>/dev/null || true
    echo "kill $(now_ms) $p ${jms:-}" >>"$DIR/failovers.txt"
    echo "$p" >"$DIR/killed"
}

# The monitor promoted another node than the one killed.
promoted_other() {
    local p
    p=$(primary_node)
    [ -n "$p" ] && [ "$p" != "$(cat "$DIR/killed")" ] && writable "$(node_port "$p")"
}

cmd_after_kill() {
    [ -s "$DIR/killed" ] || return 0
    wait_until "the standby's promotion" promoted_other
    echo "primary $(now_ms) $(primary_node)" >>"$DIR/failovers.txt"
    rm -f "$DIR/killed"
}

[ $# -ge 2 ] || usage
cmd=$1
DIR=$2
case $cmd in
start)
    if [ -d "$DIR" ]; then
        DIR=$(cd -- "$DIR" && pwd -P)
        if [ -s "$DIR/ports" ]; then load_ports; cmd_after_kill; fi
    fi
    cmd_start
    ;;
stop) cmd_stop ;;
kill) cmd_kill ;;
restart)
    cmd_kill
    cmd_after_kill
    cmd_start
    ;;
createdb)
    [ $# -eq 3 ] || usage
    [[ $3 =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "database name '$3' must be lower-case letters, digits and _"
    DIR=$(cd -- "$DIR" && pwd -P)
    load_ports
    PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
        -d "$(conninfo) dbname=postgres" -c "DROP DATABASE IF EXISTS $3 WITH (FORCE)" \
        -c "CREATE DATABASE $3" >/dev/null || die "cannot create database $3"
    ;;
conninfo)
    DIR=$(cd -- "$DIR" && pwd -P)
    load_ports
    conninfo
    ;;
status)
    DIR=$(cd -- "$DIR" 2>/dev/null && pwd -P) || exit 1
    [ -s "$DIR/ports" ] || exit 1
    load_ports
    have_primary
    ;;
state)
    DIR=$(cd -- "$DIR" && pwd -P)
    as_pg pg_autoctl show state --pgdata "$DIR/monitor"
    ;;
*) usage ;;
esac
