/*
 * tests/unit/sdk_curve_fixture.c — see sdk_curve_fixture.h.
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
#include "dtx/lineage.h"
#include "dtx/log.h"
#include "dtx/proto.h"
#include "sdk_curve_fixture.h"

char sc_dir[64];

/* ------------------------------------------------------------------ */
/* Fixtures: key files, captured stderr                                */
/* ------------------------------------------------------------------ */

/* Writes a fresh key pair to dir/name (server_key may be NULL). */
void sc_keys_file(const char *name, const char *server_key, dtx_curve_keys_t *keys,
                  char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", sc_dir, name);
    unlink(path);
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(keys), 0);
    if (server_key)
        snprintf(keys->server_key, sizeof keys->server_key, "%s", server_key);
    char err[512];
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_save(path, keys, err, sizeof err), 0);
}

static int s_saved_stderr = -1;
static char s_log_path[128];

void sc_capture_start(const char *name)
{
    snprintf(s_log_path, sizeof s_log_path, "%s/%s.log", sc_dir, name);
    int fd = open(s_log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    s_saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

void sc_capture_stop(void)
{
    if (s_saved_stderr >= 0) {
        dup2(s_saved_stderr, STDERR_FILENO);
        close(s_saved_stderr);
        s_saved_stderr = -1;
    }
}

/* Lines of the captured log holding needle. */
int sc_log_count(const char *needle)
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
void sc_coord_start(fake_coord_t *self, const char *secret_key, int zap_status,
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

void sc_coord_stop(fake_coord_t *self)
{
    atomic_store(&self->stop, 1);
    pthread_join(self->thread, NULL);
    zmq_close(self->router);
    if (self->zap)
        zmq_close(self->zap);
    zmq_ctx_term(self->ctx);
}

int sc_suite_init(void)
{
    snprintf(sc_dir, sizeof sc_dir, "/tmp/dtx-sdk-curve-test-XXXXXX");
    if (!mkdtemp(sc_dir))
        return -1;
    unsetenv("DTX_CURVE_KEY_FILE");
    dtx_log_set_level(DTX_LOG_INFO);
    return 0;
}

int sc_suite_clean(void)
{
    sc_capture_stop();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", sc_dir);
    return getenv("DTX_TEST_KEEP") ? 0 : (system(cmd) == 0 ? 0 : -1);
}
