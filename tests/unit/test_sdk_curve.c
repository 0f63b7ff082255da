/*
 * test_sdk_curve.c — libdtx with CurveZMQ (participant-sdk/src/client.c,
 * participant.c, sdk_curve.c) against a fake coordinator: a ROUTER of this
 * process, on 127.0.0.1, with CURVE server options and an optional ZAP
 * handler, run in a thread. No dtxd and no database: what is tested is what
 * the SDK puts on the wire (CURVE, the lineage routing id) and how it takes
 * refusals (of its keys, of its registration).
 *
 * The SDK's log lines (stderr) are captured into a file per test; with
 * DTX_TEST_KEEP set the scratch directory (keys, logs) is kept. Like
 * client_args, this suite uses sockets, on 127.0.0.1 only.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
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
#include "unit.h"

#define SHORT_MS 300

static char s_dir[64];

/* ------------------------------------------------------------------ */
/* Fixtures: key files, captured stderr                                */
/* ------------------------------------------------------------------ */

/* Writes a fresh key pair to dir/name (server_key may be NULL). */
static void s_keys_file(const char *name, const char *server_key, dtx_curve_keys_t *keys,
                        char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", s_dir, name);
    unlink(path);
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(keys), 0);
    if (server_key)
        snprintf(keys->server_key, sizeof keys->server_key, "%s", server_key);
    char err[512];
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_save(path, keys, err, sizeof err), 0);
}

static int s_saved_stderr = -1;
static char s_log_path[128];

static void s_capture_start(const char *name)
{
    snprintf(s_log_path, sizeof s_log_path, "%s/%s.log", s_dir, name);
    int fd = open(s_log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    s_saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

static void s_capture_stop(void)
{
    if (s_saved_stderr >= 0) {
        dup2(s_saved_stderr, STDERR_FILENO);
        close(s_saved_stderr);
        s_saved_stderr = -1;
    }
}

/* Lines of the captured log holding needle. */
static int s_log_count(const char *needle)
{
    FILE *f = fopen(s_log_path, "r");
    if (!f)
        return 0;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* ------------------------------------------------------------------ */
/* The fake coordinator                                                */
/* ------------------------------------------------------------------ */

typedef struct fake_coord {
    void       *ctx;
    void       *router;          /* CURVE server (or plain when no secret) */
    void       *zap;             /* REP at inproc://zeromq.zap.01, or NULL */
    atomic_int  zap_status;      /* 200 admits, 400 refuses; the test may change it */
    int         refuse_register; /* answer REGISTER with ERROR 20 */
    char        endpoint[128];
    atomic_int  stop;
    pthread_t   thread;
    /* results, read after s_coord_stop */
    int         frames;          /* dtx frames received */
    int         registers;       /* REGISTERs among them */
    int         zap_requests;
    uint8_t     rid[256];        /* routing id of the last frame */
    size_t      rid_len;
    char        zap_key[DTX_CURVE_KEY_LEN + 1]; /* client key of the last ZAP request */
} fake_coord_t;

/* Answers a ZAP request: status self->zap_status, user id = the client's
 * public key in Z85. */
static void s_zap_answer(fake_coord_t *self)
{
    zmq_msg_t part[7];
    int n = 0, more = 1;
    while (more && n < 7) {
        zmq_msg_init(&part[n]);
        if (zmq_msg_recv(&part[n], self->zap, 0) < 0)
            return;
        more = zmq_msg_more(&part[n]);
        n++;
    }
    self->zap_requests++;
    char user[DTX_CURVE_KEY_LEN + 1] = "";
    if (n == 7 && zmq_msg_size(&part[6]) == 32)
        zmq_z85_encode(user, zmq_msg_data(&part[6]), 32);
    memcpy(self->zap_key, user, sizeof self->zap_key);
    char status[8];
    snprintf(status, sizeof status, "%d", atomic_load(&self->zap_status));
    zmq_send(self->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(self->zap, zmq_msg_data(&part[1]), zmq_msg_size(&part[1]), ZMQ_SNDMORE);
    zmq_send(self->zap, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(self->zap, "test", 4, ZMQ_SNDMORE);
    zmq_send(self->zap, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(self->zap, "", 0, 0);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&part[i]);
}

static void s_reply(fake_coord_t *self, const zmq_msg_t *rid, const dtx_msg_t *m)
{
    uint8_t out[512];
    size_t len = 0;
    if (dtx_msg_encode(m, out, sizeof out, &len) != 0)
        return;
    zmq_send(self->router, zmq_msg_data((zmq_msg_t *)rid), zmq_msg_size((zmq_msg_t *)rid),
             ZMQ_SNDMORE);
    zmq_send(self->router, out, len, 0);
}

/* The dtx frame is copied out by zmq_recv, not read in place: under
 * ThreadSanitizer, bytes that libzmq's I/O thread wrote (libsodium
 * decrypting them) are then read inside libzmq, which tests/tsan's
 * suppressions cover, not here. (So no User-Id: that property lives on the
 * data frame's zmq_msg_t; the ZAP request shows the client's key.) */
static void s_router_frame(fake_coord_t *self)
{
    zmq_msg_t rid;
    uint8_t data[DTX_MSG_MAX];
    zmq_msg_init(&rid);
    if (zmq_msg_recv(&rid, self->router, 0) < 0)
        goto done;
    int n = zmq_recv(self->router, data, sizeof data, 0);
    if (n < 0 || (size_t)n > sizeof data)
        goto done;
    self->frames++;
    self->rid_len = zmq_msg_size(&rid) < sizeof self->rid ? zmq_msg_size(&rid) : sizeof self->rid;
    memcpy(self->rid, zmq_msg_data(&rid), self->rid_len);
    dtx_msg_t m;
    char why[128];
    if (dtx_msg_decode(&m, data, (size_t)n, why, sizeof why) != 0)
        goto done;
    dtx_msg_t r = { .corr = m.corr };
    if (m.type == DTX_MSG_BEGIN) {
        r.type = DTX_MSG_BEGIN_OK;
        dtx_name_copy(r.gid, "G-CURVE-1");
        s_reply(self, &rid, &r);
    } else if (m.type == DTX_MSG_REGISTER) {
        self->registers++;
        if (self->refuse_register) {
            r.type = DTX_MSG_ERROR;
            r.code = 20; /* a code this library may not know */
            snprintf(r.text, sizeof r.text, "instance %s not in \"allow\" list\nbye", m.instance);
        } else {
            r.type = DTX_MSG_REGISTER_OK;
            dtx_name_copy(r.resource, m.resource);
            dtx_name_copy(r.coordinator, "fake");
        }
        s_reply(self, &rid, &r);
    } else if (m.type == DTX_MSG_HEARTBEAT) {
        if (self->refuse_register) {
            r.type = DTX_MSG_ERROR;
            r.code = (uint32_t)-DTX_EUNREGISTERED;
        } else {
            r.type = DTX_MSG_HEARTBEAT_OK;
            dtx_name_copy(r.coordinator, "fake");
        }
        s_reply(self, &rid, &r);
    }
done:
    zmq_msg_close(&rid);
}

static void *s_coord_run(void *arg)
{
    fake_coord_t *self = arg;
    while (!atomic_load(&self->stop)) {
        zmq_pollitem_t items[2] = { { .socket = self->router, .events = ZMQ_POLLIN },
                                    { .socket = self->zap, .events = ZMQ_POLLIN } };
        if (zmq_poll(items, self->zap ? 2 : 1, 20) <= 0)
            continue;
        if (items[0].revents & ZMQ_POLLIN)
            s_router_frame(self);
        if (self->zap && (items[1].revents & ZMQ_POLLIN))
            s_zap_answer(self);
    }
    return NULL;
}

/* Starts a fake coordinator: CURVE server with secret_key (NULL: plain),
 * a ZAP handler answering zap_status (0: no handler), answering REGISTER
 * with ERROR 20 when refuse_register. */
static void s_coord_start(fake_coord_t *self, const char *secret_key, int zap_status,
                          int refuse_register)
{
    memset(self, 0, sizeof *self);
    atomic_store(&self->zap_status, zap_status);
    self->refuse_register = refuse_register;
    self->ctx = zmq_ctx_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(self->ctx);
    int linger = 0;
    if (zap_status) {
        self->zap = zmq_socket(self->ctx, ZMQ_REP);
        zmq_setsockopt(self->zap, ZMQ_LINGER, &linger, sizeof linger);
        CU_ASSERT_EQUAL_FATAL(zmq_bind(self->zap, "inproc://zeromq.zap.01"), 0);
    }
    self->router = zmq_socket(self->ctx, ZMQ_ROUTER);
    zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger);
    if (secret_key) {
        int on = 1;
        CU_ASSERT_EQUAL_FATAL(zmq_setsockopt(self->router, ZMQ_CURVE_SERVER, &on, sizeof on), 0);
        CU_ASSERT_EQUAL_FATAL(zmq_setsockopt(self->router, ZMQ_CURVE_SECRETKEY, secret_key,
                                             DTX_CURVE_KEY_LEN), 0);
    }
    CU_ASSERT_EQUAL_FATAL(zmq_bind(self->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof self->endpoint;
    CU_ASSERT_EQUAL_FATAL(zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, self->endpoint, &len), 0);
    /* The sockets move to the thread; pthread_create is the barrier. */
    CU_ASSERT_EQUAL_FATAL(pthread_create(&self->thread, NULL, s_coord_run, self), 0);
}

static void s_coord_stop(fake_coord_t *self)
{
    atomic_store(&self->stop, 1);
    pthread_join(self->thread, NULL);
    zmq_close(self->router);
    if (self->zap)
        zmq_close(self->zap);
    zmq_ctx_term(self->ctx);
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

static void test_client_new_curve_refuses_unusable_key_files(void)
{
    s_capture_start("client-refuses");
    int err = 0;
    char path[128];
    snprintf(path, sizeof path, "%s/none.keys", s_dir);
    CU_ASSERT_PTR_NULL(dtx_client_new_curve("tcp://127.0.0.1:1", path, &err));
    CU_ASSERT_EQUAL(err, DTX_ECONFIG);
    /* A coordinator's own file (no server-key) is no peer's file. */
    dtx_curve_keys_t keys;
    s_keys_file("noserver.keys", NULL, &keys, path, sizeof path);
    err = 0;
    CU_ASSERT_PTR_NULL(dtx_client_new_curve("tcp://127.0.0.1:1", path, &err));
    CU_ASSERT_EQUAL(err, DTX_ECONFIG);
    s_capture_stop();
    CU_ASSERT_EQUAL(s_log_count("has no server-key"), 1);
    CU_ASSERT_EQUAL(s_log_count(keys.secret_key), 0);
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
    s_keys_file("client.keys", server.public_key, &client, path, sizeof path);
    fake_coord_t fc;
    s_coord_start(&fc, server.secret_key, 200, 0);
    s_capture_start("client-curve");
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
    s_capture_stop();
    s_coord_stop(&fc);
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
    s_keys_file("wrong.keys", impostor.public_key, &client, path, sizeof path);
    fake_coord_t fc;
    s_coord_start(&fc, server.secret_key, 0, 0); /* no ZAP: any client key would do */
    s_capture_start("client-wrong");
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
    s_capture_stop();
    s_coord_stop(&fc);
    CU_ASSERT_EQUAL(rc_wrong, DTX_ETIMEOUT);
    CU_ASSERT_EQUAL(rc_plain, DTX_ETIMEOUT);
    CU_ASSERT_EQUAL(fc.frames, 0);
}

static void test_client_refused_then_allowed_gets_through_without_being_remade(void)
{
    dtx_curve_keys_t server, client;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    char path[128];
    s_keys_file("later.keys", server.public_key, &client, path, sizeof path);
    fake_coord_t fc;
    s_coord_start(&fc, server.secret_key, 400, 0);
    s_capture_start("client-later");
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
    s_capture_stop();
    s_coord_stop(&fc);
    CU_ASSERT_EQUAL(rc_refused, DTX_ETIMEOUT);
    CU_ASSERT_EQUAL(rc_allowed, 0);
    CU_ASSERT_EQUAL(fc.frames, 1);
    CU_ASSERT(fc.zap_requests >= 2);
}

static void test_env_key_file_is_the_default_of_client_and_participant(void)
{
    dtx_curve_keys_t server, client;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    char good[128], bad[128];
    s_keys_file("env.keys", server.public_key, &client, good, sizeof good);
    snprintf(bad, sizeof bad, "%s/env-missing.keys", s_dir);
    fake_coord_t fc;
    s_coord_start(&fc, server.secret_key, 200, 0);
    s_capture_start("env");

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
    s_capture_stop();
    s_coord_stop(&fc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(fc.zap_key, client.public_key);
}

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
    s_capture_start("set-curve");
    int err = 0;
    dtx_participant_t *p = dtx_participant_new("set-1", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char path[128];
    snprintf(path, sizeof path, "%s/set-missing.keys", s_dir);
    CU_ASSERT_EQUAL(dtx_participant_set_curve(p, path), DTX_ECONFIG);
    dtx_curve_keys_t keys;
    s_keys_file("set-open.keys", "=####=####=####=####=####=####=####=####", &keys, path,
                sizeof path);
    chmod(path, 0644);
    CU_ASSERT_EQUAL(dtx_participant_set_curve(p, path), DTX_ECONFIG);
    /* the previous choice (plain) stays */
    CU_ASSERT_EQUAL(dtx_participant_connect(p, "tcp://127.0.0.1:1"), 0);
    dtx_participant_destroy(&p);
    s_capture_stop();
    CU_ASSERT(s_log_count("mode 0644") >= 1);
}

static void test_participant_registers_over_curve(void)
{
    dtx_curve_keys_t server, peer;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    char path[128];
    s_keys_file("part.keys", server.public_key, &peer, path, sizeof path);
    fake_coord_t fc;
    s_coord_start(&fc, server.secret_key, 200, 0);
    s_capture_start("part-curve");
    dtx_participant_t *p = s_participant("curve-1", path);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, fc.endpoint), 0);
    for (int i = 0; i < 50 && dtx_participant_registered(p) == 0; i++)
        dtx_participant_poll(p, 50);
    int registered = dtx_participant_registered(p);
    dtx_participant_destroy(&p);
    s_capture_stop();
    s_coord_stop(&fc);
    CU_ASSERT_EQUAL(registered, 1);
    CU_ASSERT_STRING_EQUAL(fc.zap_key, peer.public_key);
    CU_ASSERT_EQUAL(dtx_lineage_parse(fc.rid, fc.rid_len, NULL), 1);
    CU_ASSERT_EQUAL(s_log_count("curve=on"), 2); /* coordinator added, connected */
}

static void test_participant_logs_refused_keys_once_and_keeps_trying(void)
{
    dtx_curve_keys_t server, peer;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    char path[128];
    s_keys_file("refused.keys", server.public_key, &peer, path, sizeof path);
    fake_coord_t fc;
    s_coord_start(&fc, server.secret_key, 400, 0);
    s_capture_start("part-refused-keys");
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
    s_capture_stop();
    s_coord_stop(&fc);
    CU_ASSERT_EQUAL(refused_registered, 0);
    CU_ASSERT_EQUAL(registered, 1);
    /* Refused about every 3 intervals (300 ms) in the first second... */
    CU_ASSERT(fc.zap_requests >= 2 && fc.zap_requests <= 8);
    /* ...and logged once. */
    CU_ASSERT_EQUAL(s_log_count("refused this participant's CURVE keys"), 1);
    CU_ASSERT_EQUAL(s_log_count("zap_status=400"), 1);
    CU_ASSERT_EQUAL(s_log_count("disconnected from coordinator"), 0);
}

static void test_participant_with_wrong_server_key_logs_a_hint_once(void)
{
    dtx_curve_keys_t server, impostor, peer;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&impostor), 0);
    char path[128];
    s_keys_file("part-wrong.keys", impostor.public_key, &peer, path, sizeof path);
    fake_coord_t fc;
    s_coord_start(&fc, server.secret_key, 200, 0);
    s_capture_start("part-wrong");
    dtx_participant_t *p = s_participant("wrong-1", path);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, fc.endpoint), 0);
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 1200), 0);
    int registered = dtx_participant_registered(p);
    dtx_participant_destroy(&p);
    s_capture_stop();
    s_coord_stop(&fc);
    CU_ASSERT_EQUAL(registered, 0);
    CU_ASSERT_EQUAL(fc.frames, 0);
    CU_ASSERT_EQUAL(fc.zap_requests, 0); /* the server could not even read HELLO */
    CU_ASSERT_EQUAL(s_log_count("dropped during handshake"), 1);
    CU_ASSERT_EQUAL(s_log_count("is server-key the coordinator's public key?"), 1);
}

static void test_participant_logs_handshake_failure_of_plain_against_curve(void)
{
    dtx_curve_keys_t server;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    fake_coord_t fc;
    s_coord_start(&fc, server.secret_key, 0, 0);
    s_capture_start("part-plain");
    dtx_participant_t *p = s_participant("plain-1", NULL);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, fc.endpoint), 0);
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 1000), 0);
    dtx_participant_destroy(&p);
    s_capture_stop();
    s_coord_stop(&fc);
    CU_ASSERT_EQUAL(fc.frames, 0);
    /* Which side notices the mismatch first varies: the participant sees
     * a protocol error, or the coordinator hangs up on it again and again.
     * Either way one line, pointing at CURVE. */
    CU_ASSERT_EQUAL(s_log_count("handshake with coordinator failed") +
                        s_log_count("dropped during handshake"), 1);
    CU_ASSERT_EQUAL(s_log_count("require"), 1); /* "requires CURVE" / "require CURVE?" */
}

static void test_participant_logs_refused_registration_once_per_round_without_spinning(void)
{
    fake_coord_t fc;
    s_coord_start(&fc, NULL, 0, 1);
    s_capture_start("part-refused-register");
    dtx_participant_t *p = s_participant("refused-2", NULL);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, fc.endpoint), 0);
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 1050), 0);
    int registered = dtx_participant_registered(p);
    dtx_participant_destroy(&p);
    s_capture_stop();
    s_coord_stop(&fc);
    CU_ASSERT_EQUAL(registered, 0);
    /* Heartbeat 100 ms: a round (2 REGISTERs) every 3 intervals, about 4
     * rounds in 1 s; heartbeats answered ERROR 16 do not add rounds. */
    int rounds = fc.registers / 2;
    CU_ASSERT(rounds >= 1 && rounds <= 5); /* no spin: ~10 would be one per heartbeat */
    int lines = s_log_count("coordinator refused registration");
    CU_ASSERT(lines >= 1 && lines <= rounds);
    /* The coordinator's text, made safe for one log line. */
    CU_ASSERT_EQUAL(s_log_count("reason=\"instance refused-2 not in ?allow? list?bye\""), lines);
    CU_ASSERT_EQUAL(s_log_count("code=20"), lines);
    CU_ASSERT_EQUAL(s_log_count("coordinator reported an error"), 0);
}

static int s_suite_init(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/dtx-sdk-curve-test-XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    unsetenv("DTX_CURVE_KEY_FILE");
    dtx_log_set_level(DTX_LOG_INFO);
    return 0;
}

static int s_suite_clean(void)
{
    s_capture_stop();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return getenv("DTX_TEST_KEEP") ? 0 : (system(cmd) == 0 ? 0 : -1);
}

UNIT_SUITE(sdk_curve)
{
    CU_pSuite s = CU_add_suite("sdk_curve", s_suite_init, s_suite_clean);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_client_new_curve_refuses_unusable_key_files);
    T(test_client_over_curve_reaches_the_router_with_its_lineage);
    T(test_client_with_wrong_server_key_or_plain_gets_nothing_through);
    T(test_client_refused_then_allowed_gets_through_without_being_remade);
    T(test_env_key_file_is_the_default_of_client_and_participant);
    T(test_participant_set_curve_refuses_unusable_files_and_keeps_its_choice);
    T(test_participant_registers_over_curve);
    T(test_participant_logs_refused_keys_once_and_keeps_trying);
    T(test_participant_with_wrong_server_key_logs_a_hint_once);
    T(test_participant_logs_handshake_failure_of_plain_against_curve);
    T(test_participant_logs_refused_registration_once_per_round_without_spinning);
#undef T
}
