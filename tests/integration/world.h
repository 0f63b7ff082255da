/*
 * tests/integration/world.h — a small world for the suites that drive
 * transactions through failures (test_saga.c, test_recovery.c): databases
 * <name>_log, <name>_a and <name>_b; dtxd on <name>_log; test participant
 * pa serving resource ra on <name>_a and pb serving rb on <name>_b; and a
 * libdtx client of that dtxd.
 */
#ifndef DTX_TEST_WORLD_H
#define DTX_TEST_WORLD_H

#include <sys/types.h>

#include <libpq-fe.h>

#include "dtx/dtx.h"
#include "../harness/harness.h"

typedef struct u_world {
    h_dtxd_t      dtxd;                                      /* logname <name>-dtxd */
    char          da[H_CONNINFO_SIZE], db[H_CONNINFO_SIZE];  /* <name>_a, <name>_b */
    PGconn       *log, *pa_db, *pb_db;                       /* connections to the three */
    pid_t         pa, pb;                                    /* 0 once a test stopped one */
    dtx_client_t *c;                                         /* timeout 10 s */
} u_world_t;

/* Starts w: dtxd with dtxd_args; pa with "--resource ra" and pa_args, pb
 * with "--resource rb" and pb_args (at most 12 each; more resources are
 * more "--resource" args). Returns 0, or -1 when a part did not start
 * (what was started is the harness's to kill). */
int u_world_up(u_world_t *w, const char *name, const char *const *dtxd_args,
               const char *const *pa_args, const char *const *pb_args);

/* Stops w; returns 0 when every process stopped cleanly (dtxd exit 0). */
int u_world_stop(u_world_t *w);

#endif
