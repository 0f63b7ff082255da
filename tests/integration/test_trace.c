/*
 * Trace context end to end, and protocol versions 1 and 2 side by side
 * (docs/protocol.md §15), against a real dtxd, real participants and a
 * real gateway:
 *
 *  - raw peers: a request is answered in the version it came in; a PHASE
 *    goes to an instance in the version it REGISTERed with (a version-1
 *    instance gets version-1 frames, without trace); version 3 still gets
 *    ERROR 3 and an unknown version-2 type ERROR 18;
 *  - libdtx: a test participant forced to version 1 and one speaking
 *    version 2 serve the same transaction, which commits; only the second
 *    sees the trace;
 *  - the gateway: a request with a traceparent goes gateway -> dtxd -> two
 *    participants; its trace-id is at both participants' callbacks, in
 *    dtx_global.traceparent, in the admin API's JSON, in dtxd's log lines
 *    and in the traceparent the upstream got.
 *
 * libdtx against a coordinator that speaks version 1 only is
 * test_trace_v1.c (suite trace_v1, no dtxd).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "dtx/dtx.h"
#include "gw_util.h"
#include "integ.h"
#include "test_admin_util.h"
#include "util.h"

#define TP       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define TRACE_ID "4bf92f3577b34da6a3ce929d0e0e4736"

static ta_world_t s_w;            /* dtxd (admin API on) + participant "ra" (v2) */
static char s_pdb_name[64];       /* the participants' database */
static pid_t s_rb, s_rv1;         /* participant "rb" (v2), "rv1" (forced to v1) */
static PGconn *s_pdb;
static uint8_t s_buf[DTX_MSG_MAX];

static int s_init(void)
{
    if (h_init() < 0 || ta_up(&s_w, "trace", NULL, NULL) != 0)
        return -1;
    snprintf(s_pdb_name, sizeof s_pdb_name, "trace_p");
    const char *rb[] = { "--resource", "rb", "--heartbeat-ms", "200", NULL };
    const char *v1[] = { "--resource", "rv1", "--heartbeat-ms", "200", "--proto-version", "1",
                         NULL };
    s_rb = h_participant_start("trace-rb", s_w.part_db, s_w.d.endpoint, rb);
    s_rv1 = h_participant_start("trace-rv1", s_w.part_db, s_w.d.endpoint, v1);
    s_pdb = h_db_connect(s_pdb_name);
    return s_rb > 0 && s_rv1 > 0 && s_pdb ? 0 : -1;
}

static int s_clean(void)
{
    if (s_rb > 0)
        h_stop(s_rb, SIGTERM, 5000);
    if (s_rv1 > 0)
        h_stop(s_rv1, SIGTERM, 5000);
    if (s_pdb)
        PQfinish(s_pdb);
    s_pdb = NULL;
    /* ta_down asserts, which CUnit allows inside a test only. */
    if (s_w.part > 0)
        h_stop(s_w.part, SIGTERM, 5000);
    int rc = h_dtxd_stop(&s_w.d) == 0 ? 0 : -1;
    if (s_w.log)
        PQfinish(s_w.log);
    s_w.log = NULL;
    return rc;
}

/* One text value of sql ($1 = p1) at conn; "" when no row. */
static void s_query(PGconn *conn, const char *sql, const char *p1, char *out, size_t cap)
{
    out[0] = '\0';
    PGresult *r = PQexecParams(conn, sql, 1, NULL, &p1, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "query failed: %s", PQresultErrorMessage(r));
    PQclear(r);
}

/* The distinct traces of gid's ledger rows of op, joined by ','. */
static void s_ledger_traces(const char *gid, const char *op, char *out, size_t cap)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(string_agg(DISTINCT trace, ','), '<none>') FROM ledger"
             " WHERE gid = $1 AND op = '%s'", op);
    s_query(s_pdb, sql, gid, out, cap);
}

static int64_t s_ledger_rows(const char *gid, const char *op)
{
    return u_deliveries(s_pdb, gid, op);
}

/* ------------------------------------------------------------------ */
/* Raw peers: the versions on the wire                                 */
/* ------------------------------------------------------------------ */

static int s_recv(u_peer_t *p, dtx_msg_t *m)
{
    return u_recv(p, m, s_buf, sizeof s_buf, NULL, NULL, 10000);
}

/* REGISTER instance for resource in version; expects REGISTER_OK in it. */
static void s_register(u_peer_t *p, uint8_t version, const char *instance, const char *resource)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = version;
    m.type = DTX_MSG_REGISTER;
    m.corr = 1;
    strcpy(m.instance, instance);
    strcpy(m.resource, resource);
    CU_ASSERT_EQUAL_FATAL(u_send(p, NULL, 0, &m), 0);
    CU_ASSERT_EQUAL_FATAL(s_recv(p, &m), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_REGISTER_OK);
    CU_ASSERT_EQUAL(s_buf[2], version);
}

/* Receives a PHASE of op on p, checks its frame version and trace,
 * answers ok in that version. */
static void s_phase_ok(u_peer_t *p, int op, uint8_t version, const char *trace)
{
    dtx_msg_t m;
    CU_ASSERT_EQUAL_FATAL(s_recv(p, &m), 0);
    CU_ASSERT_EQUAL_FATAL(m.type, DTX_MSG_PHASE);
    CU_ASSERT_EQUAL(m.op, op);
    CU_ASSERT_EQUAL(s_buf[2], version);
    CU_ASSERT_EQUAL(m.version, version);
    CU_ASSERT_STRING_EQUAL(m.traceparent, trace);
    dtx_msg_t r;
    memset(&r, 0, sizeof r);
    r.version = version;
    r.type = DTX_MSG_PHASE_REPLY;
    r.corr = m.corr;
    strcpy(r.gid, m.gid);
    r.branch = m.branch;
    r.op = m.op;
    r.attempt = m.attempt;
    r.outcome = DTX_OUTCOME_OK;
    CU_ASSERT_EQUAL(u_send(p, NULL, 0, &r), 0);
}

static void s_try_raw(u_peer_t *ini, uint8_t version, const char *gid, const char *resource)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = version;
    m.type = DTX_MSG_TRY;
    m.corr = 20 + version;
    strcpy(m.gid, gid);
    strcpy(m.resource, resource);
    strcpy(m.action, "act");
    CU_ASSERT_EQUAL_FATAL(u_send(ini, NULL, 0, &m), 0);
}

static void s_try_ok_raw(u_peer_t *ini, uint8_t version)
{
    dtx_msg_t m;
    CU_ASSERT_EQUAL_FATAL(s_recv(ini, &m), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_TRY_OK);
    CU_ASSERT_EQUAL(m.outcome, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_buf[2], version); /* the TRY's version */
}

static void test_versions_on_the_wire(void)
{
    u_peer_t ini, p1, p2;
    CU_ASSERT_EQUAL_FATAL(u_peer_dealer(&ini, s_w.d.endpoint), 0);
    CU_ASSERT_EQUAL_FATAL(u_peer_dealer(&p1, s_w.d.endpoint), 0);
    CU_ASSERT_EQUAL_FATAL(u_peer_dealer(&p2, s_w.d.endpoint), 0);
    s_register(&p1, DTX_PROTO_V1, "raw-v1", "raw1");
    s_register(&p2, DTX_PROTO_V2, "raw-v2", "raw2");

    /* BEGIN in v2 with a trace: BEGIN_OK in v2 brings it back. */
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_BEGIN;
    m.corr = 11;
    m.mode = DTX_MODE_TCC;
    m.timeout_ms = 30000;
    strcpy(m.traceparent, TP);
    CU_ASSERT_EQUAL_FATAL(u_send(&ini, NULL, 0, &m), 0);
    CU_ASSERT_EQUAL_FATAL(s_recv(&ini, &m), 0);
    CU_ASSERT_EQUAL_FATAL(m.type, DTX_MSG_BEGIN_OK);
    CU_ASSERT_EQUAL(s_buf[2], DTX_PROTO_V2);
    CU_ASSERT_STRING_EQUAL(m.traceparent, TP);
    char gid[DTX_GID_SIZE];
    strcpy(gid, m.gid);

    /* A v2 TRY to the v1 instance: its PHASE is v1, without the trace;
     * the TRY_OK is v2. A v1 TRY to the v2 instance: PHASE v2 with the
     * transaction's trace, TRY_OK v1. */
    s_try_raw(&ini, DTX_PROTO_V2, gid, "raw1");
    s_phase_ok(&p1, DTX_OP_TRY, DTX_PROTO_V1, "");
    s_try_ok_raw(&ini, DTX_PROTO_V2);
    s_try_raw(&ini, DTX_PROTO_V1, gid, "raw2");
    s_phase_ok(&p2, DTX_OP_TRY, DTX_PROTO_V2, TP);
    s_try_ok_raw(&ini, DTX_PROTO_V1);

    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_COMMIT; /* version 0: v1 */
    m.corr = 30;
    strcpy(m.gid, gid);
    CU_ASSERT_EQUAL_FATAL(u_send(&ini, NULL, 0, &m), 0);
    CU_ASSERT_EQUAL_FATAL(s_recv(&ini, &m), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_STATE);
    CU_ASSERT_EQUAL(s_buf[2], DTX_PROTO_V1);
    s_phase_ok(&p1, DTX_OP_CONFIRM, DTX_PROTO_V1, "");
    s_phase_ok(&p2, DTX_OP_CONFIRM, DTX_PROTO_V2, TP);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);

    /* A v1 BEGIN: a v1 BEGIN_OK (no extension), yet dtxd made a trace. */
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;
    m.corr = 12;
    m.mode = DTX_MODE_TCC;
    CU_ASSERT_EQUAL_FATAL(u_send(&ini, NULL, 0, &m), 0);
    CU_ASSERT_EQUAL_FATAL(s_recv(&ini, &m), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_BEGIN_OK);
    CU_ASSERT_EQUAL(s_buf[2], DTX_PROTO_V1);
    CU_ASSERT_STRING_EQUAL(m.traceparent, "");
    /* (its row, and the trace in it, goes to the log with its decision) */
    char tp[128], begun[DTX_GID_SIZE];
    snprintf(begun, sizeof begun, "%s", m.gid);
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_ROLLBACK;
    m.corr = 13;
    snprintf(m.gid, sizeof m.gid, "%s", begun);
    CU_ASSERT_EQUAL_FATAL(u_send(&ini, NULL, 0, &m), 0);
    CU_ASSERT_EQUAL_FATAL(s_recv(&ini, &m), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_STATE);
    s_query(s_w.log, "SELECT coalesce(traceparent, '') FROM dtx_global WHERE gid = $1", begun,
            tp, sizeof tp);
    CU_ASSERT_EQUAL(strlen(tp), 55);

    /* An unknown type in v2: ERROR 18 in v2; version 3: ERROR 3 in v1. */
    uint8_t unknown[13] = { 'D', 'X', 2, 0x7e, 0, 0, 0, 0, 0, 0, 0, 0x41, 0 }; /* unassigned */
    CU_ASSERT_EQUAL_FATAL(u_send_raw(&ini, unknown, sizeof unknown, 0), 0);
    CU_ASSERT_EQUAL_FATAL(s_recv(&ini, &m), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-DTX_EUNSUPPORTED);
    CU_ASSERT_EQUAL(m.corr, 0x41);
    CU_ASSERT_EQUAL(s_buf[2], DTX_PROTO_V2);
    unknown[2] = 3;
    unknown[3] = DTX_MSG_BEGIN;
    CU_ASSERT_EQUAL_FATAL(u_send_raw(&ini, unknown, sizeof unknown, 0), 0);
    CU_ASSERT_EQUAL_FATAL(s_recv(&ini, &m), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-DTX_EVERSION);
    CU_ASSERT_EQUAL(s_buf[2], DTX_PROTO_V1);
    /* A malformed v2 frame is answered in v2. */
    uint8_t bad[14] = { 'D', 'X', 2, DTX_MSG_BEGIN, 0, 0, 0, 0, 0, 0, 0, 0x42, 9, 0 };
    CU_ASSERT_EQUAL_FATAL(u_send_raw(&ini, bad, sizeof bad, 0), 0);
    CU_ASSERT_EQUAL_FATAL(s_recv(&ini, &m), 0);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-DTX_EPROTO);
    CU_ASSERT_EQUAL(s_buf[2], DTX_PROTO_V2);

    u_peer_close(&p1);
    u_peer_close(&p2);
    u_peer_close(&ini);
}

/* ------------------------------------------------------------------ */
/* libdtx: a version-1 participant and a version-2 one                 */
/* ------------------------------------------------------------------ */

static void test_v1_participant_and_v2_participant_commit_together(void)
{
    int err = 0;
    dtx_client_t *c = dtx_client_new(s_w.d.endpoint, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(dtx_client_set_traceparent(c, "00-4BF9-bad"), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_client_set_traceparent(c, TP), 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 30000, gid), 0);
    CU_ASSERT_STRING_EQUAL(dtx_client_traceparent(c), TP);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "ra", "act", "x", 1, NULL), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "rv1", "act", "y", 1, NULL), 0);
    CU_ASSERT_EQUAL(dtx_client_commit(c, gid, NULL), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);

    /* The v2 participant's callbacks saw the trace on try and confirm,
     * the v1 one's none (its frames were v1), and both ran. */
    char traces[256];
    s_ledger_traces(gid, "confirm", traces, sizeof traces);
    CU_ASSERT_EQUAL(s_ledger_rows(gid, "try"), 2);
    CU_ASSERT_EQUAL(s_ledger_rows(gid, "confirm"), 2);
    char sql_v2[] = "SELECT trace FROM ledger WHERE gid = $1 AND branch = 1 AND op = 'confirm'";
    char sql_v1[] = "SELECT trace || '|' FROM ledger WHERE gid = $1 AND branch = 2 AND op = 'try'";
    char got[128];
    s_query(s_pdb, sql_v2, gid, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, TP);
    s_query(s_pdb, sql_v1, gid, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "|");

    /* Without a trace set, dtxd makes one and says which. */
    CU_ASSERT_EQUAL(dtx_client_set_traceparent(c, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 30000, gid), 0);
    CU_ASSERT_EQUAL(strlen(dtx_client_traceparent(c)), 55);
    CU_ASSERT_STRING_NOT_EQUAL(dtx_client_traceparent(c), TP);
    CU_ASSERT_EQUAL(dtx_client_rollback(c, gid, NULL), 0);
    dtx_client_destroy(&c);
}

/* ------------------------------------------------------------------ */
/* The gateway: ingress to every branch                                 */
/* ------------------------------------------------------------------ */

typedef struct {
    int        port;
    gw_resp_t  resp;
    int        rc;
} s_call_t;

static void *s_gateway_call(void *arg)
{
    s_call_t *c = arg;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/orders/1", c->port);
    const char *const h[] = { "traceparent: " TP, "X-Test-Delay-Ms: 2500", NULL };
    c->rc = gw_http(&c->resp, "POST", url, h, "{}");
    return NULL;
}

/* The gateway's transaction reached the upstream: its gid, from the
 * upstream's log (a BEGIN writes nothing to the log of dtxd: its row
 * comes with the first branch). */
static long s_up_log_from; /* where this test's lines start (earlier runs append) */

static long s_up_log_size(void)
{
    char path[1024];
    if (h_scratch_path("gw-up-svc.log", path, sizeof path) < 0)
        return 0;
    FILE *f = fopen(path, "r");
    long n = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : 0;
    if (f)
        fclose(f);
    return n < 0 ? 0 : n;
}

static int s_has_begun(void *arg)
{
    char *gid = arg, path[1024], line[512];
    if (h_scratch_path("gw-up-svc.log", path, sizeof path) < 0)
        return 0;
    FILE *f = fopen(path, "r");
    if (f && fseek(f, s_up_log_from, SEEK_SET) != 0) {
        fclose(f);
        f = NULL;
    }
    while (f && fgets(line, sizeof line, f)) {
        static const char mark[] = "gw-upstream: request gid=";
        const char *g = strstr(line, mark);
        if (g) {
            g += sizeof mark - 1;
            snprintf(gid, DTX_GID_SIZE, "%.*s", (int)strcspn(g, "\r\n"), g);
        }
    }
    if (f)
        fclose(f);
    return gid[0] != 0;
}

static int s_file_has(const char *path, const char *a, const char *b)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, a) && strstr(line, b);
    fclose(f);
    return found;
}

static void test_gateway_trace_reaches_every_branch(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_EQUAL_FATAL(gw_upstream_start(&up, "svc", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(gw_gateway_start(&gw, "trace-gw",
        "{\"dtxd\":{\"endpoint\":\"%s\",\"timeout_ms\":5000},"
        "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"orders\",\"match\":{\"prefix\":\"/orders\"},\"pool\":\"svc\","
        "\"timeout_ms\":10000,\"transaction\":{\"timeout_ms\":20000}}]}",
        s_w.d.endpoint, up.port), 0);

    /* The request waits at the upstream (2.5 s) while "the upstream's
     * code" (this test) runs the branches of the gateway's transaction. */
    s_call_t call = { .port = gw.port };
    s_up_log_from = s_up_log_size();
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, s_gateway_call, &call), 0);
    char gid[DTX_GID_SIZE] = "";
    CU_ASSERT_EQUAL(h_wait_until(s_has_begun, gid, 10000), 0);
    int err = 0;
    dtx_client_t *c = dtx_client_new(s_w.d.endpoint, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (c && gid[0]) {
        CU_ASSERT_EQUAL(dtx_client_try(c, gid, "ra", "debit", "1", 1, NULL), 0);
        CU_ASSERT_EQUAL(dtx_client_try(c, gid, "rb", "credit", "1", 1, NULL), 0);
    }
    dtx_client_destroy(&c);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL_FATAL(call.rc, 0);
    CU_ASSERT_EQUAL(call.resp.status, 200);
    char hv[128];
    CU_ASSERT_STRING_EQUAL(gw_resp_header(&call.resp, "Dtx-Gid", hv, sizeof hv) ? hv : "", gid);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);

    /* dtx_global: the client's trace under the gateway's span. */
    char tp[128];
    s_query(s_w.log, "SELECT traceparent FROM dtx_global WHERE gid = $1", gid, tp, sizeof tp);
    CU_ASSERT_EQUAL(strlen(tp), 55);
    CU_ASSERT_NSTRING_EQUAL(tp, "00-" TRACE_ID "-", 36);

    /* The upstream got the same traceparent (the gateway's span). */
    json_object *echo = json_tokener_parse(call.resp.body ? call.resp.body : "");
    json_object *hdrs = NULL, *v = NULL;
    CU_ASSERT_TRUE(echo && json_object_object_get_ex(echo, "headers", &hdrs));
    const char *up_tp = NULL;
    if (hdrs) {
        json_object_object_foreach(hdrs, k, val)
            if (strcasecmp(k, "traceparent") == 0)
                up_tp = json_object_get_string(val);
    }
    CU_ASSERT_STRING_EQUAL(up_tp ? up_tp : "", tp);

    /* Both participants' callbacks, on try and confirm. */
    char traces[256];
    s_ledger_traces(gid, "try", traces, sizeof traces);
    CU_ASSERT_STRING_EQUAL(traces, tp);
    s_ledger_traces(gid, "confirm", traces, sizeof traces);
    CU_ASSERT_STRING_EQUAL(traces, tp);
    CU_ASSERT_EQUAL(s_ledger_rows(gid, "confirm"), 2);

    /* The admin API's JSON. */
    char path[128];
    snprintf(path, sizeof path, "/api/v1/transactions/%s", gid);
    json_object *o = NULL;
    CU_ASSERT_EQUAL(ta_req(&s_w, "GET", path, NULL, TA_TOKEN, &o), 200);
    json_object *t = o;
    if (o && json_object_object_get_ex(o, "transaction", &v))
        t = v;
    CU_ASSERT_STRING_EQUAL(ta_str(t, "trace_id"), TRACE_ID);
    CU_ASSERT_STRING_EQUAL(ta_str(t, "traceparent"), tp);
    if (o)
        json_object_put(o);

    /* dtxd's log line of the commit. */
    char logpath[1024], needle[128];
    snprintf(logpath, sizeof logpath, "%s/%s.log", h_testdir(), s_w.d.logname);
    snprintf(needle, sizeof needle, "gid=%s", gid);
    CU_ASSERT_TRUE(s_file_has(logpath, needle, "trace=" TRACE_ID));

    if (echo)
        json_object_put(echo);
    gw_resp_free(&call.resp);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(up.pid, SIGTERM, 5000);
}

/* The HTTP initiator API takes the trace in its body (strictly) or the
 * W3C header, and answers the one recorded. */
static void test_http_begin_takes_a_traceparent(void)
{
    json_object *o = NULL;
    CU_ASSERT_EQUAL(ta_req(&s_w, "POST", "/api/v1/tx", "{\"traceparent\":\"" TP "\"}", TA_TOKEN,
                           &o), 201);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "traceparent"), TP);
    if (o)
        json_object_put(o);
    o = NULL;
    CU_ASSERT_EQUAL(ta_req(&s_w, "POST", "/api/v1/tx",
                           "{\"traceparent\":\"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01\"}",
                           TA_TOKEN, &o), 400);
    if (o)
        json_object_put(o);
}

INTEG_SUITE(trace)
{
    CU_pSuite s = CU_add_suite("trace", s_init, s_clean);
    CU_add_test(s, "versions on the wire", test_versions_on_the_wire);
    CU_add_test(s, "v1 participant and v2 participant commit together",
                test_v1_participant_and_v2_participant_commit_together);
    CU_add_test(s, "gateway trace reaches every branch", test_gateway_trace_reaches_every_branch);
    CU_add_test(s, "http begin takes a traceparent", test_http_begin_takes_a_traceparent);
}
