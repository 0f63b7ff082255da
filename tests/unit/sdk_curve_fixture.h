/*
 * tests/unit/sdk_curve_fixture.h — what the SDK's CurveZMQ suites
 * (test_sdk_curve.c: the client; test_sdk_curve_participant.c: the
 * participant) share: a scratch directory, key files, the SDK's stderr
 * captured into a file, and a fake coordinator — a ROUTER of this process
 * on 127.0.0.1 with CURVE server options and an optional ZAP handler, run
 * in a thread.
 */
#ifndef DTX_TEST_SDK_CURVE_FIXTURE_H
#define DTX_TEST_SDK_CURVE_FIXTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dtx/curve.h"

#define SHORT_MS 300   /* how long a test waits for what must not happen */

extern char sc_dir[64];   /* the scratch directory (sc_suite_init makes it) */

/* Suite setup / cleanup: the scratch directory (kept with DTX_TEST_KEEP),
 * no DTX_CURVE_KEY_FILE, log level info. 0 or -1. */
int sc_suite_init(void);
int sc_suite_clean(void);

/* Writes a fresh key pair to sc_dir/name (server_key may be NULL); its
 * path into path. */
void sc_keys_file(const char *name, const char *server_key, dtx_curve_keys_t *keys,
                  char *path, size_t cap);

/* Captures stderr into sc_dir/name.log until sc_capture_stop. */
void sc_capture_start(const char *name);
void sc_capture_stop(void);
/* Lines of the captured log holding needle. */
int sc_log_count(const char *needle);

typedef struct fake_coord {
    void       *ctx;
    void       *router;          /* CURVE server (or plain when no secret) */
    void       *zap;             /* REP at inproc://zeromq.zap.01, or NULL */
    atomic_int  zap_status;      /* 200 admits, 400 refuses; the test may change it */
    int         refuse_register; /* answer REGISTER with ERROR 20 */
    char        endpoint[128];
    atomic_int  stop;
    pthread_t   thread;
    /* results, read after sc_coord_stop */
    int         frames;          /* dtx frames received */
    int         registers;       /* REGISTERs among them */
    int         zap_requests;
    uint8_t     rid[256];        /* routing id of the last frame */
    size_t      rid_len;
    char        zap_key[DTX_CURVE_KEY_LEN + 1]; /* client key of the last ZAP request */
} fake_coord_t;

/* Starts a fake coordinator: CURVE server with secret_key (NULL: plain),
 * a ZAP handler answering zap_status (0: no handler), answering REGISTER
 * with ERROR 20 when refuse_register. */
void sc_coord_start(fake_coord_t *self, const char *secret_key, int zap_status,
                    int refuse_register);
/* Stops it; its results may be read then. */
void sc_coord_stop(fake_coord_t *self);

#endif
