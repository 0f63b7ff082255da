/*
 * test_sdk_curve_participant.c — a libdtx participant with CurveZMQ
 * (participant-sdk/src/participant.c, sdk_curve.c) against the fake
 * coordinator of sdk_curve_fixture.h: it registers over CURVE, and logs
 * refused keys, a wrong server key, a plain handshake against CURVE and a
 * refused registration once, without spinning. The client's tests are in
 * test_sdk_curve.c. Sockets on 127.0.0.1 only.
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
/* Participant                                                         */
/* ------------------------------------------------------------------ */

static int s_noop(const dtx_call_t *call, void *arg)
{
    (void)call;
    (void)arg;
    return DTX_OK;
}

static dtx_participant_t *s_participant(const char *instance, const char *key_file)
{
    int err = 0;
    dtx_participant_t *p = dtx_participant_new(instance, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dtx_tcc_handlers_t h = { .on_try = s_noop, .on_confirm = s_noop, .on_cancel = s_noop };
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "res-a", &h), 0);
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "res-b", &h), 0);
    CU_ASSERT_EQUAL(dtx_participant_set_curve(p, key_file), 0);
    dtx_participant_set_heartbeat(p, 100);
    return p;
}

static void test_participant_set_curve_refuses_unusable_files_and_keeps_its_choice(void)
{
    sc_capture_start("set-curve");
    int err = 0;
    dtx_participant_t *p = dtx_participant_new("set-1", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char path[128];
    snprintf(path, sizeof path, "%s/set-missing.keys", sc_dir);
    CU_ASSERT_EQUAL(dtx_participant_set_curve(p, path), DTX_ECONFIG);
    dtx_curve_keys_t keys;
    sc_keys_file("set-open.keys", "=####=####=####=####=####=####=####=####", &keys, path,
                sizeof path);
    chmod(path, 0644);
    CU_ASSERT_EQUAL(dtx_participant_set_curve(p, path), DTX_ECONFIG);
    /* the previous choice (plain) stays */
    CU_ASSERT_EQUAL(dtx_participant_connect(p, "tcp://127.0.0.1:1"), 0);
    dtx_participant_destroy(&p);
    sc_capture_stop();
    CU_ASSERT(sc_log_count("mode 0644") >= 1);
}

static void test_participant_registers_over_curve(void)
{
    dtx_curve_keys_t server, peer;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    char path[128];
    sc_keys_file("part.keys", server.public_key, &peer, path, sizeof path);
    fake_coord_t fc;
    sc_coord_start(&fc, server.secret_key, 200, 0);
    sc_capture_start("part-curve");
    dtx_participant_t *p = s_participant("curve-1", path);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, fc.endpoint), 0);
    for (int i = 0; i < 50 && dtx_participant_registered(p) == 0; i++)
        dtx_participant_poll(p, 50);
    int registered = dtx_participant_registered(p);
    dtx_participant_destroy(&p);
    sc_capture_stop();
    sc_coord_stop(&fc);
    CU_ASSERT_EQUAL(registered, 1);
    CU_ASSERT_STRING_EQUAL(fc.zap_key, peer.public_key);
    CU_ASSERT_EQUAL(dtx_lineage_parse(fc.rid, fc.rid_len, NULL), 1);
    CU_ASSERT_EQUAL(sc_log_count("curve=on"), 2); /* coordinator added, connected */
}

static void test_participant_logs_refused_keys_once_and_keeps_trying(void)
{
    dtx_curve_keys_t server, peer;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    char path[128];
    sc_keys_file("refused.keys", server.public_key, &peer, path, sizeof path);
    fake_coord_t fc;
    sc_coord_start(&fc, server.secret_key, 400, 0);
    sc_capture_start("part-refused-keys");
    dtx_participant_t *p = s_participant("refused-1", path);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, fc.endpoint), 0);
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 1000), 0);
    int refused_registered = dtx_participant_registered(p);
    /* The coordinator's allow-list now admits the key: the participant
     * gets in without being restarted. */
    atomic_store(&fc.zap_status, 200);
    int registered = 0;
    for (int i = 0; i < 40 && !registered; i++) {
        dtx_participant_poll(p, 50);
        registered = dtx_participant_registered(p);
    }
    dtx_participant_destroy(&p);
    sc_capture_stop();
    sc_coord_stop(&fc);
    CU_ASSERT_EQUAL(refused_registered, 0);
    CU_ASSERT_EQUAL(registered, 1);
    /* Refused about every 3 intervals (300 ms) in the first second... */
    CU_ASSERT(fc.zap_requests >= 2 && fc.zap_requests <= 8);
    /* ...and logged once. */
    CU_ASSERT_EQUAL(sc_log_count("refused this participant's CURVE keys"), 1);
    CU_ASSERT_EQUAL(sc_log_count("zap_status=400"), 1);
    CU_ASSERT_EQUAL(sc_log_count("disconnected from coordinator"), 0);
}

static void test_participant_with_wrong_server_key_logs_a_hint_once(void)
{
    dtx_curve_keys_t server, impostor, peer;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&impostor), 0);
    char path[128];
    sc_keys_file("part-wrong.keys", impostor.public_key, &peer, path, sizeof path);
    fake_coord_t fc;
    sc_coord_start(&fc, server.secret_key, 200, 0);
    sc_capture_start("part-wrong");
    dtx_participant_t *p = s_participant("wrong-1", path);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, fc.endpoint), 0);
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 1200), 0);
    int registered = dtx_participant_registered(p);
    dtx_participant_destroy(&p);
    sc_capture_stop();
    sc_coord_stop(&fc);
    CU_ASSERT_EQUAL(registered, 0);
    CU_ASSERT_EQUAL(fc.frames, 0);
    CU_ASSERT_EQUAL(fc.zap_requests, 0); /* the server could not even read HELLO */
    CU_ASSERT_EQUAL(sc_log_count("dropped during handshake"), 1);
    CU_ASSERT_EQUAL(sc_log_count("is server-key the coordinator's public key?"), 1);
}

static void test_participant_logs_handshake_failure_of_plain_against_curve(void)
{
    dtx_curve_keys_t server;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    fake_coord_t fc;
    sc_coord_start(&fc, server.secret_key, 0, 0);
    sc_capture_start("part-plain");
    dtx_participant_t *p = s_participant("plain-1", NULL);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, fc.endpoint), 0);
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 1000), 0);
    dtx_participant_destroy(&p);
    sc_capture_stop();
    sc_coord_stop(&fc);
    CU_ASSERT_EQUAL(fc.frames, 0);
    /* Which side notices the mismatch first varies: the participant sees
     * a protocol error, or the coordinator hangs up on it again and again.
     * Either way one line, pointing at CURVE. */
    CU_ASSERT_EQUAL(sc_log_count("handshake with coordinator failed") +
                        sc_log_count("dropped during handshake"), 1);
    CU_ASSERT_EQUAL(sc_log_count("require"), 1); /* "requires CURVE" / "require CURVE?" */
}

static void test_participant_logs_refused_registration_once_per_round_without_spinning(void)
{
    fake_coord_t fc;
    sc_coord_start(&fc, NULL, 0, 1);
    sc_capture_start("part-refused-register");
    dtx_participant_t *p = s_participant("refused-2", NULL);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, fc.endpoint), 0);
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 1050), 0);
    int registered = dtx_participant_registered(p);
    dtx_participant_destroy(&p);
    sc_capture_stop();
    sc_coord_stop(&fc);
    CU_ASSERT_EQUAL(registered, 0);
    /* Heartbeat 100 ms: a round (2 REGISTERs) every 3 intervals, about 4
     * rounds in 1 s; heartbeats answered ERROR 16 do not add rounds. */
    int rounds = fc.registers / 2;
    CU_ASSERT(rounds >= 1 && rounds <= 5); /* no spin: ~10 would be one per heartbeat */
    int lines = sc_log_count("coordinator refused registration");
    CU_ASSERT(lines >= 1 && lines <= rounds);
    /* The coordinator's text, made safe for one log line. */
    CU_ASSERT_EQUAL(sc_log_count("reason=\"instance refused-2 not in ?allow? list?bye\""), lines);
    CU_ASSERT_EQUAL(sc_log_count("code=20"), lines);
    CU_ASSERT_EQUAL(sc_log_count("coordinator reported an error"), 0);
}

UNIT_SUITE(sdk_curve_participant)
{
    CU_pSuite s = CU_add_suite("sdk_curve_participant", sc_suite_init, sc_suite_clean);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_participant_set_curve_refuses_unusable_files_and_keeps_its_choice);
    T(test_participant_registers_over_curve);
    T(test_participant_logs_refused_keys_once_and_keeps_trying);
    T(test_participant_with_wrong_server_key_logs_a_hint_once);
    T(test_participant_logs_handshake_failure_of_plain_against_curve);
    T(test_participant_logs_refused_registration_once_per_round_without_spinning);
#undef T
}
