/*
 * gw_jwks.h — a JWKS file the gateway watches (keys from gw_jwk.h).
 */
#ifndef DTX_GW_JWKS_H
#define DTX_GW_JWKS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/gw_jwk.h"

/* A JWKS file, re-read when it changes. The file is stat()ed at most once
 * per check_ms, by the first request past that time (the others keep
 * using the keys in hand: no lock is waited on, no stat made); when its
 * inode, size or mtime changed it is read again. A re-read that fails
 * keeps the previous keys (and counts in reload_errors). */
typedef struct dtx_gw_jwks {
    char                *path;
    int64_t              check_ms;
    pthread_mutex_t      lock;        /* guards keys, the file identity */
    dtx_gw_jwt_keyset_t *keys;
    dev_t                dev;
    ino_t                ino;
    off_t                size;
    int64_t              mtime_ns;
    atomic_llong         next_check_ms;
    atomic_int           checking;
    atomic_ullong        reloads, reload_errors;
} dtx_gw_jwks_t;

/* Loads path (it must load now). */
int dtx_gw_jwks_open(dtx_gw_jwks_t **out, const char *path, int64_t check_ms, char *err,
                     size_t errlen);
void dtx_gw_jwks_destroy(dtx_gw_jwks_t **self_p);
/* The keys in force (a reference: unref them), re-reading the file when
 * due and changed. now_ms: a monotonic clock. */
dtx_gw_jwt_keyset_t *dtx_gw_jwks_get(dtx_gw_jwks_t *self, int64_t now_ms);

#endif
