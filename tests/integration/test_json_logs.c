/*
 * --log-format json, for real: dtxd and dtx-gateway started with it write
 * nothing on stderr but JSON objects, one a line, each with time, level,
 * component, msg (and dtxd's node); a transaction's lines carry its gid;
 * text from outside (a peer's ERROR frame) comes back as the very string
 * it was, in a JSON string.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "dtx/dtx.h"
#include "gw_util.h"
#include "integ.h"
#include "util.h"

static uint8_t s_buf[DTX_MSG_MAX];

/* What a log held. */
typedef struct s_log_check {
    int lines;                  /* JSON lines */
    int bad;                    /* lines that are not what they must be */
    int with_gid;               /* lines whose gid is the one asked for */
    int committed;              /* msg "committed" lines with that gid and branches 1 */
    int text_found;             /* lines whose "text" is the text asked for */
} s_log_check_t;

static const char *s_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Reads <logname>.log: every line but the harness's own must be one JSON
 * object (strict, UTF-8 checked) with the required members, component as
 * given, node as given (NULL: no node member). Counts into *out. */
static int s_check_log(const char *logname, const char *component, const char *node,
                       const char *gid, const char *text, int quiet, s_log_check_t *out)
{
    char path[1024], name[128];
    memset(out, 0, sizeof *out);
    snprintf(name, sizeof name, "%s.log", logname);
    if (h_scratch_path(name, path, sizeof path) < 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static char line[65536];
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "=== harness", 11) == 0)
            continue;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        json_tokener_reset(tok);
        json_object *o = json_tokener_parse_ex(tok, line, (int)len), *v;
        const char *t = o ? s_str(o, "time") : NULL, *lv = o ? s_str(o, "level") : NULL;
        const char *c = o ? s_str(o, "component") : NULL, *nd = o ? s_str(o, "node") : NULL;
        int ok = o && json_tokener_get_error(tok) == json_tokener_success &&
                 json_tokener_get_parse_end(tok) == len &&
                 json_object_is_type(o, json_type_object) && t && strlen(t) == 24 &&
                 t[10] == 'T' && t[23] == 'Z' && lv &&
                 dtx_log_level_parse(lv) >= 0 && c && strcmp(c, component) == 0 &&
                 s_str(o, "msg") && (node ? nd && strcmp(nd, node) == 0
                                          : !json_object_object_get_ex(o, "node", &v));
        if (!ok) {
            if (!quiet)
                fprintf(stderr, "\n    not a JSON log line: %s", line);
            out->bad++;
        } else {
            out->lines++;
            const char *g = s_str(o, "gid");
            if (gid && g && strcmp(g, gid) == 0) {
                out->with_gid++;
                if (strcmp(s_str(o, "msg"), "committed") == 0 &&
                    json_object_object_get_ex(o, "branches", &v) &&
                    json_object_is_type(v, json_type_int) && json_object_get_int(v) == 1)
                    out->committed++;
            }
            const char *tx = s_str(o, "text");
            if (text && tx && strcmp(tx, text) == 0)
                out->text_found++;
        }
        json_object_put(o);
    }
    json_tokener_free(tok);
    fclose(f);
    return 0;
}

static void test_dtxd_writes_json_lines_and_a_transaction_carries_its_gid(void)
{
    char log[H_CONNINFO_SIZE], pdb[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("jsonlog_log", log, sizeof log) == 0);
    CU_ASSERT_FATAL(h_db_create("jsonlog_pa", pdb, sizeof pdb) == 0);
    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "jsonlog-dtxd");
    h_log_remove(d.logname);
    const char *args[] = { "--log-format", "json", "--log-level", "debug",
                           "--node-id", "jsonlog-1", NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&d, log, args) == 0);
    const char *pa[] = { "--resource", "ra", NULL };
    pid_t p = h_participant_start("jsonlog-pa", pdb, d.endpoint, pa);
    CU_ASSERT_FATAL(p > 0);

    /* A transaction, committed. */
    int err = 0, state = 0;
    dtx_client_t *c = dtx_client_new(d.endpoint, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    dtx_client_set_timeout(c, 10000);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "ra", "reserve", "p1", 2, NULL), 0);
    CU_ASSERT_EQUAL(dtx_client_commit(c, gid, &state), 0);
    PGconn *lc = h_db_connect("jsonlog_log");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lc);
    CU_ASSERT_EQUAL(u_wait_state(lc, gid, DTX_STATE_COMMITTED, 10000), 0);
    PQfinish(lc);
    dtx_client_destroy(&c);

    /* Text from outside, logged as text="...": quotes, a newline, a
     * would-be field, a byte that is not UTF-8. */
    const char *nasty = "oops\" level=error msg=\"forged\nts=x \\ \xff";
    u_peer_t peer;
    CU_ASSERT_FATAL(u_peer_dealer(&peer, d.endpoint) == 0);
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_ERROR;
    m.corr = 1;
    m.code = 2;
    snprintf(m.text, sizeof m.text, "%s", nasty);
    CU_ASSERT_EQUAL_FATAL(u_send(&peer, NULL, 0, &m), 0);
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;         /* answered once the ERROR has been read */
    m.corr = 2;
    m.mode = DTX_MODE_TCC;
    CU_ASSERT_EQUAL_FATAL(u_send(&peer, NULL, 0, &m), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&peer, &m, s_buf, sizeof s_buf, NULL, NULL, 5000), 0);
    u_peer_close(&peer);

    CU_ASSERT_EQUAL(h_stop(p, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
    s_log_check_t r;
    CU_ASSERT_EQUAL_FATAL(s_check_log(d.logname, "dtxd", "jsonlog-1", gid,
                                      "oops\" level=error msg=\"forged\nts=x \\ \xef\xbf\xbd", 0,
                                      &r),
                          0);
    CU_ASSERT_EQUAL(r.bad, 0);
    CU_ASSERT(r.lines >= 10);           /* migrations, listening, the transaction, stopping */
    CU_ASSERT(r.with_gid >= 3);         /* begun, deciding, committed at least */
    CU_ASSERT_EQUAL(r.committed, 1);
    CU_ASSERT_EQUAL(r.text_found, 1);
}

static void test_gateway_writes_json_lines_and_a_transaction_carries_its_gid(void)
{
    char log[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("jsonlog_gw", log, sizeof log) == 0);
    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "jsonlog-gw-dtxd");
    CU_ASSERT_FATAL(h_dtxd_start(&d, log, NULL) == 0);
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(gw_upstream_start(&up, "svc", NULL) == 0);
    h_log_remove("jsonlog-gw");
    const char *extra[] = { "--log-format", "json", "--log-level", "debug", NULL };
    CU_ASSERT_FATAL(gw_gateway_start_args(&gw, "jsonlog-gw", extra,
        "{\"dtxd\":{\"endpoint\":\"%s\",\"timeout_ms\":5000},"
        "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"orders\",\"match\":{\"prefix\":\"/orders\"},\"pool\":\"svc\","
        "\"transaction\":{\"timeout_ms\":20000}}]}",
        d.endpoint, up.port) == 0);

    char url[256], gid[DTX_GID_SIZE] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d/orders", gw.port);
    gw_resp_t resp;
    CU_ASSERT_EQUAL(gw_http(&resp, "POST", url, NULL, "{\"item\":1}"), 0);
    CU_ASSERT_EQUAL(resp.status, 200);
    CU_ASSERT_PTR_NOT_NULL(gw_resp_header(&resp, "Dtx-Gid", gid, sizeof gid));
    gw_resp_free(&resp);
    CU_ASSERT_FATAL(gid[0] != '\0');
    /* A path the gateway refuses: request text in a debug line. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/orders/%%00\"x", gw.port);
    gw_http(&resp, "GET", url, NULL, NULL);
    gw_resp_free(&resp);

    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(up.pid, SIGTERM, 5000);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
    s_log_check_t r;
    CU_ASSERT_EQUAL_FATAL(s_check_log("jsonlog-gw", "dtx-gateway", NULL, gid, NULL, 0, &r), 0);
    CU_ASSERT_EQUAL(r.bad, 0);
    CU_ASSERT(r.lines >= 2);
    CU_ASSERT(r.with_gid >= 1);         /* transaction committed (debug) */
}

/* Text stays the default: without --log-format, the lines are key=value. */
static void test_text_stays_the_default(void)
{
    char log[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("jsonlog_text", log, sizeof log) == 0);
    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "jsonlog-text-dtxd");
    h_log_remove(d.logname);
    CU_ASSERT_FATAL(h_dtxd_start(&d, log, NULL) == 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
    s_log_check_t r;
    CU_ASSERT_EQUAL_FATAL(s_check_log(d.logname, "dtxd", NULL, NULL, NULL, 1, &r), 0);
    CU_ASSERT_EQUAL(r.lines, 0);
    CU_ASSERT(r.bad >= 3);
}

INTEG_SUITE(json_logs)
{
    CU_pSuite s = CU_add_suite("json_logs", NULL, NULL);
    CU_add_test(s, "dtxd writes json lines and a transaction carries its gid",
                test_dtxd_writes_json_lines_and_a_transaction_carries_its_gid);
    CU_add_test(s, "gateway writes json lines and a transaction carries its gid",
                test_gateway_writes_json_lines_and_a_transaction_carries_its_gid);
    CU_add_test(s, "text stays the default", test_text_stays_the_default);
}
