/*
 * gw_cluster_redis.c — the Redis transport of the cluster engine
 * (gw_cluster.h) over hiredis's blocking API, used only by the sync
 * thread: connect with connect_timeout_ms, every reply bounded by
 * timeout_ms (SO_RCVTIMEO/SO_SNDTIMEO), AUTH when a password is set.
 *
 * Scripts run by EVALSHA with their SHA-1 computed here; a NOSCRIPT reply
 * (a restarted or flushed Redis) loads the script (SCRIPT LOAD) and runs
 * that call again, once. Debian 12's hiredis (0.14) has no TLS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "dtx/types.h"
#include "filters/gw_cluster.h"

typedef struct s_redis {
    char *addr;        /* host:port or socket path */
    char *username;
    char *password;
    int64_t connect_timeout_ms, timeout_ms;
    redisContext *c;
    char sha[DTX_GW_CLUSTER_NSCRIPTS][41];
} s_redis_t;

static struct timeval s_tv(int64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    return tv;
}

static void s_close(void *ctx)
{
    s_redis_t *r = ctx;
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
}

static void s_fail_text(s_redis_t *r, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what,
             r->c && r->c->errstr[0] ? r->c->errstr : "connection failed");
}

static int s_connect(void *ctx, char *err, size_t errlen)
{
    s_redis_t *r = ctx;
    s_close(r);
    struct timeval ctv = s_tv(r->connect_timeout_ms);
    const char *a = r->addr;
    if (strncmp(a, "unix:", 5) == 0)
        a += 5;
    if (a[0] == '/') {
        r->c = redisConnectUnixWithTimeout(a, ctv);
    } else {
        char host[256];
        const char *colon = strrchr(a, ':');
        size_t hl = (size_t)(colon - a);
        if (hl >= sizeof host)
            hl = sizeof host - 1;
        memcpy(host, a, hl);
        host[hl] = '\0';
        r->c = redisConnectWithTimeout(host, atoi(colon + 1), ctv);
    }
    if (!r->c || r->c->err) {
        s_fail_text(r, "connect", err, errlen);
        s_close(r);
        return DTX_EIO;
    }
    if (redisSetTimeout(r->c, s_tv(r->timeout_ms)) != REDIS_OK) {
        s_fail_text(r, "set timeout", err, errlen);
        s_close(r);
        return DTX_EIO;
    }
    if (r->password) {
        redisReply *rep = r->username
            ? redisCommand(r->c, "AUTH %s %s", r->username, r->password)
            : redisCommand(r->c, "AUTH %s", r->password);
        int ok = rep && rep->type != REDIS_REPLY_ERROR;
        if (!rep)
            s_fail_text(r, "auth", err, errlen);
        else if (!ok)
            snprintf(err, errlen, "auth refused: %.200s", rep->str ? rep->str : "");
        if (rep)
            freeReplyObject(rep);
        if (!ok) {
            s_close(r);
            return DTX_EIO;
        }
    }
    return 0;
}

/* Appends EVALSHA for call c. */
static int s_append(s_redis_t *r, const dtx_gw_cluster_call_t *c)
{
    char a[3][40];
    const char *argv[8];
    int n = 0;
    argv[n++] = "EVALSHA";
    argv[n++] = r->sha[c->script];
    argv[n++] = "1";
    argv[n++] = c->key;
    if (c->script == DTX_GW_CLUSTER_RATE) {
        snprintf(a[0], sizeof a[0], "%.0f", c->arg[0]);
        snprintf(a[1], sizeof a[1], "%.6f", c->arg[1]);
        snprintf(a[2], sizeof a[2], "%.6f", c->arg[2]);
        argv[n++] = a[0];
        argv[n++] = a[1];
        argv[n++] = a[2];
    } else if (c->script == DTX_GW_CLUSTER_CONC) {
        argv[n++] = c->instance;
        for (int i = 0; i < 3; i++) {
            snprintf(a[i], sizeof a[i], "%.0f", c->arg[i]);
            argv[n++] = a[i];
        }
    } else {
        argv[n++] = c->instance;
        snprintf(a[0], sizeof a[0], "%.0f", c->arg[0]);
        argv[n++] = a[0];
    }
    return redisAppendCommandArgv(r->c, n, argv, NULL);
}

static int s_load(s_redis_t *r, int script, char *err, size_t errlen)
{
    redisReply *rep = redisCommand(r->c, "SCRIPT LOAD %s", dtx_gw_cluster_script(script));
    if (!rep) {
        s_fail_text(r, "script load", err, errlen);
        return DTX_EIO;
    }
    int ok = rep->type == REDIS_REPLY_STRING && strcmp(rep->str, r->sha[script]) == 0;
    if (!ok)
        snprintf(err, errlen, "script load: unexpected answer");
    freeReplyObject(rep);
    return ok ? 0 : DTX_EIO;
}

static int s_exec(void *ctx, dtx_gw_cluster_call_t *calls, int n, char *err, size_t errlen)
{
    s_redis_t *r = ctx;
    if (!r->c) {
        snprintf(err, errlen, "not connected");
        return DTX_EIO;
    }
    for (int i = 0; i < n; i++)
        if (s_append(r, &calls[i]) != REDIS_OK) {
            s_fail_text(r, "send", err, errlen);
            return DTX_EIO;
        }
    int noscript[DTX_GW_CLUSTER_NSCRIPTS] = { 0 }, again = 0;
    for (int i = 0; i < n; i++) {
        redisReply *rep = NULL;
        if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep) {
            s_fail_text(r, "reply", err, errlen);
            return DTX_EIO;
        }
        calls[i].ok = rep->type == REDIS_REPLY_INTEGER;
        calls[i].result = calls[i].ok ? (int64_t)rep->integer : 0;
        if (rep->type == REDIS_REPLY_ERROR && rep->str && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
            noscript[calls[i].script] = 1;
            calls[i].ok = -1;   /* run again below */
            again = 1;
        }
        freeReplyObject(rep);
    }
    if (!again)
        return 0;
    for (int s = 0; s < DTX_GW_CLUSTER_NSCRIPTS; s++)
        if (noscript[s] && s_load(r, s, err, errlen) < 0)
            return DTX_EIO;
    for (int i = 0; i < n; i++) {
        if (calls[i].ok != -1)
            continue;
        redisReply *rep = NULL;
        if (s_append(r, &calls[i]) != REDIS_OK ||
            redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep) {
            s_fail_text(r, "reply", err, errlen);
            return DTX_EIO;
        }
        calls[i].ok = rep->type == REDIS_REPLY_INTEGER;
        calls[i].result = calls[i].ok ? (int64_t)rep->integer : 0;
        freeReplyObject(rep);
    }
    return 0;
}

static void s_destroy(void *ctx)
{
    s_redis_t *r = ctx;
    if (!r)
        return;
    s_close(r);
    free(r->addr);
    free(r->username);
    if (r->password) {
        memset(r->password, 0, strlen(r->password));
        free(r->password);
    }
    free(r);
}

static void s_sha1_hex(const char *text, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text, strlen(text), md, &len, EVP_sha1(), NULL);
    for (unsigned int i = 0; i < len && i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[40] = '\0';
}

int dtx_gw_cluster_redis_transport(const dtx_gw_cluster_cfg_t *cfg,
                                   dtx_gw_cluster_transport_t *out)
{
    s_redis_t *r = calloc(1, sizeof *r);
    if (!r)
        return DTX_ENOMEM;
    r->addr = strdup(cfg->redis);
    r->username = cfg->username ? strdup(cfg->username) : NULL;
    r->password = cfg->password ? strdup(cfg->password) : NULL;
    r->connect_timeout_ms = cfg->connect_timeout_ms;
    r->timeout_ms = cfg->timeout_ms;
    if (!r->addr || (cfg->username && !r->username) || (cfg->password && !r->password)) {
        s_destroy(r);
        return DTX_ENOMEM;
    }
    for (int s = 0; s < DTX_GW_CLUSTER_NSCRIPTS; s++)
        s_sha1_hex(dtx_gw_cluster_script(s), r->sha[s]);
    out->ctx = r;
    out->connect = s_connect;
    out->exec = s_exec;
    out->close = s_close;
    out->destroy = s_destroy;
    return 0;
}
