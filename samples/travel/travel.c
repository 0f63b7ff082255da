/*
 * travel — the travel booking Saga (docs/sagas.md), one binary, two roles:
 *
 *   travel participant --resource flights|hotels|payments --db CONNINFO
 *                      --coordinator ENDPOINT [--ready-file FILE]
 *                      [--limit AMOUNT]
 *       serves one resource with Saga handlers over its own database:
 *       table bookings(trip, gid, amount, status 'booked' | 'cancelled');
 *       the action books (a payment over --limit is declined: DTX_EREFUSED),
 *       the compensation cancels. Both run under the barrier
 *       (dtx/barrier.h): duplicates applied once, a compensation before its
 *       action is a null compensation.
 *
 *   travel book --coordinator ENDPOINT --trip ID --amount N
 *       submits the Saga flights.book/cancel → hotels.book/cancel →
 *       payments.charge/refund, waits for its end and prints
 *       "ID committed" or "ID compensated". Exit 0 committed, 3
 *       compensated, 1 on errors.
 *
 * CurveZMQ keys come from DTX_CURVE_KEY_FILE, as for every libdtx program.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dtx/barrier.h"
#include "dtx/dtx.h"
#include "../sample_ready.h"

typedef struct {
    PGconn *conn;
    long    limit; /* payments: the largest amount charged; 0 none */
} travel_t;

static long s_amount(const dtx_call_t *call)
{
    char buf[32] = "";
    size_t n = call->payload_len < sizeof buf - 1 ? call->payload_len : sizeof buf - 1;
    memcpy(buf, call->payload, n);
    return strtol(buf, NULL, 10);
}

static int s_exec(PGconn *conn, const char *sql, const dtx_call_t *call)
{
    char amount[32];
    snprintf(amount, sizeof amount, "%ld", s_amount(call));
    const char *params[3] = { call->gid, amount, call->resource };
    PGresult *r = PQexecParams(conn, sql, 3, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? DTX_OK : DTX_EDB;
}

/* Inside the barrier's transaction. */
static int s_book(PGconn *conn, const dtx_call_t *call, void *arg)
{
    travel_t *self = arg;
    if (self->limit > 0 && s_amount(call) > self->limit)
        return DTX_EREFUSED; /* declined: the Saga is compensated */
    return s_exec(conn, "INSERT INTO bookings (gid, amount, what, status)"
                        " VALUES ($1, $2::bigint, $3, 'booked')", call);
}

static int s_cancel(PGconn *conn, const dtx_call_t *call, void *arg)
{
    (void)arg;
    return s_exec(conn, "UPDATE bookings SET status = 'cancelled'"
                        " WHERE gid = $1 AND $2::bigint >= 0 AND what = $3", call);
}

static int s_on_action(const dtx_call_t *call, void *arg)
{
    travel_t *self = arg;
    return dtx_barrier_call(self->conn, call, s_book, self);
}

static int s_on_compensate(const dtx_call_t *call, void *arg)
{
    travel_t *self = arg;
    return dtx_barrier_call(self->conn, call, s_cancel, self);
}

static int s_ready(dtx_participant_t *p, void *arg)
{
    (void)p;
    return sample_ready_write(arg);
}

static int s_participant(int argc, char **argv)
{
    const char *resource = NULL, *db = NULL, *coord = NULL, *ready = NULL;
    travel_t self = { NULL, 0 };
    static const struct option opts[] = {
        { "resource", required_argument, NULL, 'r' }, { "db", required_argument, NULL, 'd' },
        { "coordinator", required_argument, NULL, 'c' }, { "ready-file", required_argument, NULL, 'f' },
        { "limit", required_argument, NULL, 'l' }, { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r': resource = optarg; break;
        case 'd': db = optarg; break;
        case 'c': coord = optarg; break;
        case 'f': ready = optarg; break;
        case 'l': self.limit = strtol(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    if (!resource || !db || !coord) {
        fprintf(stderr, "travel participant: --resource, --db and --coordinator are required\n");
        return 2;
    }
    dtx_log_set_handler(dtx_log_stderr, (void *)resource);
    self.conn = PQconnectdb(db);
    if (PQstatus(self.conn) != CONNECTION_OK || dtx_barrier_migrate(self.conn) != 0) {
        fprintf(stderr, "travel participant: database: %s", PQerrorMessage(self.conn));
        PQfinish(self.conn);
        return 1;
    }
    PGresult *r = PQexec(self.conn, "CREATE TABLE IF NOT EXISTS bookings (gid text, amount bigint,"
                                    " what text, status text, PRIMARY KEY (gid, what))");
    PQclear(r);
    int err = 0;
    dtx_participant_t *p = dtx_participant_new(resource, &err);
    const dtx_saga_handlers_t h = { s_on_action, s_on_compensate, &self };
    if (!p || dtx_participant_serve_saga(p, resource, &h) != 0 ||
        dtx_participant_connect(p, coord) != 0 || dtx_participant_stop_on_signals(p) != 0) {
        fprintf(stderr, "travel participant: cannot start: %s\n", dtx_strerror(err));
        dtx_participant_destroy(&p);
        PQfinish(self.conn);
        return 1;
    }
    if (ready)
        dtx_participant_set_ready(p, s_ready, (void *)ready);
    int rc = dtx_participant_run(p);
    dtx_participant_destroy(&p);
    PQfinish(self.conn);
    return rc == 0 ? 0 : 1;
}

static int s_book_trip(int argc, char **argv)
{
    const char *coord = NULL, *trip = NULL;
    long amount = 0;
    static const struct option opts[] = {
        { "coordinator", required_argument, NULL, 'c' }, { "trip", required_argument, NULL, 't' },
        { "amount", required_argument, NULL, 'a' }, { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': coord = optarg; break;
        case 't': trip = optarg; break;
        case 'a': amount = strtol(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    if (!coord || !trip) {
        fprintf(stderr, "travel book: --coordinator and --trip are required\n");
        return 2;
    }
    char payload[32];
    int n = snprintf(payload, sizeof payload, "%ld", amount);
    int err = 0;
    dtx_client_t *cl = dtx_client_new(coord, &err);
    dtx_saga_t *s = dtx_saga_new(&err);
    if (!cl || !s) {
        fprintf(stderr, "travel book: %s\n", dtx_strerror(err));
        return 1;
    }
    dtx_saga_add_step(s, "flights", "book", "cancel", payload, (size_t)n, 0);
    dtx_saga_add_step(s, "hotels", "book", "cancel", payload, (size_t)n, 0);
    dtx_saga_add_step(s, "payments", "charge", "refund", payload, (size_t)n, 0);
    char gid[DTX_GID_SIZE];
    int rc = dtx_client_saga_submit(cl, s, 30000, gid);
    dtx_saga_destroy(&s);
    int state = 0;
    if (rc == 0)
        rc = dtx_client_saga_wait(cl, gid, 60000, &state);
    if (rc == 0 || rc == DTX_EABORTED)
        printf("%s %s %s\n", trip, gid, rc == 0 ? "committed" : "compensated");
    else
        fprintf(stderr, "travel book: %s: %s (%s)\n", trip, dtx_strerror(rc),
                dtx_client_last_error(cl));
    dtx_client_destroy(&cl);
    return rc == 0 ? 0 : rc == DTX_EABORTED ? 3 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "participant") == 0)
        return s_participant(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "book") == 0)
        return s_book_trip(argc - 1, argv + 1);
    fprintf(stderr, "usage: travel participant|book ... (see samples/travel/travel.c)\n");
    return 2;
}
