/*
 * test_msg_util.h — the world of the transactional-message suites
 * (test_msg.c: suite "msg", one world for the suite; test_msg_crash.c:
 * suite "msg_crash", a world per test): test_msg.c's opening comment says
 * what runs in it.
 */
#ifndef DTX_TEST_MSG_UTIL_H
#define DTX_TEST_MSG_UTIL_H

#include <stdint.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "dtx/dtx.h"
#include "dtx/tmsg.h"
#include "../harness/harness.h"

typedef struct {
    h_dtxd_t      dtxd;
    char          dsvc[H_CONNINFO_SIZE], dc1[H_CONNINFO_SIZE], dc2[H_CONNINFO_SIZE];
    PGconn       *log, *svc, *c1, *c2;
    pid_t         psvc, pvague, pc1, pc2, pslow, pslowcb;
    dtx_client_t *c;     /* the service's client */
    dtx_client_t *lost;  /* a client whose submits never arrive */
} tm_world_t;

extern tm_world_t tm_w;
extern const char *tm_args[];  /* dtxd's arguments when a world gives none */

/* The world of suite `name`: databases <name>_log, _svc, _c1, _c2; dtxd
 * with args (NULL: tm_args), the participants, the service's clients. */
int tm_world_args(const char *name, const char *const *args);
int tm_world_up(const char *name);
int tm_up(void);    /* suite msg's world */
int tm_down(void);  /* stops what tm_world_args started */

/* "order created" from checkback to d1 and d2 (d2 may be NULL). */
dtx_tmsg_t *tm_msg(const char *checkback, const char *d1, const char *d2);
/* The business change: one order row (arg: its id). */
int tm_insert_order(PGconn *conn, void *arg);
/* The same, then DTX_EREFUSED: the local transaction rolls back. */
int tm_refuse_order(PGconn *conn, void *arg);
int64_t tm_orders(const char *id);
int64_t tm_outbox(const char *gid, const char *origin);
/* Prepares m (timeout_ms), then BEGIN and the order id on svc: the local
 * transaction is left open. */
void tm_prepare_and_begin(dtx_tmsg_t *m, uint32_t timeout_ms, const char *id, char *gid);

#endif
