/*
 * tests/integration/util.h — helpers shared by the integration suites:
 * reading the coordinator's log and a test participant's tables, and a raw
 * ZeroMQ peer for wire-level tests.
 */
#ifndef DTX_TEST_UTIL_H
#define DTX_TEST_UTIL_H

#include <stdint.h>

#include <libpq-fe.h>

#include "dtx/proto.h"

/* Global state of gid in the log at conn (DTX_STATE_*), 0 when absent,
 * -1 on error. */
int u_log_state(PGconn *conn, const char *gid);
/* Waits until gid's state is `state`; 0 or -1 on timeout (prints it). */
int u_wait_state(PGconn *conn, const char *gid, int state, int timeout_ms);
/* Branch state of (gid, branch) in the log; 0 when absent. */
int u_branch_state(PGconn *conn, const char *gid, int branch);
/* Rows of a test participant's ledger (deliveries) / effects
 * (applications) for gid and op ("try", "confirm", "cancel"). */
int64_t u_deliveries(PGconn *pdb, const char *gid, const char *op);
int64_t u_effects(PGconn *pdb, const char *gid, const char *op);
/* Prepared transactions of conn's database (any name) / named after
 * (gid, branch) as dtx/pgres.h names them. */
int64_t u_prepared(PGconn *conn);
int64_t u_prepared_name(PGconn *conn, const char *gid, int branch);

/* A raw DEALER (or ROUTER) socket for speaking the wire protocol by hand. */
typedef struct u_peer {
    void *ctx;
    void *sock;
} u_peer_t;
/* A DEALER connected to endpoint; with CURVE when the run has it on
 * (DTX_CURVE_KEY_FILE), or with the keys of key_file (NULL: plain). */
int  u_peer_dealer(u_peer_t *p, const char *endpoint);
int  u_peer_dealer_keys(u_peer_t *p, const char *endpoint, const char *key_file);
/* Binds a ROUTER on tcp://127.0.0.1:* and writes the endpoint. */
int  u_peer_router(u_peer_t *p, char *endpoint, size_t cap);
void u_peer_close(u_peer_t *p);
/* Sends raw bytes as one frame (DEALER). */
int  u_send_raw(u_peer_t *p, const void *buf, size_t len, int more);
/* Encodes and sends msg; for a ROUTER, rid/rid_len address the peer. */
int  u_send(u_peer_t *p, const uint8_t *rid, size_t rid_len, dtx_msg_t *msg);
/* Receives one message within timeout_ms and decodes it into *msg; the
 * frame is copied into buf (cap bytes) so msg->payload stays valid. For a
 * ROUTER the routing id goes to rid and its length to rid_len. Returns 0, -1 on timeout or
 * a decode error. */
int  u_recv(u_peer_t *p, dtx_msg_t *msg, uint8_t *buf, size_t cap, uint8_t *rid, size_t *rid_len,
            int timeout_ms);

/* Sends msg (a DEALER's) with corr and waits for the reply with that corr
 * (others are skipped). Returns 0 with *out, whose payload points into a
 * buffer of u_call's (valid until the next call), or -1 on timeout. */
int u_call(u_peer_t *p, dtx_msg_t *msg, uint64_t corr, dtx_msg_t *out, int timeout_ms);
/* BEGIN (TCC, timeout_ms) through u_call; the gid into gid. 0 or -1. */
int u_begin(u_peer_t *p, uint64_t corr, int timeout_ms, char *gid);
/* A request naming gid (COMMIT, ROLLBACK, STATUS, RESUME); the reply. */
int u_gid_call(u_peer_t *p, int type, const char *gid, uint64_t corr, dtx_msg_t *out);
/* TRY of (res, action, payload) in gid; the reply. */
int u_try(u_peer_t *p, const char *gid, const char *res, const char *action,
          const void *payload, uint32_t len, uint64_t corr, dtx_msg_t *out);
/* REGISTER of instance for res; the reply. */
int u_register(u_peer_t *p, const char *instance, const char *res, uint64_t corr,
               dtx_msg_t *out);

#endif
