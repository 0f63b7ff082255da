/*
 * test_sdk_curve.c — libdtx with CurveZMQ (participant-sdk/src/client.c,
 * participant.c, sdk_curve.c) against a fake coordinator: a ROUTER of this
 * process, on 127.0.0.1, with CURVE server options and an optional ZAP
 * handler, run in a thread. No dtxd and no database: what is tested is what
 * the SDK puts on the wire (CURVE, the lineage routing id) and how it takes
 * refusals (of its keys, of its registration). This file: the client (and
 * DTX_CURVE_KEY_FILE as both's default); the participant's are in
 * test_sdk_curve_participant.c, the fixtures in sdk_curve_fixture.c.
 *
 * The SDK's log lines (stderr) are captured into a file per test; with
 * DTX_TEST_KEEP set the scratch directory (keys, logs) is kept. Like
 * client_args, this suite uses sockets, on 127.0.0.1 only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <zmq.h>

#include "dtx/curve.h"
#include "dtx/dtx.h"
#include "dtx/lineage.h"
#include "dtx/log.h"
#include "dtx/proto.h"
#include "sdk_curve_fixture.h"
#include "unit.h"

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

static void test_client_new_curve_refuses_unusable_key_files(void)
{
    sc_capture_start("client-refuses");
    int err = 0;
    char path[128];
    snprintf(path, sizeof path, "%s/none.keys", sc_dir);
    CU_ASSERT_PTR_NULL(dtx_client_new_curve("tcp://127.0.0.1:1", path, &err));
    CU_ASSERT_EQUAL(err, DTX_ECONFIG);
    /* A coordinator's own file (no server-key) is no peer's file. */
    dtx_curve_keys_t keys;
    sc_keys_file("noserver.keys", NULL, &keys, path, sizeof path);
    err = 0;
    CU_ASSERT_PTR_NULL(dtx_client_new_curve("tcp://127.0.0.1:1", path, &err));
    CU_ASSERT_EQUAL(err, DTX_ECONFIG);
    sc_capture_stop();
    CU_ASSERT_EQUAL(sc_log_count("has no server-key"), 1);
    CU_ASSERT_EQUAL(sc_log_count(keys.secret_key), 0);
    /* NULL key file: plain, as dtx_client_new. */
    dtx_client_t *c = dtx_client_new_curve("tcp://127.0.0.1:1", NULL, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    CU_ASSERT_EQUAL(err, DTX_OK);
    dtx_client_destroy(&c);
}

static void test_client_over_curve_reaches_the_router_with_its_lineage(void)
{
    dtx_curve_keys_t server, client;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    char path[128];
    sc_keys_file("client.keys", server.public_key, &client, path, sizeof path);
    fake_coord_t fc;
    sc_coord_start(&fc, server.secret_key, 200, 0);
    sc_capture_start("client-curve");
    int err = 0;
    dtx_client_t *c = dtx_client_new_curve(fc.endpoint, path, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    CU_ASSERT_EQUAL(err, DTX_OK);
    char gid[DTX_GID_SIZE] = "";
    int rc = DTX_EINVAL;
    if (c) {
        dtx_client_set_timeout(c, 5000);
        rc = dtx_client_begin(c, DTX_MODE_TCC, 0, gid);
    }
    dtx_client_destroy(&c);
    sc_capture_stop();
    sc_coord_stop(&fc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(gid, "G-CURVE-1");
    CU_ASSERT_EQUAL(fc.frames, 1);
    CU_ASSERT(fc.zap_requests >= 1);
    /* A CURVE server got the frame, and ZAP saw the client's key. */
    CU_ASSERT_STRING_EQUAL(fc.zap_key, client.public_key);
    /* The routing id is this process's lineage. */
    uint8_t lineage[DTX_LINEAGE_LEN], mine[DTX_LINEAGE_ID_LEN];
    CU_ASSERT_EQUAL(fc.rid_len, DTX_LINEAGE_ID_LEN);
    CU_ASSERT_EQUAL(dtx_lineage_parse(fc.rid, fc.rid_len, lineage), 1);
    CU_ASSERT_EQUAL_FATAL(dtx_lineage_routing_id(mine), 0);
    CU_ASSERT_EQUAL(memcmp(lineage, mine + DTX_LINEAGE_OFFSET, DTX_LINEAGE_LEN), 0);
}

static void test_client_with_wrong_server_key_or_plain_gets_nothing_through(void)
{
    dtx_curve_keys_t server, impostor, client;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&impostor), 0);
    char path[128];
    sc_keys_file("wrong.keys", impostor.public_key, &client, path, sizeof path);
    fake_coord_t fc;
    sc_coord_start(&fc, server.secret_key, 0, 0); /* no ZAP: any client key would do */
    sc_capture_start("client-wrong");
    char gid[DTX_GID_SIZE];
    int err = 0, rc_wrong = 0, rc_plain = 0;
    dtx_client_t *c = dtx_client_new_curve(fc.endpoint, path, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (c) {
        dtx_client_set_timeout(c, SHORT_MS);
        rc_wrong = dtx_client_begin(c, DTX_MODE_TCC, 0, gid);
    }
    dtx_client_destroy(&c);
    c = dtx_client_new(fc.endpoint, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (c) {
        dtx_client_set_timeout(c, SHORT_MS);
        rc_plain = dtx_client_begin(c, DTX_MODE_TCC, 0, gid);
    }
    dtx_client_destroy(&c);
    sc_capture_stop();
    sc_coord_stop(&fc);
    CU_ASSERT_EQUAL(rc_wrong, DTX_ENOTSENT); /* no handshake: nothing left */
    CU_ASSERT_EQUAL(rc_plain, DTX_ENOTSENT);
    CU_ASSERT_EQUAL(fc.frames, 0);
}

static void test_client_refused_then_allowed_gets_through_without_being_remade(void)
{
    dtx_curve_keys_t server, client;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    char path[128];
    sc_keys_file("later.keys", server.public_key, &client, path, sizeof path);
    fake_coord_t fc;
    sc_coord_start(&fc, server.secret_key, 400, 0);
    sc_capture_start("client-later");
    int err = 0, rc_refused = 0, rc_allowed = DTX_EINVAL;
    char gid[DTX_GID_SIZE] = "";
    dtx_client_t *c = dtx_client_new_curve(fc.endpoint, path, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (c) {
        dtx_client_set_timeout(c, SHORT_MS);
        rc_refused = dtx_client_begin(c, DTX_MODE_TCC, 0, gid);
        /* ZeroMQ gave that connection up for good; the next call makes a
         * new one, which the coordinator now admits. */
        atomic_store(&fc.zap_status, 200);
        dtx_client_set_timeout(c, 5000);
        rc_allowed = dtx_client_begin(c, DTX_MODE_TCC, 0, gid);
    }
    dtx_client_destroy(&c);
    sc_capture_stop();
    sc_coord_stop(&fc);
    CU_ASSERT_EQUAL(rc_refused, DTX_ENOTSENT);
    CU_ASSERT_EQUAL(rc_allowed, 0);
    CU_ASSERT_EQUAL(fc.frames, 1);
    CU_ASSERT(fc.zap_requests >= 2);
}

static void test_env_key_file_is_the_default_of_client_and_participant(void)
{
    dtx_curve_keys_t server, client;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    char good[128], bad[128];
    sc_keys_file("env.keys", server.public_key, &client, good, sizeof good);
    snprintf(bad, sizeof bad, "%s/env-missing.keys", sc_dir);
    fake_coord_t fc;
    sc_coord_start(&fc, server.secret_key, 200, 0);
    sc_capture_start("env");

    /* Unusable: DTX_ECONFIG from dtx_client_new and from connect. */
    setenv("DTX_CURVE_KEY_FILE", bad, 1);
    int err = 0;
    CU_ASSERT_PTR_NULL(dtx_client_new(fc.endpoint, &err));
    CU_ASSERT_EQUAL(err, DTX_ECONFIG);
    dtx_participant_t *p = dtx_participant_new("env-1", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, fc.endpoint), DTX_ECONFIG);
    /* An explicit choice replaces the environment's. */
    CU_ASSERT_EQUAL(dtx_participant_set_curve(p, NULL), 0);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, "tcp://127.0.0.1:1"), 0);
    dtx_participant_destroy(&p);

    /* Usable: the client talks CURVE without being told in code. */
    setenv("DTX_CURVE_KEY_FILE", good, 1);
    dtx_client_t *c = dtx_client_new(fc.endpoint, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    char gid[DTX_GID_SIZE] = "";
    int rc = DTX_EINVAL;
    if (c) {
        dtx_client_set_timeout(c, 5000);
        rc = dtx_client_begin(c, DTX_MODE_TCC, 0, gid);
    }
    dtx_client_destroy(&c);

    /* Empty: plain. */
    setenv("DTX_CURVE_KEY_FILE", "", 1);
    c = dtx_client_new("tcp://127.0.0.1:1", &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    dtx_client_destroy(&c);
    unsetenv("DTX_CURVE_KEY_FILE");
    sc_capture_stop();
    sc_coord_stop(&fc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(fc.zap_key, client.public_key);
}

UNIT_SUITE(sdk_curve)
{
    CU_pSuite s = CU_add_suite("sdk_curve", sc_suite_init, sc_suite_clean);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_client_new_curve_refuses_unusable_key_files);
    T(test_client_over_curve_reaches_the_router_with_its_lineage);
    T(test_client_with_wrong_server_key_or_plain_gets_nothing_through);
    T(test_client_refused_then_allowed_gets_through_without_being_remade);
    T(test_env_key_file_is_the_default_of_client_and_participant);
#undef T
}
