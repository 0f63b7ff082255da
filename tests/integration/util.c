/* tests/integration/util.c — see util.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "../harness/harness.h"
#include "dtx/curve.h"
#include "util.h"

int u_log_state(PGconn *conn, const char *gid)
{
    int64_t v = h_db_scalar(conn, "SELECT coalesce((SELECT state FROM dtx_global WHERE gid = '%s'), 0)",
                            gid);
    return v == H_DB_ERROR ? -1 : (int)v;
}

int u_wait_state(PGconn *conn, const char *gid, int state, int timeout_ms)
{
    int64_t until = h_now_ms() + timeout_ms;
    int last = -1;
    do {
        last = u_log_state(conn, gid);
        if (last == state)
            return 0;
        h_sleep_ms(20);
    } while (h_now_ms() < until);
    fprintf(stderr, "u_wait_state: gid %s is %s after %d ms, expected %s\n", gid,
            dtx_state_name(last), timeout_ms, dtx_state_name(state));
    return -1;
}

int u_branch_state(PGconn *conn, const char *gid, int branch)
{
    int64_t v = h_db_scalar(conn,
        "SELECT coalesce((SELECT state FROM dtx_branch_now WHERE gid = '%s' AND branch_no = %d), 0)",
        gid, branch);
    return v == H_DB_ERROR ? -1 : (int)v;
}

int64_t u_deliveries(PGconn *pdb, const char *gid, const char *op)
{
    return h_db_scalar(pdb, "SELECT count(*) FROM ledger WHERE gid = '%s' AND op = '%s'", gid, op);
}

int64_t u_effects(PGconn *pdb, const char *gid, const char *op)
{
    return h_db_scalar(pdb, "SELECT count(*) FROM effects WHERE gid = '%s' AND op = '%s'", gid, op);
}

int64_t u_prepared(PGconn *conn)
{
    return h_db_scalar(conn, "SELECT count(*) FROM pg_prepared_xacts "
                             "WHERE database = current_database()");
}

int64_t u_prepared_name(PGconn *conn, const char *gid, int branch)
{
    return h_db_scalar(conn, "SELECT count(*) FROM pg_prepared_xacts "
                             "WHERE gid = 'dtx:%s:%d'", gid, branch);
}

static int s_open(u_peer_t *p, int type)
{
    memset(p, 0, sizeof *p);
    p->ctx = zmq_ctx_new();
    p->sock = p->ctx ? zmq_socket(p->ctx, type) : NULL;
    if (!p->sock)
        return -1;
    int zero = 0, sndtimeo = 5000; /* a send with no connection fails, never hangs a test */
    zmq_setsockopt(p->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(p->sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
    return 0;
}

int u_peer_dealer_keys(u_peer_t *p, const char *endpoint, const char *key_file)
{
    if (s_open(p, ZMQ_DEALER) != 0)
        return -1;
    if (key_file && key_file[0]) {
        dtx_curve_keys_t k;
        char err[256];
        if (dtx_curve_keys_load(key_file, &k, err, sizeof err) != 0) {
            fprintf(stderr, "util: %s\n", err);
            return -1;
        }
        if (dtx_curve_apply_client(p->sock, &k) != 0)
            return -1;
    }
    return zmq_connect(p->sock, endpoint) == 0 ? 0 : -1;
}

int u_peer_dealer(u_peer_t *p, const char *endpoint)
{
    return u_peer_dealer_keys(p, endpoint, getenv("DTX_CURVE_KEY_FILE"));
}

int u_peer_router(u_peer_t *p, char *endpoint, size_t cap)
{
    if (s_open(p, ZMQ_ROUTER) != 0)
        return -1;
    if (h_curve_on()) {
        /* A stand-in coordinator: the run's server key, so that peers
         * configured for the real one (DTX_CURVE_KEY_FILE) connect. No ZAP
         * handler in this context: any client key gets in. */
        dtx_curve_keys_t k;
        char err[256];
        int on = 1;
        if (dtx_curve_keys_load(h_curve_server_file(), &k, err, sizeof err) != 0) {
            fprintf(stderr, "util: %s\n", err);
            return -1;
        }
        if (zmq_setsockopt(p->sock, ZMQ_CURVE_SERVER, &on, sizeof on) != 0 ||
            zmq_setsockopt(p->sock, ZMQ_CURVE_SECRETKEY, k.secret_key, DTX_CURVE_KEY_LEN) != 0)
            return -1;
    }
    if (zmq_bind(p->sock, "tcp://127.0.0.1:*") != 0)
        return -1;
    size_t len = cap;
    return zmq_getsockopt(p->sock, ZMQ_LAST_ENDPOINT, endpoint, &len) == 0 ? 0 : -1;
}

void u_peer_close(u_peer_t *p)
{
    if (p->sock)
        zmq_close(p->sock);
    if (p->ctx)
        zmq_ctx_term(p->ctx);
    memset(p, 0, sizeof *p);
}

int u_send_raw(u_peer_t *p, const void *buf, size_t len, int more)
{
    return zmq_send(p->sock, buf, len, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

int u_send(u_peer_t *p, const uint8_t *rid, size_t rid_len, dtx_msg_t *msg)
{
    static uint8_t buf[DTX_MSG_MAX];
    size_t len = 0;
    if (dtx_msg_encode(msg, buf, sizeof buf, &len) != 0)
        return -1;
    if (rid && zmq_send(p->sock, rid, rid_len, ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_send(p->sock, buf, len, 0) < 0 ? -1 : 0;
}

int u_recv(u_peer_t *p, dtx_msg_t *msg, uint8_t *buf, size_t cap, uint8_t *rid, size_t *rid_len,
           int timeout_ms)
{
    zmq_pollitem_t item = { p->sock, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return -1;
    int type = 0;
    size_t tl = sizeof type;
    zmq_getsockopt(p->sock, ZMQ_TYPE, &type, &tl);
    if (type == ZMQ_ROUTER) {
        int n = zmq_recv(p->sock, rid, 255, 0);
        if (n < 0)
            return -1;
        if (rid_len)
            *rid_len = (size_t)n;
    }
    int n = zmq_recv(p->sock, buf, cap, 0);
    if (n < 0 || (size_t)n > cap)
        return -1;
    char err[160];
    if (dtx_msg_decode(msg, buf, (size_t)n, err, sizeof err) != 0) {
        fprintf(stderr, "u_recv: %s\n", err);
        return -1;
    }
    return 0;
}

/* The frame of u_call's last reply (its payload points here). */
static uint8_t s_reply[DTX_MSG_MAX + 64];

int u_call(u_peer_t *p, dtx_msg_t *msg, uint64_t corr, dtx_msg_t *out, int timeout_ms)
{
    msg->corr = corr;
    if (u_send(p, NULL, 0, msg) != 0)
        return -1;
    int64_t until = h_now_ms() + timeout_ms;
    while (h_now_ms() < until) {
        if (u_recv(p, out, s_reply, sizeof s_reply, NULL, NULL, (int)(until - h_now_ms())) != 0)
            return -1;
        if (out->corr == corr)
            return 0;
    }
    return -1;
}

int u_begin(u_peer_t *p, uint64_t corr, int timeout_ms, char *gid)
{
    dtx_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;
    m.mode = DTX_MODE_TCC;
    m.timeout_ms = (uint32_t)timeout_ms;
    if (u_call(p, &m, corr, &r, 5000) != 0 || r.type != DTX_MSG_BEGIN_OK)
        return -1;
    strcpy(gid, r.gid);
    return 0;
}

int u_gid_call(u_peer_t *p, int type, const char *gid, uint64_t corr, dtx_msg_t *out)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = (uint8_t)type;
    strcpy(m.gid, gid);
    return u_call(p, &m, corr, out, 10000);
}

int u_try(u_peer_t *p, const char *gid, const char *res, const char *action,
            const void *payload, uint32_t len, uint64_t corr, dtx_msg_t *out)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_TRY;
    strcpy(m.gid, gid);
    strcpy(m.resource, res);
    strcpy(m.action, action);
    m.payload = payload;
    m.payload_len = len;
    return u_call(p, &m, corr, out, 10000);
}

int u_register(u_peer_t *p, const char *instance, const char *res, uint64_t corr,
               dtx_msg_t *out)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_REGISTER;
    strcpy(m.instance, instance);
    strcpy(m.resource, res);
    return u_call(p, &m, corr, out, 5000);
}
