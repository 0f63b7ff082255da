/*
 * Trust on the wire, as the attacks it stops: a forged vote, an instance
 * name taken over, another initiator's gid changed, RESUME from a
 * non-operator, a key not in the allow-list, a misconfigured twin of a
 * live node. Every test speaks raw frames (util.h) so that nothing in
 * libdtx helps the attacker or the coordinator. Floods, lapsed leases and
 * an expiry storm are in test_security_limits.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "dtx/trymany.h"
#include "integ.h"
#include "test_admin_util.h"
#include "util.h"

static uint8_t s_buf[DTX_MSG_MAX + 64];

/* --- the attacks --- */

/* SIGHUP, then waits for dtxd to log that it has read the allow-list
 * again (a key added before is let in from then on). Returns 0 or -1. */
static int s_reload(ta_world_t *w)
{
    int before = h_log_count(w->d.logname, "allow-list reloaded");
    if (h_dtxd_reload(&w->d) != 0)
        return -1;
    int64_t until = h_now_ms() + 10000;
    while (h_log_count(w->d.logname, "allow-list reloaded") <= before)
        if (h_now_ms() > until)
            return -1;
        else
            h_sleep_ms(20);
    return 0;
}

/* An initiator sends TRY(ra, debit) — the participant refuses it, slowly —
 * and floods PHASE_REPLY(branch 1, try, attempt 1, ok) from its own
 * socket. Before: the refused debit counted as yes. */
static void test_forged_vote_is_not_counted(void)
{
    if (!h_curve_on())
        return;
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "sec_vote", NULL,
                          (const char *const[]){ "--refuse-action", "debit", "--delay-ms-op",
                                                 "try:1500", NULL }) == 0);
    /* The attacker holds a real key: an initiator that also serves some
     * other resource, so its replies pass the role check and meet the
     * binding of replies to the calls sent to its connection. */
    char key[1024];
    CU_ASSERT_FATAL(h_curve_add_key("mallory", "initiator participant:rz", key, sizeof key) == 0);
    CU_ASSERT_FATAL(s_reload(&w) == 0);
    u_peer_t evil;
    CU_ASSERT_FATAL(u_peer_dealer_keys(&evil, w.d.endpoint, key) == 0);
    dtx_msg_t m, r;
    CU_ASSERT_FATAL(u_register(&evil, "mallory-1", "rz", 9, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_REGISTER_OK);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(u_begin(&evil, 1, 30000, gid) == 0);
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_TRY;
    m.corr = 2;
    strcpy(m.gid, gid);
    strcpy(m.resource, "ra");
    strcpy(m.action, "debit");
    CU_ASSERT_FATAL(u_send(&evil, NULL, 0, &m) == 0);
    dtx_msg_t forged;
    memset(&forged, 0, sizeof forged);
    forged.type = DTX_MSG_PHASE_REPLY;
    strcpy(forged.gid, gid);
    forged.branch = 1;
    forged.op = DTX_OP_TRY;
    forged.attempt = 1;
    forged.outcome = DTX_OUTCOME_OK;
    for (int i = 0; i < 200; i++) {
        forged.corr = (uint64_t)i; /* whatever corr the PHASE had */
        CU_ASSERT_EQUAL(u_send(&evil, NULL, 0, &forged), 0);
        if (i % 20 == 0)
            h_sleep_ms(50);
    }
    int got = -1;
    int64_t until = h_now_ms() + 10000;
    while (h_now_ms() < until && got < 0)
        if (u_recv(&evil, &r, s_buf, sizeof s_buf, NULL, NULL, 10000) == 0 && r.corr == 2)
            got = 0;
    CU_ASSERT_EQUAL_FATAL(got, 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_TRY_OK);
    CU_ASSERT_EQUAL(r.outcome, DTX_OUTCOME_REFUSED); /* the participant's vote, not the forgery */
    CU_ASSERT(r.state == DTX_STATE_ABORTING || r.state == DTX_STATE_ABORTED);
    CU_ASSERT(ta_metric(&w, "dtx_ignored_phase_replies_total") >= 200);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_ABORTED, 10000), 0);
    u_peer_close(&evil);
    ta_down(&w);
}

/* A second peer registers the live instance's name (or a resource its key
 * does not serve, or any resource with an initiator key): refused, and
 * the live instance keeps every call. */
static void test_impersonation_is_refused(void)
{
    if (!h_curve_on())
        return;
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "sec_imp", NULL, NULL) == 0);
    char pkey[1024], ikey[1024];
    CU_ASSERT_FATAL(h_curve_add_key("eve", "participant:ra", pkey, sizeof pkey) == 0);
    CU_ASSERT_FATAL(h_curve_add_key("eve-init", "initiator", ikey, sizeof ikey) == 0);
    CU_ASSERT_FATAL(s_reload(&w) == 0);
    u_peer_t evil, init;
    CU_ASSERT_FATAL(u_peer_dealer_keys(&evil, w.d.endpoint, pkey) == 0);
    CU_ASSERT_FATAL(u_peer_dealer_keys(&init, w.d.endpoint, ikey) == 0);
    dtx_msg_t r;
    /* The live participant of ra is "sec_imp-part" (test_admin_util.c). */
    CU_ASSERT_FATAL(u_register(&evil, "sec_imp-part", "ra", 1, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EACCES);
    CU_ASSERT_FATAL(u_register(&evil, "eve-1", "rb", 2, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EACCES);
    CU_ASSERT_FATAL(u_register(&init, "eve-2", "ra", 3, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EACCES);
    /* A heartbeat naming the live instance keeps nothing alive. */
    dtx_msg_t hb;
    memset(&hb, 0, sizeof hb);
    hb.type = DTX_MSG_HEARTBEAT;
    strcpy(hb.instance, "sec_imp-part");
    CU_ASSERT_FATAL(u_call(&evil, &hb, 4, &r, 5000) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EUNREGISTERED);
    CU_ASSERT(ta_metric(&w, "dtx_auth_refusals_total{reason=\"instance\"}") >= 1);
    CU_ASSERT(ta_metric(&w, "dtx_auth_refusals_total{reason=\"resource\"}") >= 1);
    CU_ASSERT(ta_metric(&w, "dtx_auth_refusals_total{reason=\"role\"}") >= 1);
    /* The live instance still confirms everything: ten commits. */
    for (int i = 0; i < 10; i++) {
        char gid[DTX_GID_SIZE];
        CU_ASSERT_EQUAL_FATAL(ta_commit_one(&w, gid), 0);
        CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    }
    u_peer_close(&evil);
    u_peer_close(&init);
    ta_down(&w);
}

/* Without CURVE: a second connection (another process) registering the
 * live instance's name is refused too. */
static void test_plain_impersonation_is_refused(void)
{
    char db[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("sec_plain", db, sizeof db) == 0);
    h_dtxd_t d = { 0 };
    snprintf(d.logname, sizeof d.logname, "sec-plain-dtxd");
    CU_ASSERT_FATAL(h_dtxd_start(&d, db, (const char *const[]){ "--no-curve", NULL }) == 0);
    u_peer_t a, b;
    CU_ASSERT_FATAL(u_peer_dealer_keys(&a, d.endpoint, NULL) == 0);
    CU_ASSERT_FATAL(u_peer_dealer_keys(&b, d.endpoint, NULL) == 0);
    dtx_msg_t r;
    CU_ASSERT_FATAL(u_register(&a, "bank-a-1", "bank-a", 1, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_REGISTER_OK);
    CU_ASSERT_FATAL(u_register(&b, "bank-a-1", "bank-a", 2, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EACCES);
    /* And a gid begun by a is not b's to change, nor to RESUME. */
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(u_begin(&a, 3, 30000, gid) == 0);
    CU_ASSERT_FATAL(u_gid_call(&b, DTX_MSG_ROLLBACK, gid, 4, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EACCES);
    CU_ASSERT_FATAL(u_gid_call(&a, DTX_MSG_RESUME, gid, 5, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EACCES);
    CU_ASSERT_FATAL(u_gid_call(&a, DTX_MSG_ROLLBACK, gid, 6, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_STATE);
    CU_ASSERT_EQUAL(r.state, DTX_STATE_ABORTING);
    u_peer_close(&a);
    u_peer_close(&b);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
}

/* Another initiator reads a gid (the admin list is open by default) and
 * tries to commit, roll back, add a branch or resume it. */
static void test_foreign_gid_is_refused(void)
{
    if (!h_curve_on())
        return;
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "sec_gid", NULL, NULL) == 0);
    char ka[1024], ka2[1024], kb[1024], kop[1024];
    CU_ASSERT_FATAL(h_curve_add_key("shopa", "initiator", ka, sizeof ka) == 0);
    CU_ASSERT_FATAL(h_curve_add_key("shopa", "initiator", ka2, sizeof ka2) == 0);
    CU_ASSERT_FATAL(h_curve_add_key("shopb", "initiator", kb, sizeof kb) == 0);
    CU_ASSERT_FATAL(h_curve_add_key("oper", "operator", kop, sizeof kop) == 0);
    CU_ASSERT_FATAL(s_reload(&w) == 0);
    u_peer_t a, a2, b, op;
    CU_ASSERT_FATAL(u_peer_dealer_keys(&a, w.d.endpoint, ka) == 0);
    CU_ASSERT_FATAL(u_peer_dealer_keys(&a2, w.d.endpoint, ka2) == 0);
    CU_ASSERT_FATAL(u_peer_dealer_keys(&b, w.d.endpoint, kb) == 0);
    CU_ASSERT_FATAL(u_peer_dealer_keys(&op, w.d.endpoint, kop) == 0);
    char gid[DTX_GID_SIZE], gid2[DTX_GID_SIZE];
    dtx_msg_t r;
    CU_ASSERT_FATAL(u_begin(&a, 1, 60000, gid) == 0);
    CU_ASSERT_FATAL(u_try(&a, gid, "ra", "reserve", "x", 1, 2, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_TRY_OK);
    const int types[] = { DTX_MSG_COMMIT, DTX_MSG_ROLLBACK, DTX_MSG_RESUME };
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_FATAL(u_gid_call(&b, types[i], gid, (uint64_t)(10 + i), &r) == 0);
        CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
        CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EACCES);
    }
    CU_ASSERT_FATAL(u_try(&b, gid, "ra", "credit", "y", 1, 13, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EACCES);
    /* A TRY_MANY on one BEGIN did not write (it would be its first
     * write, one statement) is refused whole, and writes nothing. */
    char gid3[DTX_GID_SIZE];
    CU_ASSERT_FATAL(u_begin(&a, 18, 60000, gid3) == 0);
    dtx_trymany_t tm;
    memset(&tm, 0, sizeof tm);
    tm.n = 2;
    strcpy(tm.items[0].resource, "ra");
    strcpy(tm.items[0].action, "credit");
    strcpy(tm.items[1].resource, "ra");
    strcpy(tm.items[1].action, "credit");
    uint8_t blob[256];
    size_t blen = 0;
    CU_ASSERT_FATAL(dtx_trymany_encode(&tm, blob, sizeof blob, &blen) == 0);
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_TRY_MANY;
    m.version = DTX_PROTO_V2;
    strcpy(m.gid, gid3);
    m.payload = blob;
    m.payload_len = (uint32_t)blen;
    CU_ASSERT_FATAL(u_call(&b, &m, 19, &r, 10000) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EACCES);
    CU_ASSERT_EQUAL((long)h_db_scalar(w.log, "select count(*) from dtx_global where gid = '%s'",
                                      gid3), 0);
    CU_ASSERT_FATAL(u_gid_call(&a, DTX_MSG_ROLLBACK, gid3, 21, &r) == 0);
    /* Nor through another coordinator of the cluster: a request that will
     * be refused never takes the transaction from the node driving it
     * (owner_gen would count the claim). */
    h_dtxd_t d2;
    memset(&d2, 0, sizeof d2);
    snprintf(d2.logname, sizeof d2.logname, "sec_gid-d2");
    CU_ASSERT_FATAL(h_dtxd_start(&d2, w.d.db,
                                 (const char *const[]){ "--http-listen", "off", NULL }) == 0);
    u_peer_t b2;
    CU_ASSERT_FATAL(u_peer_dealer_keys(&b2, d2.endpoint, kb) == 0);
    CU_ASSERT_FATAL(u_gid_call(&b2, DTX_MSG_ROLLBACK, gid, 20, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EACCES);
    CU_ASSERT_EQUAL((long)h_db_scalar(w.log, "select owner_gen from dtx_global where gid = '%s'",
                                      gid), 0);
    u_peer_close(&b2);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d2), 0);
    /* Reading is allowed; nothing changed. */
    CU_ASSERT_FATAL(u_gid_call(&b, DTX_MSG_STATUS, gid, 14, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_STATE);
    CU_ASSERT_EQUAL(r.state, DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL((long)h_db_scalar(w.log, "select branches from dtx_global where gid = '%s'",
                                      gid), 1);
    /* A key of the same name (the same principal) may finish it. */
    CU_ASSERT_FATAL(u_gid_call(&a2, DTX_MSG_COMMIT, gid, 15, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_STATE);
    CU_ASSERT_EQUAL(r.state, DTX_STATE_COMMITTING);
    /* An operator may change anyone's. */
    CU_ASSERT_FATAL(u_begin(&a, 16, 60000, gid2) == 0);
    CU_ASSERT_FATAL(u_gid_call(&op, DTX_MSG_ROLLBACK, gid2, 17, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_STATE);
    CU_ASSERT_EQUAL(r.state, DTX_STATE_ABORTING);
    CU_ASSERT(ta_metric(&w, "dtx_auth_refusals_total{reason=\"gid\"}") >= 3);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid2, DTX_STATE_ABORTED, 10000), 0);
    u_peer_close(&a);
    u_peer_close(&a2);
    u_peer_close(&b);
    u_peer_close(&op);
    ta_down(&w);
}

/* A key not in the allow-list gets no handshake; after it is added and
 * dtxd is sent SIGHUP, the same queued request goes through. */
static void test_unknown_key_is_refused_until_allowed(void)
{
    if (!h_curve_on())
        return;
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "sec_key", NULL, (const char *const[]){ "none", NULL }) == 0);
    char key[1024];
    CU_ASSERT_FATAL(h_curve_add_key("late", "initiator", key, sizeof key) == 0);
    u_peer_t p;
    CU_ASSERT_FATAL(u_peer_dealer_keys(&p, w.d.endpoint, key) == 0);
    dtx_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;
    m.mode = DTX_MODE_TCC;
    /* Not let in: the handshake is refused (and counted), and no answer
     * ever comes. */
    m.corr = 1;
    CU_ASSERT_FATAL(u_send(&p, NULL, 0, &m) == 0);
    int64_t refused_by = h_now_ms() + 10000;
    while (ta_metric(&w, "dtx_auth_refusals_total{reason=\"handshake\"}") < 1 &&
           h_now_ms() < refused_by)
        h_sleep_ms(20);
    CU_ASSERT(ta_metric(&w, "dtx_auth_refusals_total{reason=\"handshake\"}") >= 1);
    CU_ASSERT_EQUAL(u_recv(&p, &r, s_buf, sizeof s_buf, NULL, NULL, 1000), -1);
    CU_ASSERT_FATAL(h_dtxd_reload(&w.d) == 0);
    /* libzmq (4.3) does not reconnect after a refused handshake: a new
     * connection with the same key, as libdtx makes, gets in now. */
    u_peer_close(&p);
    int64_t until = h_now_ms() + 10000;
    int ok = 0;
    for (uint64_t corr = 2; !ok && h_now_ms() < until; corr++) {
        CU_ASSERT_FATAL(u_peer_dealer_keys(&p, w.d.endpoint, key) == 0);
        ok = u_call(&p, &m, corr, &r, 1000) == 0 && r.type == DTX_MSG_BEGIN_OK;
        u_peer_close(&p);
    }
    CU_ASSERT_TRUE(ok);
    ta_down(&w);
}

/* A key whose participant role loses a resource in a reload: its live
 * instance stops serving it at once (dropped, told to register again,
 * and refused). */
static void test_revoked_resource_is_dropped_at_reload(void)
{
    if (!h_curve_on())
        return;
    ta_world_t w;
    h_log_remove("sec_revoke-dtxd");
    CU_ASSERT_FATAL(ta_up(&w, "sec_revoke", NULL, (const char *const[]){ "none", NULL }) == 0);
    char key[1024];
    CU_ASSERT_FATAL(h_curve_add_key("revokeme", "participant:rv", key, sizeof key) == 0);
    CU_ASSERT_FATAL(s_reload(&w) == 0);
    u_peer_t p;
    CU_ASSERT_FATAL(u_peer_dealer_keys(&p, w.d.endpoint, key) == 0);
    dtx_msg_t r;
    CU_ASSERT_FATAL(u_register(&p, "rv-1", "rv", 1, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_REGISTER_OK);
    /* The allow-list keeps the key, for another resource only. */
    char pub[64] = "";
    FILE *f = fopen(h_curve_allow_file(), "r");
    CU_ASSERT_FATAL(f != NULL);
    char line[512], text[65536] = "";
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, " revokeme ")) {
            sscanf(line, "%63s", pub);
            snprintf(line, sizeof line, "%s revokeme participant:other\n", pub);
        }
        strncat(text, line, sizeof text - strlen(text) - 1);
    }
    fclose(f);
    CU_ASSERT_FATAL(pub[0] != '\0');
    f = fopen(h_curve_allow_file(), "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
    CU_ASSERT_FATAL(h_dtxd_reload(&w.d) == 0);
    int64_t until = h_now_ms() + 5000;
    while (h_now_ms() < until && h_log_count("sec_revoke-dtxd", "revoked by the allow-list") < 1)
        h_sleep_ms(50);
    CU_ASSERT_EQUAL(h_log_count("sec_revoke-dtxd", "revoked by the allow-list"), 1);
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_HEARTBEAT;
    strcpy(m.instance, "rv-1");
    CU_ASSERT_FATAL(u_call(&p, &m, 2, &r, 5000) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EUNREGISTERED);
    CU_ASSERT_FATAL(u_register(&p, "rv-1", "rv", 3, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EACCES);
    u_peer_close(&p);
    ta_down(&w);
}

/* --listen on every interface without CURVE: refused at start (exit 2),
 * like the admin HTTP rule. */
static void test_public_listen_without_curve_is_refused(void)
{
    char db[H_CONNINFO_SIZE], dtxd[1024];
    CU_ASSERT_FATAL(h_db_create("sec_public", db, sizeof db) == 0);
    CU_ASSERT_FATAL(h_bin_path("dtxd", dtxd, sizeof dtxd) == 0);
    h_log_remove("sec-public-dtxd");
    char *argv[] = { dtxd, "--db", db, "--listen", "tcp://*:0", "--http-listen", "off", NULL };
    pid_t p = h_spawn("sec-public-dtxd", argv);
    CU_ASSERT_FATAL(p > 0);
    CU_ASSERT_EQUAL(h_wait_exit(p, 10000), 2);
    CU_ASSERT(h_log_count("sec-public-dtxd", "curve-secret-file") >= 1);
    /* A key file that does not parse: exit 2 too. */
    char bad[1024];
    CU_ASSERT_FATAL(h_scratch_path("sec-bad.key", bad, sizeof bad) == 0);
    FILE *f = fopen(bad, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("public-key = nope\n", f);
    fclose(f);
    char *argv2[] = { dtxd, "--db", db, "--listen", "tcp://127.0.0.1:0", "--http-listen", "off",
                      "--curve-secret-file", bad, "--curve-allow-file", bad, NULL };
    p = h_spawn("sec-badkey-dtxd", argv2);
    CU_ASSERT_FATAL(p > 0);
    CU_ASSERT_EQUAL(h_wait_exit(p, 10000), 2);
}

/* A second dtxd with the live node's --node-id and a bad option (its
 * admin port taken, a bad allow-list): exits 2 before it takes the lease;
 * the live node keeps its lease and serves. */
static void test_misconfigured_twin_harms_nothing(void)
{
    ta_world_t w;
    h_log_remove("sec_twin-dtxd");
    CU_ASSERT_FATAL(ta_up(&w, "sec_twin",
                          (const char *const[]){ "--node-id", "twin-x", "--lease-ms", "900",
                                                 NULL },
                          NULL) == 0);
    const char *hostport = w.url + strlen("http://");
    char dtxd[1024];
    CU_ASSERT_FATAL(h_bin_path("dtxd", dtxd, sizeof dtxd) == 0);
    char *argv[] = { dtxd, "--db", w.d.db, "--listen", "tcp://127.0.0.1:*", "--node-id",
                     "twin-x", "--http-listen", (char *)hostport, "--curve-secret-file",
                     (char *)h_curve_server_file(), "--curve-allow-file",
                     (char *)h_curve_allow_file(), NULL };
    if (!h_curve_on())
        argv[9] = NULL;
    char *argv2[] = { dtxd, "--db", w.d.db, "--listen", "tcp://127.0.0.1:*", "--node-id",
                      "twin-x", "--http-listen", "127.0.0.1:0", "--max-txns", "-5", NULL };
    /* Both twins at once: each must exit 2 without touching the lease. */
    pid_t p = h_spawn("sec-twin-2", argv);
    pid_t p2 = h_spawn("sec-twin-3", argv2);
    CU_ASSERT_FATAL(p > 0 && p2 > 0);
    CU_ASSERT_EQUAL(h_wait_exit(p, 10000), 2);
    CU_ASSERT_EQUAL(h_wait_exit(p2, 10000), 2);
    h_sleep_ms(2000); /* more than two leases */
    CU_ASSERT_TRUE(h_alive(w.d.pid));
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "select epoch from dtx_node where node_id = 'twin-x'"), 1);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL(ta_commit_one(&w, gid), 0);
    CU_ASSERT_EQUAL(h_log_count("sec_twin-dtxd", "node id taken"), 0);
    ta_down(&w);
}

INTEG_SUITE(security)
{
    CU_pSuite s = CU_add_suite("security", NULL, NULL);
    CU_add_test(s, "forged vote is not counted", test_forged_vote_is_not_counted);
    CU_add_test(s, "impersonation is refused", test_impersonation_is_refused);
    CU_add_test(s, "plain impersonation is refused", test_plain_impersonation_is_refused);
    CU_add_test(s, "foreign gid is refused", test_foreign_gid_is_refused);
    CU_add_test(s, "unknown key is refused until allowed",
                test_unknown_key_is_refused_until_allowed);
    CU_add_test(s, "revoked resource is dropped at reload",
                test_revoked_resource_is_dropped_at_reload);
    CU_add_test(s, "public listen without curve is refused",
                test_public_listen_without_curve_is_refused);
    CU_add_test(s, "misconfigured twin harms nothing", test_misconfigured_twin_harms_nothing);
}
