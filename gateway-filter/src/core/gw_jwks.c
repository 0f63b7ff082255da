/*
 * gw_jwks.c — a JWKS file re-read when it changes (gw_jwks.h).
 *
 * Invariant: the keys in force are replaced whole, under the lock, only
 * by a set that loaded; a request holds its own reference, so a re-read
 * never frees keys a verification is using.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dtx/types.h"
#include "core/gw_jwks.h"

static int s_read_file(const char *path, char **text, size_t *len, struct stat *st)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return DTX_EIO;
    if (fstat(fileno(f), st) < 0 || !S_ISREG(st->st_mode) || st->st_size > (1 << 20)) {
        fclose(f);
        return DTX_ETOOBIG;
    }
    char *buf = malloc((size_t)st->st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st->st_size, f) : 0;
    fclose(f);
    if (!buf)
        return DTX_ENOMEM;
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

static int64_t s_mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int s_jwks_load(const char *path, dtx_gw_jwt_keyset_t **ks, struct stat *st, char *err,
                       size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = s_read_file(path, &text, &len, st);
    if (rc < 0) {
        snprintf(err, errlen, "cannot read: %s", rc == DTX_EIO ? strerror(errno)
                                                  : "not a regular file, larger than 1 MiB or out of memory");
        return DTX_ECONFIG;
    }
    rc = dtx_gw_jwt_keyset_jwks(ks, text, len, err, errlen);
    free(text);
    return rc;
}

int dtx_gw_jwks_open(dtx_gw_jwks_t **out, const char *path, int64_t check_ms, char *err,
                     size_t errlen)
{
    *out = NULL;
    dtx_gw_jwks_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path))) {
        free(self);
        snprintf(err, errlen, "out of memory");
        return DTX_ENOMEM;
    }
    struct stat st;
    int rc = s_jwks_load(path, &self->keys, &st, err, errlen);
    if (rc < 0) {
        free(self->path);
        free(self);
        return rc;
    }
    pthread_mutex_init(&self->lock, NULL);
    self->check_ms = check_ms;
    self->dev = st.st_dev;
    self->ino = st.st_ino;
    self->size = st.st_size;
    self->mtime_ns = s_mtime_ns(&st);
    *out = self;
    return 0;
}

void dtx_gw_jwks_destroy(dtx_gw_jwks_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_jwks_t *self = *self_p;
    dtx_gw_jwt_keyset_unref(&self->keys);
    pthread_mutex_destroy(&self->lock);
    free(self->path);
    free(self);
    *self_p = NULL;
}

static void s_jwks_check(dtx_gw_jwks_t *self)
{
    struct stat st;
    if (stat(self->path, &st) < 0)
        return;   /* gone for now (being replaced): keep the keys */
    pthread_mutex_lock(&self->lock);
    int changed = st.st_dev != self->dev || st.st_ino != self->ino ||
                  st.st_size != self->size || s_mtime_ns(&st) != self->mtime_ns;
    pthread_mutex_unlock(&self->lock);
    if (!changed)
        return;
    dtx_gw_jwt_keyset_t *ks = NULL;
    char err[256];
    if (s_jwks_load(self->path, &ks, &st, err, sizeof err) < 0) {
        atomic_fetch_add(&self->reload_errors, 1);
        /* Do not retry the same broken file every interval. */
        pthread_mutex_lock(&self->lock);
        self->dev = st.st_dev;
        self->ino = st.st_ino;
        self->size = st.st_size;
        self->mtime_ns = s_mtime_ns(&st);
        pthread_mutex_unlock(&self->lock);
        return;
    }
    pthread_mutex_lock(&self->lock);
    dtx_gw_jwt_keyset_t *old = self->keys;
    self->keys = ks;
    self->dev = st.st_dev;
    self->ino = st.st_ino;
    self->size = st.st_size;
    self->mtime_ns = s_mtime_ns(&st);
    pthread_mutex_unlock(&self->lock);
    dtx_gw_jwt_keyset_unref(&old);
    atomic_fetch_add(&self->reloads, 1);
}

dtx_gw_jwt_keyset_t *dtx_gw_jwks_get(dtx_gw_jwks_t *self, int64_t now_ms)
{
    long long due = atomic_load_explicit(&self->next_check_ms, memory_order_relaxed);
    if (now_ms >= due && !atomic_exchange(&self->checking, 1)) {
        atomic_store(&self->next_check_ms, now_ms + self->check_ms);
        s_jwks_check(self);
        atomic_store(&self->checking, 0);
    }
    pthread_mutex_lock(&self->lock);
    dtx_gw_jwt_keyset_t *ks = self->keys;
    dtx_gw_jwt_keyset_ref(ks);
    pthread_mutex_unlock(&self->lock);
    return ks;
}
