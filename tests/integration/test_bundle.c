/*
 * BUNDLEs (docs/protocol.md §20) against a real dtxd, under CURVE: a
 * libdtx participant under load gets BUNDLEs of PHASEs and answers with
 * BUNDLEs of replies, every transaction commits (and DTX_BUNDLE=0 turns it
 * off); a raw ZeroMQ participant that registers with tag 2 gets BUNDLEs and
 * answers with one; a malformed BUNDLE changes nothing; a BUNDLE from a
 * key without the participant role, or from another connection, is refused
 * as its entries would be; a peer without tag 2 gets no BUNDLE but may
 * send one; dtxd --bundle off offers and sends none.
 *
 * Load: a raw DEALER sends many TCC_RUNs (one branch each, commit flag)
 * back to back, so that their Tries leave in the same loop turns (the log
 * writes group them) — the bursts BUNDLEs exist for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "dtx/bundle.h"
#include "dtx/dtx.h"
#include "dtx/proto.h"
#include "dtx/trymany.h"
#include "integ.h"
#include "test_admin_util.h"
#include "util.h"

#define S_LOAD 200     /* TCC_RUNs of the load tests */
#define S_RAW  30      /* TCC_RUNs towards a raw participant */

static uint8_t s_buf[DTX_MSG_MAX + 64];

/* Sends a TCC_RUN (commit flag) of one branch on res, corr corr. */
static int s_send_run(u_peer_t *ini, uint64_t corr, const char *res)
{
    static dtx_trymany_t b;
    memset(&b, 0, sizeof b);
    b.n = 1;
    strcpy(b.items[0].resource, res);
    strcpy(b.items[0].action, "reserve");
    uint8_t blob[256];
    size_t blen = 0;
    if (dtx_trymany_encode(&b, blob, sizeof blob, &blen) != 0)
        return -1;
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_TCC_RUN;
    m.corr = corr;
    m.timeout_ms = 30000;
    m.flags = DTX_TCC_RUN_COMMIT;
    m.payload = blob;
    m.payload_len = (uint32_t)blen;
    return u_send(ini, NULL, 0, &m);
}

/* Collects the answers to n TCC_RUNs (corrs 1..n) on ini, their gids into
 * gids[corr - 1]. Returns how many answered committing. */
static int s_collect_runs(u_peer_t *ini, int n, char (*gids)[DTX_GID_SIZE], int timeout_ms)
{
    int committing = 0, got = 0;
    int64_t until = h_now_ms() + timeout_ms;
    while (got < n && h_now_ms() < until) {
        dtx_msg_t m;
        if (u_recv(ini, &m, s_buf, sizeof s_buf, NULL, NULL, (int)(until - h_now_ms())) != 0)
            break;
        if (m.type == DTX_MSG_ERROR)
            fprintf(stderr, "\n  TCC_RUN corr %llu: ERROR %u %s\n", (unsigned long long)m.corr,
                    m.code, m.text);
        if (m.corr < 1 || m.corr > (uint64_t)n)
            continue;
        got++;
        if (m.type == DTX_MSG_TRY_MANY_OK) {
            strcpy(gids[m.corr - 1], m.gid);
            committing += m.state == DTX_STATE_COMMITTING;
        }
    }
    return committing;
}

/* Runs n TCC_RUNs on res from a raw initiator; 0 when all answered
 * committing and then reached committed in the log. */
static int s_load(const ta_world_t *w, int n, const char *res)
{
    u_peer_t ini;
    if (u_peer_dealer(&ini, w->d.endpoint) != 0)
        return -1;
    for (int i = 1; i <= n; i++)
        if (s_send_run(&ini, (uint64_t)i, res) != 0)
            return -1;
    static char gids[S_LOAD][DTX_GID_SIZE];
    memset(gids, 0, sizeof gids);
    int ok = s_collect_runs(&ini, n, gids, 20000);
    u_peer_close(&ini);
    if (ok != n) {
        fprintf(stderr, "\n  %d of %d TCC_RUNs committing\n", ok, n);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (u_wait_state(w->log, gids[i], DTX_STATE_COMMITTED, 20000) != 0)
            return -1;
    return 0;
}

static void test_libdtx_participant_under_load_gets_bundles_and_all_commit(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "bundle_on", NULL, NULL) == 0);
    CU_ASSERT_EQUAL(s_load(&w, S_LOAD, "ra"), 0);
    double sent = ta_metric(&w, "dtx_bundles_sent_total");
    double sent_frames = ta_metric(&w, "dtx_bundle_frames_sent_total");
    double got = ta_metric(&w, "dtx_bundles_received_total");
    double got_frames = ta_metric(&w, "dtx_bundle_frames_received_total");
    fprintf(stderr, "\n  bundles sent %.0f (%.0f PHASEs), received %.0f (%.0f replies) ", sent,
            sent_frames, got, got_frames);
    CU_ASSERT(sent > 0);
    CU_ASSERT(sent_frames >= 2 * sent);
    CU_ASSERT(got > 0);
    CU_ASSERT(got_frames >= 2 * got);
    CU_ASSERT_EQUAL(ta_metric(&w, "dtx_bundle_lost_frames_total"), 0);
    ta_down(&w);
}

static void test_libdtx_participant_with_bundle_0_gets_none(void)
{
    ta_world_t w;
    /* The participant ta_up starts inherits it; dtxd would too (its
     * options' variables are DTX_*), so its flag keeps it on. */
    setenv("DTX_BUNDLE", "0", 1);
    const char *on[] = { "--bundle", "on", NULL };
    int up = ta_up(&w, "bundle_off_env", on, NULL);
    unsetenv("DTX_BUNDLE");
    CU_ASSERT_FATAL(up == 0);
    CU_ASSERT_EQUAL(s_load(&w, S_LOAD, "ra"), 0);
    CU_ASSERT_EQUAL(ta_metric(&w, "dtx_bundles_sent_total"), 0);
    CU_ASSERT_EQUAL(ta_metric(&w, "dtx_bundles_received_total"), 0);
    CU_ASSERT_EQUAL(ta_metric(&w, "dtx_bundle_frames_received_total"), 0);
    ta_down(&w);
}

/* REGISTER of instance for res in version 2, with tag 2 when bundle. */
static int s_register(u_peer_t *p, const char *instance, const char *res, int bundle,
                      dtx_msg_t *ok)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_REGISTER;
    strcpy(m.instance, instance);
    strcpy(m.resource, res);
    m.bundle = (uint8_t)bundle;
    if (u_call(p, &m, 7, ok, 5000) != 0 || ok->type != DTX_MSG_REGISTER_OK)
        return -1;
    return 0;
}

/* Reads from raw participant p until n PHASEs came, plain or in BUNDLEs
 * (counted in *bundles); copies them into ph. Returns how many came. */
static int s_take_phases(u_peer_t *p, dtx_msg_t *ph, int n, int *bundles, int timeout_ms)
{
    int got = 0;
    int64_t until = h_now_ms() + timeout_ms;
    while (got < n && h_now_ms() < until) {
        dtx_msg_t m;
        if (u_recv(p, &m, s_buf, sizeof s_buf, NULL, NULL, (int)(until - h_now_ms())) != 0)
            break;
        if (m.type == DTX_MSG_PHASE) {
            ph[got++] = m;
        } else if (m.type == DTX_MSG_BUNDLE_PHASES) {
            (*bundles)++;
            dtx_bundle_iter_t it;
            dtx_bundle_iter_init(&it, &m);
            const uint8_t *f;
            size_t len;
            while (got < n && dtx_bundle_iter_next(&it, &f, &len)) {
                CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&ph[got], f, len, NULL, 0), 0);
                got++;
            }
        }
    }
    return got;
}

/* The replies to n PHASEs (outcome ok) in one BUNDLE 0x0E, plus a bad
 * entry (framed right, a bad gid; corr 0x77) when bad_entry. */
static void s_replies(dtx_bundle_t *b, const dtx_msg_t *ph, int n, int bad_entry)
{
    dtx_bundle_reset(b);
    for (int i = 0; i < n; i++) {
        dtx_msg_t r;
        memset(&r, 0, sizeof r);
        r.version = DTX_PROTO_V2;
        r.type = DTX_MSG_PHASE_REPLY;
        r.corr = ph[i].corr;
        strcpy(r.gid, ph[i].gid);
        r.branch = ph[i].branch;
        r.op = ph[i].op;
        r.attempt = ph[i].attempt;
        r.outcome = DTX_OUTCOME_OK;
        CU_ASSERT_EQUAL_FATAL(dtx_bundle_add(b, &r), 0);
        if (bad_entry && i == 0) {
            r.corr = 0x77;
            strcpy(r.gid, "zz");
            CU_ASSERT_EQUAL_FATAL(dtx_bundle_add(b, &r), 0);
            b->buf[b->last + 13] = '!'; /* gid "!z": framed right, does not decode */
        }
    }
}

static int s_send_bundle(u_peer_t *p, dtx_bundle_t *b)
{
    const uint8_t *f;
    size_t len;
    dtx_bundle_finish(b, DTX_MSG_BUNDLE_REPLIES, &f, &len);
    return u_send_raw(p, f, len, 0);
}

/* Nothing arrives on p within ms. */
static int s_quiet(u_peer_t *p, int ms)
{
    dtx_msg_t m;
    if (u_recv(p, &m, s_buf, sizeof s_buf, NULL, NULL, ms) == 0) {
        fprintf(stderr, "\n  unexpected %s corr %llu\n", dtx_msg_type_name(m.type),
                (unsigned long long)m.corr);
        return -1;
    }
    return 0;
}

static const char *const s_raw_dtxd[] = { "--heartbeat-ms", "60000", NULL };

static void test_raw_participant_with_tag_2_gets_bundles_and_answers_with_one(void)
{
    char mallory_key[512];
    CU_ASSERT_FATAL(h_curve_add_key("bundle-mallory", "initiator", mallory_key, sizeof mallory_key) ==
                    0);
    ta_world_t w;
    const char *none[] = { "none", NULL };
    CU_ASSERT_FATAL(ta_up(&w, "bundle_raw", s_raw_dtxd, none) == 0);
    u_peer_t part, ini, other, mallory;
    CU_ASSERT_FATAL(u_peer_dealer(&part, w.d.endpoint) == 0);
    CU_ASSERT_FATAL(u_peer_dealer(&ini, w.d.endpoint) == 0);
    CU_ASSERT_FATAL(u_peer_dealer(&other, w.d.endpoint) == 0);
    CU_ASSERT_FATAL(u_peer_dealer_keys(&mallory, w.d.endpoint, mallory_key) == 0);
    dtx_msg_t ok;
    CU_ASSERT_FATAL(s_register(&part, "raw-1", "rr", 1, &ok) == 0);
    CU_ASSERT_EQUAL(ok.bundle, 1); /* dtxd accepts BUNDLEs of replies */
    /* A BUNDLE of PHASEs is no request a coordinator serves: ERROR 2. */
    static const uint8_t phases[] = { 0x44, 0x58, 0x02, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x51,
                                      0, 0, 0, 16, 0, 0, 0, 12, 0x44, 0x58, 0x02, 0x88,
                                      0, 0, 0, 0, 0, 0, 0, 1 };
    dtx_msg_t m;
    CU_ASSERT_EQUAL(u_send_raw(&part, phases, sizeof phases, 0), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&part, &m, s_buf, sizeof s_buf, NULL, NULL, 2000), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, 2);
    CU_ASSERT_EQUAL(m.corr, 0x51);

    for (int i = 1; i <= S_RAW; i++)
        CU_ASSERT_FATAL(s_send_run(&ini, (uint64_t)i, "rr") == 0);
    static dtx_msg_t ph[S_RAW];
    int bundles = 0;
    CU_ASSERT_EQUAL_FATAL(s_take_phases(&part, ph, S_RAW, &bundles, 10000), S_RAW);
    fprintf(stderr, "\n  %d Tries came in %d BUNDLEs and %d plain frames ", S_RAW, bundles,
            S_RAW - (int)ta_metric(&w, "dtx_bundle_frames_sent_total"));
    CU_ASSERT(bundles >= 1);
    CU_ASSERT(ta_metric(&w, "dtx_bundles_sent_total") >= 1);
    for (int i = 0; i < S_RAW; i++)
        CU_ASSERT_EQUAL(ph[i].op, DTX_OP_TRY);

    static dtx_bundle_t b;
    double role0 = ta_metric(&w, "dtx_auth_refusals_total{reason=\"role\"}");
    double ignored0 = ta_metric(&w, "dtx_ignored_phase_replies_total");
    /* A key without the participant role: each entry dropped as a lone
     * PHASE_REPLY would be (counted, not answered). */
    s_replies(&b, ph, S_RAW, 0);
    CU_ASSERT_EQUAL(s_send_bundle(&mallory, &b), 0);
    CU_ASSERT_EQUAL(s_quiet(&mallory, 300), 0);
    CU_ASSERT_EQUAL(ta_metric(&w, "dtx_auth_refusals_total{reason=\"role\"}") - role0, S_RAW);
    /* Another connection (all roles): the PHASEs did not go there (§14.3). */
    s_replies(&b, ph, S_RAW, 0);
    CU_ASSERT_EQUAL(s_send_bundle(&other, &b), 0);
    CU_ASSERT_EQUAL(s_quiet(&other, 300), 0);
    CU_ASSERT_EQUAL(ta_metric(&w, "dtx_ignored_phase_replies_total") - ignored0, S_RAW);
    /* A malformed BUNDLE (entry 2 in version 1): ERROR 2 with its corr,
     * nothing acted on. */
    s_replies(&b, ph, S_RAW, 0);
    const uint8_t *f;
    size_t len;
    dtx_bundle_finish(&b, DTX_MSG_BUNDLE_REPLIES, &f, &len);
    memcpy(s_buf, f, len);
    s_buf[11] = 0x63;                            /* corr 0x63 */
    size_t second = DTX_BUNDLE_HEAD + 4 + (s_buf[16] << 24 | s_buf[17] << 16 |
                                          s_buf[18] << 8 | s_buf[19]);
    s_buf[second + 4 + 2] = DTX_PROTO_V1;
    CU_ASSERT_EQUAL(u_send_raw(&part, s_buf, len, 0), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&part, &m, s_buf, sizeof s_buf, NULL, NULL, 2000), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, 2);
    CU_ASSERT_EQUAL(m.corr, 0x63);
    CU_ASSERT_PTR_NOT_NULL(strstr(m.text, "entry 2"));
    CU_ASSERT_EQUAL(s_quiet(&ini, 300), 0);      /* no vote counted */
    /* The right answer from the right connection, with one bad entry:
     * that entry alone is answered ERROR 2 (its corr), the rest count. */
    s_replies(&b, ph, S_RAW, 1);
    CU_ASSERT_EQUAL(s_send_bundle(&part, &b), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&part, &m, s_buf, sizeof s_buf, NULL, NULL, 2000), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, 2);
    CU_ASSERT_EQUAL(m.corr, 0x77);
    static char gids[S_RAW][DTX_GID_SIZE];
    CU_ASSERT_EQUAL(s_collect_runs(&ini, S_RAW, gids, 10000), S_RAW);
    /* mallory's, the other connection's and this one: the malformed one
     * is not counted (it never decoded). */
    CU_ASSERT_EQUAL(ta_metric(&w, "dtx_bundles_received_total"), 3);
    /* The Confirms, answered in one BUNDLE too. */
    bundles = 0;
    CU_ASSERT_EQUAL_FATAL(s_take_phases(&part, ph, S_RAW, &bundles, 10000), S_RAW);
    CU_ASSERT(bundles >= 1);
    for (int i = 0; i < S_RAW; i++)
        CU_ASSERT_EQUAL(ph[i].op, DTX_OP_CONFIRM);
    s_replies(&b, ph, S_RAW, 0);
    CU_ASSERT_EQUAL(s_send_bundle(&part, &b), 0);
    for (int i = 0; i < S_RAW; i++)
        CU_ASSERT_EQUAL(u_wait_state(w.log, gids[i], DTX_STATE_COMMITTED, 10000), 0);
    dtx_bundle_free(&b);
    u_peer_close(&mallory);
    u_peer_close(&other);
    u_peer_close(&ini);
    u_peer_close(&part);
    ta_down(&w);
}

/* Raw participant registered with tag 2 or not, against dtxd_args:
 * returns the BUNDLEs it got for S_RAW Tries, answering with a BUNDLE of
 * replies (accepted either way), -1 on failure. *offered: REGISTER_OK's
 * tag 2. */
static int s_raw_round(const char *name, const char *const *dtxd_args, int tag2, int *offered)
{
    ta_world_t w;
    const char *none[] = { "none", NULL };
    if (ta_up(&w, name, dtxd_args, none) != 0)
        return -1;
    u_peer_t part, ini;
    int bundles = -1;
    if (u_peer_dealer(&part, w.d.endpoint) != 0 || u_peer_dealer(&ini, w.d.endpoint) != 0)
        goto out;
    dtx_msg_t ok;
    if (s_register(&part, "raw-2", "rs", tag2, &ok) != 0)
        goto out;
    *offered = ok.bundle;
    for (int i = 1; i <= S_RAW; i++)
        if (s_send_run(&ini, (uint64_t)i, "rs") != 0)
            goto out;
    static dtx_msg_t ph[S_RAW];
    int nbundles = 0;
    if (s_take_phases(&part, ph, S_RAW, &nbundles, 10000) != S_RAW)
        goto out;
    static dtx_bundle_t b;
    s_replies(&b, ph, S_RAW, 0);
    static char gids[S_RAW][DTX_GID_SIZE];
    if (s_send_bundle(&part, &b) != 0 || s_collect_runs(&ini, S_RAW, gids, 10000) != S_RAW)
        goto out;
    bundles = nbundles;
    dtx_bundle_free(&b);
out:
    u_peer_close(&ini);
    u_peer_close(&part);
    ta_down(&w);
    return bundles;
}

static void test_peer_without_tag_2_gets_no_bundle_but_may_send_one(void)
{
    int offered = -1;
    CU_ASSERT_EQUAL(s_raw_round("bundle_notag", s_raw_dtxd, 0, &offered), 0);
    CU_ASSERT_EQUAL(offered, 1);
}

static void test_dtxd_bundle_off_offers_and_sends_none(void)
{
    const char *args[] = { "--heartbeat-ms", "60000", "--bundle", "off", NULL };
    int offered = -1;
    CU_ASSERT_EQUAL(s_raw_round("bundle_dtxd_off", args, 1, &offered), 0);
    CU_ASSERT_EQUAL(offered, 0);
}

INTEG_SUITE(bundle)
{
    CU_pSuite s = CU_add_suite("bundle", NULL, NULL);
    CU_add_test(s, "libdtx participant under load gets bundles and all commit",
                test_libdtx_participant_under_load_gets_bundles_and_all_commit);
    CU_add_test(s, "libdtx participant with DTX_BUNDLE=0 gets none",
                test_libdtx_participant_with_bundle_0_gets_none);
    CU_add_test(s, "raw participant with tag 2 gets bundles and answers with one",
                test_raw_participant_with_tag_2_gets_bundles_and_answers_with_one);
    CU_add_test(s, "peer without tag 2 gets no bundle but may send one",
                test_peer_without_tag_2_gets_no_bundle_but_may_send_one);
    CU_add_test(s, "dtxd --bundle off offers and sends none",
                test_dtxd_bundle_off_offers_and_sends_none);
}
